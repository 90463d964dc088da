//! Chat membership (seed 004 §7): list, add and remove members, roles,
//! nicknames, leave. Each change is one transaction that appends
//! `member_joined` / `member_left` / `member_updated` to the chat's log;
//! after commit the event goes to the chat's topic, and a new member's copy
//! also to that user's topic, so that every replica's subscriptions follow
//! at once (ARCHITECTURE §3).

use diesel_async::AsyncPgConnection;
use serde::Deserialize;

use crate::domain::blocks;
use crate::domain::caller::AuthContext;
use crate::domain::chats::{require_member, require_member_locked};
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::events::LoggedEvent;
use crate::domain::events::{DomainEvent, LeaveReason, MemberSnapshot};
use crate::domain::live;
use crate::domain::models::chat::{MemberChanges, NewChatMember};
use crate::domain::models::{Chat, ChatMember, ChatType, MemberRole, event};
use crate::domain::permissions::{self, Action};
use crate::domain::presence::visible_presence;
use crate::domain::users;
use crate::domain::validate;
use crate::domain::views::CounterpartPresence;

/// `{ "user_id": 123, "role": "admin" }` for `POST /chats/{id}/members`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AddMemberRequest {
    pub user_id: i64,
    /// The new member's role: `member` when absent. Any other takes the
    /// right to change roles (the owner); `owner` is refused (a chat is
    /// handed over with the role endpoint). Seed 003 §1.3 adds with a role.
    #[serde(default)]
    pub role: Option<MemberRole>,
}

/// `{ "role": "admin" }` for `PATCH /chats/{id}/members/{user_id}/role`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RoleRequest {
    pub role: MemberRole,
}

/// `{ "nickname": "..." }` for `PATCH /chats/{id}/members/me`; `null` or
/// `""` clears it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NicknameRequest {
    pub nickname: Option<String>,
}

/// Errors: 403 `private_chat` for a private chat (it has no member
/// management and no chat profile).
pub(crate) fn require_group(chat: &Chat) -> AppResult<()> {
    if chat.chat_type == ChatType::Private {
        return Err(AppError::forbidden(
            "private_chat",
            "A private chat has exactly its two members.",
        ));
    }
    Ok(())
}

fn member_not_found() -> AppError {
    AppError::not_found("member_not_found", "This user is not a member.")
}

/// Errors: 403 `not_chat_admin` when the member's role may not do `action`
/// ([`permissions`]).
pub(crate) fn require_allowed(chat: &Chat, member: &ChatMember, action: Action) -> AppResult<()> {
    if !permissions::allows(chat.chat_type, member.role, action) {
        return Err(AppError::forbidden(
            "not_chat_admin",
            "Only the chat's owner and admins can do this.",
        ));
    }
    Ok(())
}

pub(crate) async fn member_snapshot(
    conn: &mut AsyncPgConnection,
    chat_id: i64,
    user_id: i64,
) -> AppResult<MemberSnapshot> {
    let (member, name, username) = ChatMember::with_user(conn, chat_id, user_id).await?;
    Ok(member.snapshot(name, username))
}

async fn append_left(
    conn: &mut AsyncPgConnection,
    chat_id: i64,
    user_id: i64,
    reason: LeaveReason,
) -> AppResult<LoggedEvent> {
    Ok(event::record(conn, chat_id, |_| DomainEvent::MemberLeft {
        user_id,
        reason,
    })
    .await?)
}

/// Makes `user_id` a member of `chat_id` with `role` and logs `member_joined`
/// (its seq is where their history starts). Runs in the caller's
/// transaction, after the chat's row is locked; publish the event to the
/// chat and the new member after commit.
pub(crate) async fn insert_member(
    conn: &mut AsyncPgConnection,
    chat_id: i64,
    user_id: i64,
    role: MemberRole,
) -> AppResult<(MemberSnapshot, LoggedEvent)> {
    ChatMember::insert_all(
        conn,
        &[NewChatMember {
            chat_id,
            user_id,
            role,
        }],
    )
    .await?;
    let member = member_snapshot(conn, chat_id, user_id).await?;
    let joined = member.clone();
    let event = event::record(conn, chat_id, |_| DomainEvent::MemberJoined { member }).await?;
    ChatMember::set_joined_seq(conn, chat_id, user_id, event.seq).await?;
    Ok((joined, event))
}

/// `POST /chats/{id}/members`: an owner or admin adds a user to a group or
/// channel, as a plain member or (the owner only) with another role, in
/// one transaction: a refused role adds nobody.
///
/// Errors: 422 `role` (`owner`); 404 `chat_not_found` / `user_not_found`;
/// 403 `not_a_member`, `not_chat_admin` (may not add, or may not give that
/// role), `private_chat`, `blocked` (a block between the two,
/// [`crate::domain::blocks`]), `group_invites_restricted` (the user's
/// `privacy_group_invites`); 409 `already_member`.
pub async fn add_member(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    req: &AddMemberRequest,
) -> AppResult<MemberSnapshot> {
    let role = req.role.unwrap_or(MemberRole::Member);
    if role == MemberRole::Owner {
        return Err(AppError::validation(
            "role",
            "A member cannot be added as owner: add them, then hand the chat over.",
        ));
    }
    let mut conn = ctx.db.get().await?;
    let (member, event) = crate::transaction!(conn, async |conn| {
        let (chat, me) = require_member_locked(conn, chat_id, auth.user_id).await?;
        require_group(&chat)?;
        require_allowed(&chat, &me, Action::AddMember)?;
        if role != MemberRole::Member {
            require_allowed(&chat, &me, Action::ChangeRole)?;
        }
        users::find_user(conn, req.user_id).await?;
        if blocks::between(conn, me.user_id, req.user_id).await? {
            return Err(blocks::blocked());
        }
        let refusing = users::refusing_group_invites(conn, me.user_id, &[req.user_id]).await?;
        if !refusing.is_empty() {
            return Err(users::group_invites_refused(req.user_id));
        }
        if ChatMember::find(conn, chat_id, req.user_id)
            .await?
            .is_some()
        {
            return Err(AppError::conflict(
                "already_member",
                "This user is already a member.",
            ));
        }
        insert_member(conn, chat_id, req.user_id, role).await
    })?;
    live::publish_to_new_members(&ctx.bus, event, &[req.user_id], true).await;
    tracing::info!(
        chat.id = chat_id,
        user.id = req.user_id,
        by = auth.user_id,
        "member added"
    );
    Ok(member)
}

/// `DELETE /chats/{id}/members/{user_id}`: an owner removes anyone but
/// themself; an admin removes plain members.
///
/// Errors: 404 `chat_not_found` / `member_not_found`; 403 `not_a_member`,
/// `not_chat_admin`, `private_chat`, `cannot_remove`.
pub async fn remove_member(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    user_id: i64,
) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    let event = crate::transaction!(conn, async |conn| {
        let (chat, me) = require_member_locked(conn, chat_id, auth.user_id).await?;
        require_group(&chat)?;
        require_allowed(&chat, &me, Action::RemoveMember)?;
        let target = ChatMember::find(conn, chat_id, user_id)
            .await?
            .ok_or_else(member_not_found)?;
        if !permissions::can_act_on(chat.chat_type, me.role, Action::RemoveMember, target.role) {
            return Err(AppError::forbidden(
                "cannot_remove",
                "You cannot remove this member (leave the chat to remove yourself).",
            ));
        }
        if !ChatMember::delete(conn, chat_id, user_id).await? {
            return Err(member_not_found());
        }
        append_left(conn, chat_id, user_id, LeaveReason::Removed).await
    })?;
    live::publish_logged(&ctx.bus, vec![event]).await;
    tracing::info!(
        chat.id = chat_id,
        user.id = user_id,
        by = auth.user_id,
        "member removed"
    );
    Ok(())
}

/// `POST /chats/{id}/leave`: the caller leaves a group or channel. An owner
/// who leaves hands the chat to the longest-standing admin (or member).
///
/// Errors: 404 `chat_not_found`; 403 `not_a_member`, `private_chat`.
pub async fn leave_chat(ctx: &AppContext, auth: &AuthContext, chat_id: i64) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    let events = crate::transaction!(conn, async |conn| {
        let (chat, me) = require_member_locked(conn, chat_id, auth.user_id).await?;
        require_group(&chat)?;
        if !ChatMember::delete(conn, chat_id, me.user_id).await? {
            return Err(AppError::not_a_member());
        }
        let mut events = vec![append_left(conn, chat_id, me.user_id, LeaveReason::Left).await?];
        if me.role == MemberRole::Owner
            && let Some(heir) = ChatMember::successor(conn, chat_id, me.user_id).await?
        {
            ChatMember::set_role(conn, heir.id, MemberRole::Owner).await?;
            let member = member_snapshot(conn, chat_id, heir.user_id).await?;
            let updated =
                event::record(conn, chat_id, |_| DomainEvent::MemberUpdated { member }).await?;
            events.push(updated);
        }
        Ok(events)
    })?;
    live::publish_logged(&ctx.bus, events).await;
    tracing::info!(chat.id = chat_id, user.id = auth.user_id, "member left");
    Ok(())
}

/// `GET /chats/{id}/members`: the members with their names, in joining
/// order.
///
/// Errors: 404 `chat_not_found`; 403 `not_a_member`.
pub async fn list_members(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
) -> AppResult<Vec<MemberSnapshot>> {
    let mut conn = ctx.db.get().await?;
    require_member(&mut conn, chat_id, auth.user_id).await?;
    Ok(ChatMember::with_users(&mut conn, chat_id)
        .await?
        .into_iter()
        .map(|(m, name, username)| m.snapshot(name, username))
        .collect())
}

/// `PATCH /chats/{id}/members/{user_id}/role`: the owner changes a
/// member's role. Making someone `owner` hands the chat over: they become
/// the owner and the caller an admin (one owner per chat). Setting the role
/// a member already has changes nothing and logs nothing.
///
/// Errors: 404 `chat_not_found` / `member_not_found`; 403 `not_a_member`,
/// `private_chat`, `not_chat_admin` (not the owner), `cannot_change_role`
/// (the caller themself).
pub async fn set_role(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    user_id: i64,
    req: &RoleRequest,
) -> AppResult<MemberSnapshot> {
    let mut conn = ctx.db.get().await?;
    let (member, events) = crate::transaction!(conn, async |conn| {
        let (chat, me) = require_member_locked(conn, chat_id, auth.user_id).await?;
        require_group(&chat)?;
        require_allowed(&chat, &me, Action::ChangeRole)?;
        let target = ChatMember::find(conn, chat_id, user_id)
            .await?
            .ok_or_else(member_not_found)?;
        if !permissions::can_act_on(chat.chat_type, me.role, Action::ChangeRole, target.role) {
            return Err(AppError::forbidden(
                "cannot_change_role",
                "You cannot change this member's role.",
            ));
        }
        let mut events = Vec::new();
        if target.role != req.role {
            let mut changed = vec![(user_id, req.role)];
            if req.role == MemberRole::Owner {
                changed.push((me.user_id, MemberRole::Admin));
            }
            for (user_id, role) in changed {
                let changes = MemberChanges {
                    role: Some(role),
                    ..Default::default()
                };
                ChatMember::update(conn, chat_id, user_id, &changes).await?;
                let member = member_snapshot(conn, chat_id, user_id).await?;
                events.push(
                    event::record(conn, chat_id, |_| DomainEvent::MemberUpdated { member }).await?,
                );
            }
        }
        Ok((member_snapshot(conn, chat_id, user_id).await?, events))
    })?;
    live::publish_logged(&ctx.bus, events).await;
    Ok(member)
}

/// `PATCH /chats/{id}/members/me`: the caller's nickname in this chat,
/// shown instead of their name there (seed 003's `edited_name`); 1–64
/// characters, `null` or `""` clears it. Any member, any chat.
///
/// Errors: 422 `nickname`; 404 `chat_not_found`; 403 `not_a_member`.
pub async fn set_nickname(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    req: &NicknameRequest,
) -> AppResult<MemberSnapshot> {
    let nickname = match &req.nickname {
        Some(nickname) => validate::clearable("nickname", nickname, 64)?,
        None => None,
    };
    let mut conn = ctx.db.get().await?;
    let (member, event) = crate::transaction!(conn, async |conn| {
        let (_, me) = require_member_locked(conn, chat_id, auth.user_id).await?;
        if me.nickname == nickname {
            return Ok((member_snapshot(conn, chat_id, me.user_id).await?, None));
        }
        let changes = MemberChanges {
            nickname: Some(nickname.as_deref()),
            ..Default::default()
        };
        ChatMember::update(conn, chat_id, me.user_id, &changes).await?;
        let member = member_snapshot(conn, chat_id, me.user_id).await?;
        let updated = member.clone();
        let event = event::record(conn, chat_id, |_| DomainEvent::MemberUpdated { member }).await?;
        Ok((updated, Some(event)))
    })?;
    live::publish_logged(&ctx.bus, event.into_iter().collect()).await;
    Ok(member)
}

/// The presence of each member of `chat_id` as the caller may see it
/// (seed 004 §3.7: their `privacy_last_seen`, blocks either way), the
/// caller's own included; `None` for a member whose presence is hidden from
/// the caller. In the chat's member order.
///
/// Errors: 404 `chat_not_found`; 403 `not_a_member`.
pub async fn members_presence(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
) -> AppResult<Vec<(i64, Option<CounterpartPresence>)>> {
    let mut conn = ctx.db.get().await?;
    require_member(&mut conn, chat_id, auth.user_id).await?;
    let members: Vec<i64> = ChatMember::with_users(&mut conn, chat_id)
        .await?
        .into_iter()
        .map(|(m, _, _)| m.user_id)
        .collect();
    let view = visible_presence(ctx, &mut conn, auth.user_id, &members).await?;
    let me = CounterpartPresence {
        is_online: view.viewer_online,
        last_seen_at: None,
    };
    Ok(members
        .into_iter()
        .map(|id| {
            let presence = if id == auth.user_id {
                Some(me)
            } else {
                view.visible.get(&id).copied()
            };
            (id, presence)
        })
        .collect())
}
