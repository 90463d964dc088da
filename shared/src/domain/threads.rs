//! Threads (seed 004 §8, `GET /messages/{id}/thread?limit`): a message and
//! the replies under it, breadth first by reply links (the message, its
//! direct replies, their replies, ...; each level in sending order).

use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use serde::Deserialize;

use crate::domain::caller::AuthContext;
use crate::domain::context::AppContext;
use crate::domain::error::AppResult;
use crate::domain::history::{reads_for, visible_message};
use crate::domain::models::Message;
use crate::domain::validate;
use crate::domain::views::MessageView;

/// Query of `GET /messages/{id}/thread`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ThreadQuery {
    /// 1–500, default 100 (the root included).
    pub limit: Option<i64>,
}

// Breadth first: by depth, then id (sending order). Replies always point to
// an earlier message, so the walk ends; the depth bound is a guard. Messages
// the reader hid or cleared are left out, but the walk goes through them.
const THREAD_SQL: &str = r#"
WITH RECURSIVE thread(id, depth) AS (
    SELECT id, 0 FROM messages WHERE id = $1
    UNION ALL
    SELECT m.id, t.depth + 1
      FROM messages m JOIN thread t ON m.reply_to_message_id = t.id
     WHERE t.depth < 10000
)
SELECT t.id FROM thread t
 WHERE t.id > $3
   AND NOT EXISTS (SELECT 1 FROM message_hidden h WHERE h.user_id = $2 AND h.message_id = t.id)
 ORDER BY t.depth, t.id
 LIMIT $4
"#;

#[derive(diesel::QueryableByName)]
struct ThreadRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// `GET /messages/{id}/thread?limit`: the message first, then the replies
/// under it breadth first, as the caller sees them (a reply deleted for
/// everyone stays as a tombstone, so the tree keeps its shape).
///
/// Errors: 422 `limit` outside 1..=500; 404 `message_not_found` (also
/// hidden from the caller); 403 `not_a_member`.
pub async fn thread(
    ctx: &AppContext,
    auth: &AuthContext,
    message_id: i64,
    query: ThreadQuery,
) -> AppResult<Vec<MessageView>> {
    let limit = validate::limit(query.limit, 100, 500)?;
    let mut conn = ctx.db.get().await?;
    let (root, _, member) = visible_message(&mut conn, message_id, auth.user_id, false).await?;
    let rows: Vec<ThreadRow> = diesel::sql_query(THREAD_SQL)
        .bind::<BigInt, _>(root.id)
        .bind::<BigInt, _>(auth.user_id)
        .bind::<BigInt, _>(member.cleared_before_message_id)
        .bind::<BigInt, _>(limit)
        .load(&mut conn)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut messages = Message::by_ids(&conn, &ids).await?;
    messages.sort_by_key(|m| ids.iter().position(|id| *id == m.id));
    reads_for(&mut conn, root.chat_id, auth.user_id, &messages).await
}
