//! Blocks (seed 004 §6): a user blocks another. Between the two there is
//! then no private chat to open and no message in their private chat
//! (either way), the blocked user cannot add the blocker to a group, they
//! do not see each other's presence, and the blocker is left out of the
//! blocked user's searches. Existing chats stay; unblocking restores
//! everything.

use std::collections::HashSet;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::caller::AuthContext;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::models::User;
use crate::domain::users::{UserSearchRead, as_seen_by, find_user};
use crate::infra::schema::{blocks, chat_members, users};

/// The refusal when a block stands between two users.
pub fn blocked() -> AppError {
    AppError::forbidden(
        "blocked",
        "You cannot do this: one of you blocked the other.",
    )
}

/// Whether `a` blocked `b` or `b` blocked `a`.
pub async fn between(conn: &mut AsyncPgConnection, a: i64, b: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        blocks::table.filter(
            (blocks::owner_id.eq(a).and(blocks::blocked_id.eq(b)))
                .or(blocks::owner_id.eq(b).and(blocks::blocked_id.eq(a))),
        ),
    ))
    .get_result(conn)
    .await
}

/// Whether a block stands between `user_id` and the other member of the
/// private chat `chat_id`. One query: it runs on every send in a private
/// chat.
pub async fn in_private_chat(
    conn: &mut AsyncPgConnection,
    chat_id: i64,
    user_id: i64,
) -> QueryResult<bool> {
    let others = || {
        chat_members::table
            .filter(chat_members::chat_id.eq(chat_id))
            .filter(chat_members::user_id.ne(user_id))
            .select(chat_members::user_id)
    };
    diesel::select(diesel::dsl::exists(
        blocks::table.filter(
            (blocks::owner_id
                .eq(user_id)
                .and(blocks::blocked_id.eq_any(others())))
            .or(blocks::blocked_id
                .eq(user_id)
                .and(blocks::owner_id.eq_any(others()))),
        ),
    ))
    .get_result(conn)
    .await
}

/// [`in_private_chat`] for several private chats at once: the `(chat,
/// member)` pairs of those chats with a block between their two members,
/// in one query (none without chats). Takes a shared connection so that a
/// batch's reads can go together ([`crate::domain::group_commit`]).
pub async fn in_private_chats(
    mut conn: &AsyncPgConnection,
    chat_ids: &[i64],
) -> QueryResult<HashSet<(i64, i64)>> {
    if chat_ids.is_empty() {
        return Ok(HashSet::new());
    }
    let blocked: Vec<BlockedMember> = diesel::sql_query(
        "SELECT m.chat_id, m.user_id FROM chat_members m \
         JOIN chat_members other ON other.chat_id = m.chat_id AND other.user_id <> m.user_id \
         WHERE m.chat_id = ANY($1) AND EXISTS (SELECT 1 FROM blocks b \
         WHERE (b.owner_id = m.user_id AND b.blocked_id = other.user_id) \
         OR (b.owner_id = other.user_id AND b.blocked_id = m.user_id))",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(chat_ids)
    .load(&mut conn)
    .await?;
    Ok(blocked
        .into_iter()
        .map(|b| (b.chat_id, b.user_id))
        .collect())
}

/// A member of a private chat with a block between them and the other.
#[derive(QueryableByName)]
struct BlockedMember {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    chat_id: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    user_id: i64,
}

/// Those among `user_ids` who blocked `user_id` or whom `user_id` blocked.
pub async fn either_way(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    user_ids: &[i64],
) -> QueryResult<Vec<i64>> {
    let mut found: Vec<i64> = blocks::table
        .filter(blocks::owner_id.eq(user_id))
        .filter(blocks::blocked_id.eq_any(user_ids))
        .select(blocks::blocked_id)
        .load(conn)
        .await?;
    let blockers: Vec<i64> = blocks::table
        .filter(blocks::blocked_id.eq(user_id))
        .filter(blocks::owner_id.eq_any(user_ids))
        .select(blocks::owner_id)
        .load(conn)
        .await?;
    found.extend(blockers);
    found.sort_unstable();
    found.dedup();
    Ok(found)
}

/// Errors: 404 `user_not_found`; 422 for the caller themself.
async fn require_other(conn: &mut AsyncPgConnection, me: i64, user_id: i64) -> AppResult<()> {
    if user_id == me {
        return Err(AppError::validation(
            "user_id",
            "You cannot block yourself.",
        ));
    }
    find_user(conn, user_id).await?;
    Ok(())
}

/// `POST /users/{id}/block` (idempotent).
///
/// Errors: 404 `user_not_found`; 422 for the caller themself.
pub async fn block(ctx: &AppContext, auth: &AuthContext, user_id: i64) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    require_other(&mut conn, auth.user_id, user_id).await?;
    diesel::insert_into(blocks::table)
        .values((
            blocks::owner_id.eq(auth.user_id),
            blocks::blocked_id.eq(user_id),
        ))
        .on_conflict_do_nothing()
        .execute(&mut conn)
        .await?;
    tracing::info!(user.id = auth.user_id, blocked = user_id, "user blocked");
    Ok(())
}

/// `DELETE /users/{id}/block` (idempotent).
///
/// Errors: 404 `user_not_found`; 422 for the caller themself.
pub async fn unblock(ctx: &AppContext, auth: &AuthContext, user_id: i64) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    require_other(&mut conn, auth.user_id, user_id).await?;
    diesel::delete(
        blocks::table
            .filter(blocks::owner_id.eq(auth.user_id))
            .filter(blocks::blocked_id.eq(user_id)),
    )
    .execute(&mut conn)
    .await?;
    Ok(())
}

/// `GET /users/blocked`: whom the caller blocked, latest first.
pub async fn list_blocked(ctx: &AppContext, auth: &AuthContext) -> AppResult<Vec<UserSearchRead>> {
    let mut conn = ctx.db.get().await?;
    let rows: Vec<User> = blocks::table
        .inner_join(users::table.on(users::id.eq(blocks::blocked_id)))
        .filter(blocks::owner_id.eq(auth.user_id))
        .order(blocks::created_at.desc())
        .select(User::as_select())
        .load(&mut conn)
        .await?;
    Ok(as_seen_by(&mut conn, auth.user_id, rows).await?)
}
