//! Users (seed 004 §6, the parts presence needs): the profile with its
//! privacy settings, and contacts. Last-seen privacy (seed 004 §3.7):
//! `everyone`, `contacts` (only users in the target's contact list see it)
//! or `nobody`. Email privacy (`privacy_email`, same levels, default
//! `nobody`) works the same way: another user's `email` is `null` unless
//! its owner allows the viewer to see it (issue 6, item 6).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use crate::domain::caller::AuthContext;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::models::{ChatType, Privacy, User};
use crate::domain::search_tokens::{name_tokens, prefix_tsquery, query_tokens};
use crate::domain::validate;
use crate::infra::schema::{blocks, chat_members, chats, contacts, users};

/// `UserRead` (seed 004 §3.2) plus the privacy settings. Of another user
/// (`GET /users/{id}`), `email` and `avatar_url` are `null` where their
/// privacy hides them from the viewer, and `twofa_enabled` is `null`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct UserRead {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
    pub bio: Option<String>,
    pub email_verified: bool,
    pub allow_private_messages: bool,
    pub privacy_last_seen: Privacy,
    pub privacy_email: Privacy,
    pub privacy_avatar: Privacy,
    pub privacy_group_invites: Privacy,
    pub twofa_enabled: Option<bool>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `UserSearchRead` (seed 004 §3.2). `email` and `avatar_url` are `null`
/// where their owner's `privacy_email` / `privacy_avatar` hides them from
/// the viewer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct UserSearchRead {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
}

/// `UserProfileUpdate` (seed 004 §3.2) plus `privacy_last_seen`; every
/// field is optional.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ProfileUpdate {
    pub name: Option<String>,
    pub username: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    pub allow_private_messages: Option<bool>,
    pub privacy_last_seen: Option<Privacy>,
    pub privacy_email: Option<Privacy>,
    pub privacy_avatar: Option<Privacy>,
    pub privacy_group_invites: Option<Privacy>,
}

/// `{ "email": "..." }` for `POST /users/contacts/by-email`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct EmailRequest {
    pub email: String,
}

fn user_read(user: User, twofa_enabled: Option<bool>) -> UserRead {
    UserRead {
        id: user.id,
        name: user.name,
        username: user.username,
        email: Some(user.email),
        avatar_url: user.avatar_url,
        bio: user.bio,
        email_verified: user.email_verified,
        allow_private_messages: user.allow_private_messages,
        privacy_last_seen: user.privacy_last_seen,
        privacy_email: user.privacy_email,
        privacy_avatar: user.privacy_avatar,
        privacy_group_invites: user.privacy_group_invites,
        twofa_enabled,
        created_at: user.created_at,
        updated_at: user.updated_at,
    }
}

/// A user's `(email, avatar_url)` as `viewer_id` may see them:
/// `keep_viewer` holds the users who keep the viewer as a contact (for the
/// `contacts` setting). The user always sees their own.
fn visible_parts(
    viewer_id: i64,
    keep_viewer: &[i64],
    user: User,
) -> (Option<String>, Option<String>) {
    let own = user.id == viewer_id;
    let kept = keep_viewer.contains(&user.id);
    let email = (own || user.privacy_email.allows(kept)).then_some(user.email);
    let avatar = if own || user.privacy_avatar.allows(kept) {
        user.avatar_url
    } else {
        None
    };
    (email, avatar)
}

/// `GET /users/{id}`: a user's profile as the caller may see it (their own
/// in full).
///
/// Errors: 404 `user_not_found`.
pub async fn get_user(ctx: &AppContext, auth: &AuthContext, user_id: i64) -> AppResult<UserRead> {
    let mut conn = ctx.db.get().await?;
    if user_id == auth.user_id {
        return own_read(&mut conn, user_id).await;
    }
    let user = find_user(&mut conn, user_id).await?;
    let keeps_me: Vec<i64> = contacts::table
        .filter(contacts::owner_id.eq(user_id))
        .filter(contacts::contact_id.eq(auth.user_id))
        .select(contacts::owner_id)
        .load(&mut conn)
        .await?;
    let (email, avatar_url) = visible_parts(auth.user_id, &keeps_me, user.clone());
    Ok(UserRead {
        email,
        avatar_url,
        ..user_read(user, None)
    })
}

/// Those among `user_ids` who do not let `inviter_id` add them to a group
/// or channel (`privacy_group_invites`, seed 004 §3.7: `contacts` admits
/// only users in their contact list).
pub async fn refusing_group_invites(
    conn: &mut AsyncPgConnection,
    inviter_id: i64,
    user_ids: &[i64],
) -> QueryResult<Vec<i64>> {
    let settings: Vec<(i64, Privacy)> = users::table
        .filter(users::id.eq_any(user_ids))
        .filter(users::privacy_group_invites.ne(Privacy::Everyone))
        .select((users::id, users::privacy_group_invites))
        .load(conn)
        .await?;
    if settings.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = settings.iter().map(|(id, _)| *id).collect();
    let keep_inviter: Vec<i64> = contacts::table
        .filter(contacts::owner_id.eq_any(&ids))
        .filter(contacts::contact_id.eq(inviter_id))
        .select(contacts::owner_id)
        .load(conn)
        .await?;
    Ok(settings
        .into_iter()
        .filter(|(id, privacy)| !privacy.allows(keep_inviter.contains(id)))
        .map(|(id, _)| id)
        .collect())
}

/// The refusal when a user's `privacy_group_invites` keeps the caller from
/// adding them.
pub fn group_invites_refused(user_id: i64) -> AppError {
    AppError::forbidden(
        "group_invites_restricted",
        format!("User {user_id} does not let you add them to groups or channels."),
    )
}

/// The user with `id`.
///
/// Errors: 404 `user_not_found`.
pub(crate) async fn find_user(conn: &mut AsyncPgConnection, id: i64) -> AppResult<User> {
    User::find(conn, id).await.map_err(|e| match e {
        diesel::result::Error::NotFound => {
            AppError::not_found("user_not_found", "This user does not exist.")
        }
        e => e.into(),
    })
}

/// The caller's own `UserRead`.
async fn own_read(conn: &mut diesel_async::AsyncPgConnection, user_id: i64) -> AppResult<UserRead> {
    let user = User::find(conn, user_id).await?;
    let twofa_enabled = crate::domain::two_factor::is_enabled(conn, user_id).await?;
    Ok(user_read(user, Some(twofa_enabled)))
}

/// `GET /users/me`.
pub async fn me(ctx: &AppContext, auth: &AuthContext) -> AppResult<UserRead> {
    let mut conn = ctx.db.get().await?;
    own_read(&mut conn, auth.user_id).await
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = users)]
struct ProfileChanges {
    name: Option<String>,
    username: Option<String>,
    bio: Option<Option<String>>,
    avatar_url: Option<Option<String>>,
    allow_private_messages: Option<bool>,
    privacy_last_seen: Option<Privacy>,
    privacy_email: Option<Privacy>,
    privacy_avatar: Option<Privacy>,
    privacy_group_invites: Option<Privacy>,
}

/// `PUT /users/profile`: changes the given fields (seed 004 §6; every field
/// optional, `""` clears `bio` and `avatar_url`).
///
/// Errors: 422 naming the invalid field; 409 `username_taken`.
pub async fn update_profile(
    ctx: &AppContext,
    auth: &AuthContext,
    req: ProfileUpdate,
) -> AppResult<UserRead> {
    let changes = ProfileChanges {
        name: req
            .name
            .map(|n| validate::text_field("name", &n, 1, 64))
            .transpose()?,
        username: req.username.map(|u| validate::username(&u)).transpose()?,
        bio: req
            .bio
            .map(|b| validate::clearable("bio", &b, 500))
            .transpose()?,
        avatar_url: req
            .avatar_url
            .map(|a| validate::clearable("avatar_url", &a, 2048))
            .transpose()?,
        allow_private_messages: req.allow_private_messages,
        privacy_last_seen: req.privacy_last_seen,
        privacy_email: req.privacy_email,
        privacy_avatar: req.privacy_avatar,
        privacy_group_invites: req.privacy_group_invites,
    };
    let mut conn = ctx.db.get().await?;
    let nothing = changes.name.is_none()
        && changes.username.is_none()
        && changes.bio.is_none()
        && changes.avatar_url.is_none()
        && changes.allow_private_messages.is_none()
        && changes.privacy_last_seen.is_none()
        && changes.privacy_email.is_none()
        && changes.privacy_avatar.is_none()
        && changes.privacy_group_invites.is_none();
    let renamed = changes.name.is_some() || changes.username.is_some();
    if !nothing {
        crate::transaction!(conn, async |conn| {
            let (name, username): (String, String) =
                diesel::update(users::table.find(auth.user_id))
                    .set((&changes, users::updated_at.eq(diesel::dsl::now)))
                    .returning((users::name, users::username))
                    .get_result(conn)
                    .await
                    .map_err(|err| match &err {
                        diesel::result::Error::DatabaseError(
                            diesel::result::DatabaseErrorKind::UniqueViolation,
                            info,
                        ) if info.constraint_name() == Some("users_username_key") => {
                            AppError::conflict("username_taken", "This username is taken.")
                        }
                        _ => err.into(),
                    })?;
            if renamed {
                // Found by the new name at once (issue 10, item 5).
                diesel::update(users::table.find(auth.user_id))
                    .set(users::search_tokens.eq(name_tokens(&[Some(&name), Some(&username)])))
                    .execute(conn)
                    .await?;
            }
            Ok(())
        })?;
    }
    own_read(&mut conn, auth.user_id).await
}

/// `GET /users/contacts`: the caller's contacts, by name, each `email`
/// shown only where that contact's `privacy_email` allows the caller.
pub async fn list_contacts(ctx: &AppContext, auth: &AuthContext) -> AppResult<Vec<UserSearchRead>> {
    let mut conn = ctx.db.get().await?;
    let rows: Vec<User> = contacts::table
        .inner_join(users::table.on(users::id.eq(contacts::contact_id)))
        .filter(contacts::owner_id.eq(auth.user_id))
        .order(users::name.asc())
        .select(User::as_select())
        .load(&mut conn)
        .await?;
    Ok(as_seen_by(&mut conn, auth.user_id, rows).await?)
}

/// Users as `viewer_id` may see them (`UserSearchRead`): each `email` only
/// where that user's `privacy_email` allows the viewer.
pub(crate) async fn as_seen_by(
    conn: &mut AsyncPgConnection,
    viewer_id: i64,
    rows: Vec<User>,
) -> QueryResult<Vec<UserSearchRead>> {
    // Which of them keep the viewer as a contact (for `contacts` privacy).
    let ids: Vec<i64> = rows.iter().map(|u| u.id).collect();
    let keep_viewer: Vec<i64> = contacts::table
        .filter(contacts::contact_id.eq(viewer_id))
        .filter(contacts::owner_id.eq_any(&ids))
        .select(contacts::owner_id)
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|u| {
            let (email, avatar_url) = visible_parts(viewer_id, &keep_viewer, u.clone());
            UserSearchRead {
                id: u.id,
                name: u.name,
                username: u.username,
                email,
                avatar_url,
            }
        })
        .collect())
}

/// Query of `GET /users/search` (seed 004 §6).
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    #[serde(default)]
    pub query: String,
    pub limit: Option<i64>,
}

/// `GET /users/search?query=&limit=20`: users whose name or username has
/// every word of the query as the start of a word, Korean, Chinese and
/// Japanese matched anywhere inside a run (the message tokenizer, issue
/// 10: "민수" finds "김민수"; case and accents folded; a leading `@` is
/// dropped). Shorter than 2 characters: `[]` (seed 004 §6). Exact username
/// first, then usernames that start with the query, then by name; the
/// caller and users who blocked the caller are left out.
///
/// Errors: 422 `limit` outside 1..=50.
pub async fn search(
    ctx: &AppContext,
    auth: &AuthContext,
    query: &SearchQuery,
) -> AppResult<Vec<UserSearchRead>> {
    let limit = validate::limit(query.limit, 20, 50)?;
    let text = validate::search_text(&query.query);
    let tokens = query_tokens(&text);
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    let escaped = validate::like_escaped(&text);
    let mut conn = ctx.db.get().await?;
    let blocked_me = blocks::table
        .filter(blocks::blocked_id.eq(auth.user_id))
        .select(blocks::owner_id);
    let rows: Vec<User> = users::table
        .filter(users::id.ne(auth.user_id))
        .filter(users::id.ne_all(blocked_me))
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("users.search_vector @@ ")
                .bind::<diesel::sql_types::Text, _>(prefix_tsquery(&tokens))
                .sql("::tsquery"),
        )
        .order((
            users::username.eq(&text).desc(),
            users::username.ilike(format!("{escaped}%")).desc(),
            users::name.asc(),
            users::id.asc(),
        ))
        .limit(limit)
        .select(User::as_select())
        .load(&mut conn)
        .await?;
    Ok(as_seen_by(&mut conn, auth.user_id, rows).await?)
}

/// `POST /users/{id}/contacts` and `POST /users/contacts/by-email`: adds a
/// contact (idempotent).
///
/// Errors: 404 `user_not_found`; 422 when adding oneself.
pub async fn add_contact(ctx: &AppContext, auth: &AuthContext, contact_id: i64) -> AppResult<()> {
    if contact_id == auth.user_id {
        return Err(AppError::validation("user_id", "You cannot add yourself."));
    }
    let mut conn = ctx.db.get().await?;
    find_user(&mut conn, contact_id).await?;
    diesel::insert_into(contacts::table)
        .values((
            contacts::owner_id.eq(auth.user_id),
            contacts::contact_id.eq(contact_id),
        ))
        .on_conflict_do_nothing()
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// `POST /users/contacts/by-email`: adds the user with this address as a
/// contact when there is one. The answer is the same whether or not the
/// address belongs to anyone, so that addresses cannot be probed (issue 6,
/// item 6).
///
/// Errors: 422 for a malformed address.
pub async fn add_contact_by_email(
    ctx: &AppContext,
    auth: &AuthContext,
    email: &str,
) -> AppResult<()> {
    let email = validate::email(email)?;
    let mut conn = ctx.db.get().await?;
    let Some(user) = User::find_by_email(&mut conn, &email).await? else {
        return Ok(());
    };
    if user.id == auth.user_id {
        return Ok(());
    }
    diesel::insert_into(contacts::table)
        .values((
            contacts::owner_id.eq(auth.user_id),
            contacts::contact_id.eq(user.id),
        ))
        .on_conflict_do_nothing()
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// `DELETE /users/{id}/contacts` (idempotent).
pub async fn remove_contact(
    ctx: &AppContext,
    auth: &AuthContext,
    contact_id: i64,
) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    diesel::delete(
        contacts::table
            .filter(contacts::owner_id.eq(auth.user_id))
            .filter(contacts::contact_id.eq(contact_id)),
    )
    .execute(&mut conn)
    .await?;
    Ok(())
}

/// Whether `viewer_id` may see `target`'s online status and last-seen time
/// under the target's `privacy_last_seen`.
pub async fn can_see_last_seen(
    conn: &mut AsyncPgConnection,
    target_id: i64,
    privacy: Privacy,
    viewer_id: i64,
) -> QueryResult<bool> {
    if privacy != Privacy::Contacts {
        return Ok(privacy.allows(false));
    }
    diesel::select(diesel::dsl::exists(
        contacts::table
            .filter(contacts::owner_id.eq(target_id))
            .filter(contacts::contact_id.eq(viewer_id)),
    ))
    .get_result(conn)
    .await
}

/// Who hears about `user_id`'s presence, privacy applied: the other members
/// of their private chats and the users who keep them as a contact, less
/// those the user's `privacy_last_seen` hides it from and those with a block
/// between them and the user.
pub async fn presence_audience(
    conn: &mut AsyncPgConnection,
    user_id: i64,
) -> QueryResult<Vec<i64>> {
    let user = User::find(conn, user_id).await?;
    if user.privacy_last_seen == Privacy::Nobody {
        return Ok(Vec::new());
    }
    let my_private_chats: Vec<i64> = chat_members::table
        .inner_join(chats::table)
        .filter(chat_members::user_id.eq(user_id))
        .filter(chats::chat_type.eq(ChatType::Private))
        .select(chat_members::chat_id)
        .load(conn)
        .await?;
    let mut audience: Vec<i64> = chat_members::table
        .filter(chat_members::chat_id.eq_any(&my_private_chats))
        .filter(chat_members::user_id.ne(user_id))
        .select(chat_members::user_id)
        .load(conn)
        .await?;
    let watchers: Vec<i64> = contacts::table
        .filter(contacts::contact_id.eq(user_id))
        .select(contacts::owner_id)
        .load(conn)
        .await?;
    audience.extend(watchers);
    audience.sort_unstable();
    audience.dedup();
    // A block hides presence both ways.
    let blocked: Vec<i64> = blocks::table
        .filter(blocks::owner_id.eq(user_id))
        .select(blocks::blocked_id)
        .union(
            blocks::table
                .filter(blocks::blocked_id.eq(user_id))
                .select(blocks::owner_id),
        )
        .load(conn)
        .await?;
    audience.retain(|viewer| !blocked.contains(viewer));
    if user.privacy_last_seen == Privacy::Contacts {
        let mine: Vec<i64> = contacts::table
            .filter(contacts::owner_id.eq(user_id))
            .select(contacts::contact_id)
            .load(conn)
            .await?;
        audience.retain(|id| mine.contains(id));
    }
    Ok(audience)
}

/// Records when the user was last seen (their last socket closed).
pub async fn touch_last_seen(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::last_seen_at.eq(at))
        .execute(conn)
        .await?;
    Ok(())
}
