//! Invite links of groups and channels (seed 004 §7, §13). An owner or
//! admin makes a link (optionally expiring, optionally limited to a number
//! of uses); anyone holding it joins the chat as a member, public or not.
//! The token is random, shown once, and stored hashed; owners and admins
//! list the links and revoke them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Deserialize;

use crate::domain::caller::AuthContext;
use crate::domain::chats::{or_chat_not_found, read_chat, require_member};
use crate::domain::context::AppContext;
use crate::domain::emails::{hash_token, random_token};
use crate::domain::error::{AppError, AppResult};
use crate::domain::live;
use crate::domain::members::{insert_member, require_allowed, require_group};
use crate::domain::models::{Chat, ChatMember, MemberRole};
use crate::domain::permissions::Action;
use crate::domain::views::ChatView;
use crate::infra::schema::invite_links;

/// Options of `POST /chats/{id}/invite-link` (query string): how long the
/// link works, in seconds, and how many joins it allows; both unlimited
/// when absent.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InviteOptions {
    pub expires_in: Option<i64>,
    pub usage_limit: Option<i64>,
}

/// `{ "token": "..." }` for `POST /chats/join-by-invite`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct JoinByInviteRequest {
    pub token: String,
}

/// A new link: its token (shown once) and where it leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvite {
    pub chat_id: i64,
    pub link: InviteLink,
    pub token: String,
    /// `{PUBLIC_URL}/join?token=...`.
    pub invite_url: String,
}

/// A row of `invite_links`, without its token.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = invite_links, check_for_backend(diesel::pg::Pg))]
pub struct InviteLink {
    pub id: i64,
    pub chat_id: i64,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub usage_limit: Option<i64>,
    pub used_count: i64,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Errors: 404 `chat_not_found`; 403 `not_a_member`, `private_chat`,
/// `not_chat_admin`.
async fn require_inviter(
    conn: &mut diesel_async::AsyncPgConnection,
    chat_id: i64,
    user_id: i64,
) -> AppResult<Chat> {
    let (chat, me) = require_member(conn, chat_id, user_id).await?;
    require_group(&chat)?;
    require_allowed(&chat, &me, Action::AddMember)?;
    Ok(chat)
}

/// `POST /chats/{id}/invite-link?expires_in=&usage_limit=`: a new link to
/// the group or channel, made by an owner or admin.
///
/// Errors: 422 `expires_in` (1 s to 1 year) / `usage_limit` (1 to
/// 1,000,000); 404 `chat_not_found`; 403 `not_a_member`, `private_chat`,
/// `not_chat_admin`.
pub async fn create_link(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    options: &InviteOptions,
) -> AppResult<NewInvite> {
    if options
        .expires_in
        .is_some_and(|s| !(1..=365 * 24 * 3600).contains(&s))
    {
        return Err(AppError::validation(
            "expires_in",
            "expires_in must be 1 second to 1 year.",
        ));
    }
    if options
        .usage_limit
        .is_some_and(|n| !(1..=1_000_000).contains(&n))
    {
        return Err(AppError::validation(
            "usage_limit",
            "usage_limit must be 1 to 1000000.",
        ));
    }
    let mut conn = ctx.db.get().await?;
    require_inviter(&mut conn, chat_id, auth.user_id).await?;
    let token = random_token(32);
    let expires_at = options
        .expires_in
        .map(|s| Utc::now() + chrono::Duration::seconds(s));
    let link: InviteLink = diesel::insert_into(invite_links::table)
        .values((
            invite_links::chat_id.eq(chat_id),
            invite_links::token_hash.eq(hash_token(&token)),
            invite_links::created_by.eq(auth.user_id),
            invite_links::expires_at.eq(expires_at),
            invite_links::usage_limit.eq(options.usage_limit),
        ))
        .returning(InviteLink::as_returning())
        .get_result(&mut conn)
        .await?;
    let invite_url = format!(
        "{}/join?token={token}",
        ctx.settings.http.public_url.trim_end_matches('/')
    );
    Ok(NewInvite {
        chat_id,
        link,
        token,
        invite_url,
    })
}

/// `GET /chats/{id}/invite-links`: the chat's links, newest first, for its
/// owners and admins.
///
/// Errors: as [`create_link`].
pub async fn list_links(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
) -> AppResult<Vec<InviteLink>> {
    let mut conn = ctx.db.get().await?;
    require_inviter(&mut conn, chat_id, auth.user_id).await?;
    Ok(invite_links::table
        .filter(invite_links::chat_id.eq(chat_id))
        .order(invite_links::id.desc())
        .select(InviteLink::as_select())
        .load(&mut conn)
        .await?)
}

/// `DELETE /chats/{id}/invite-links/{link_id}`: revokes a link (again:
/// nothing changes).
///
/// Errors: 404 `invite_not_found` (not a link of this chat); otherwise as
/// [`create_link`].
pub async fn revoke_link(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    link_id: i64,
) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    require_inviter(&mut conn, chat_id, auth.user_id).await?;
    let found: Option<i64> = invite_links::table
        .filter(invite_links::id.eq(link_id))
        .filter(invite_links::chat_id.eq(chat_id))
        .select(invite_links::id)
        .first(&mut conn)
        .await
        .optional()?;
    if found.is_none() {
        return Err(not_found());
    }
    diesel::update(
        invite_links::table
            .find(link_id)
            .filter(invite_links::revoked_at.is_null()),
    )
    .set(invite_links::revoked_at.eq(diesel::dsl::now))
    .execute(&mut conn)
    .await?;
    Ok(())
}

fn not_found() -> AppError {
    AppError::not_found(
        "invite_not_found",
        "This invite link does not exist or was revoked.",
    )
}

/// `POST /chats/join-by-invite {token}`: joins the link's chat as a member
/// and counts one use; the members and the joiner's sockets hear
/// `member_joined`. A member who follows the link again changes nothing
/// and uses nothing.
///
/// Errors: 404 `invite_not_found` (unknown or revoked), `invite_expired`,
/// `invite_used_up`.
pub async fn join_by_invite(
    ctx: &AppContext,
    auth: &AuthContext,
    req: &JoinByInviteRequest,
) -> AppResult<ChatView> {
    let hash = hash_token(req.token.trim());
    let mut conn = ctx.db.get().await?;
    let (chat_id, event) = crate::transaction!(conn, async |conn| {
        let link: InviteLink = invite_links::table
            .filter(invite_links::token_hash.eq(&hash))
            .filter(invite_links::revoked_at.is_null())
            .select(InviteLink::as_select())
            .first(conn)
            .await
            .optional()?
            .ok_or_else(not_found)?;
        // The chat first: the lock order of every write.
        Chat::lock(conn, link.chat_id)
            .await
            .map_err(or_chat_not_found)?;
        if ChatMember::find(conn, link.chat_id, auth.user_id)
            .await?
            .is_some()
        {
            return Ok((link.chat_id, None));
        }
        if link.expires_at.is_some_and(|at| at <= Utc::now()) {
            return Err(AppError::not_found(
                "invite_expired",
                "This invite link has expired.",
            ));
        }
        let used = diesel::update(
            invite_links::table.find(link.id).filter(
                invite_links::usage_limit
                    .is_null()
                    .or(invite_links::used_count.lt(invite_links::usage_limit.assume_not_null())),
            ),
        )
        .set(invite_links::used_count.eq(invite_links::used_count + 1))
        .execute(conn)
        .await?;
        if used == 0 {
            return Err(AppError::not_found(
                "invite_used_up",
                "This invite link has been used as many times as it allows.",
            ));
        }
        let (_, event) =
            insert_member(conn, link.chat_id, auth.user_id, MemberRole::Member).await?;
        Ok((link.chat_id, Some(event)))
    })?;
    if let Some(event) = event {
        live::publish_to_new_members(&ctx.bus, event, &[auth.user_id], true).await;
        tracing::info!(
            chat.id = chat_id,
            user.id = auth.user_id,
            "joined by invite"
        );
    }
    read_chat(ctx, &mut conn, auth.user_id, chat_id).await
}
