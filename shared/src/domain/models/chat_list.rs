//! The chat list's rows: one query for a member's whole list (seed 004
//! §7, `GET /chats`), with unread counts, the last message and the
//! counterpart of a private chat.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::kinds::{ChatType, MemberRole, MessageType};
use crate::domain::search_tokens::{prefix_tsquery, query_tokens};

/// One chat as a member sees it in the chat list: the row `GET /chats` is
/// built from (see [`ChatListRow::load`]).
#[derive(Debug, Clone, QueryableByName)]
pub struct ChatListRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub public_id: String,
    #[diesel(sql_type = Text)]
    pub chat_type: ChatType,
    #[diesel(sql_type = Nullable<Text>)]
    pub title: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub avatar_url: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub handle: Option<String>,
    #[diesel(sql_type = Bool)]
    pub is_public: bool,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub pinned_message_id: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub last_seq: i64,
    /// Who made the chat (`None` once their account is deleted).
    #[diesel(sql_type = Nullable<BigInt>)]
    pub created_by: Option<i64>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub my_role: MemberRole,
    #[diesel(sql_type = Bool)]
    pub archived: bool,
    /// The member's own saved-messages chat.
    #[diesel(sql_type = Bool)]
    pub is_saved: bool,
    #[diesel(sql_type = Bool)]
    pub pinned: bool,
    #[diesel(sql_type = BigInt)]
    pub members_count: i64,
    #[diesel(sql_type = BigInt)]
    pub unread_count: i64,
    #[diesel(sql_type = BigInt)]
    pub unread_mentions_count: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub last_message_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_message_text: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_message_type: Option<MessageType>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_message_created_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub counterpart_user_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub counterpart_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub counterpart_username: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub counterpart_avatar_url: Option<String>,
}

/// Which chats [`ChatListRow::load`] returns.
#[derive(Debug, Clone, Default)]
pub struct ChatListFilter {
    /// Only this chat (for `GET /chats/{id}`).
    pub chat_id: Option<i64>,
    /// Archived chats instead of the others.
    pub archived: bool,
    /// Chats that sort after this one (newest activity first).
    pub before_id: Option<i64>,
    /// Words of the title or handle (a private chat: the counterpart's
    /// name or username), matched as `GET /users/search` matches names
    /// (issue 10), or a chat type (`private`, `group`, `channel`; seed 004
    /// §7: "search by title/type"). A query with nothing to look for (one
    /// character, only punctuation) finds no chat.
    pub query: Option<String>,
    pub limit: i64,
}

// One query for the whole list: unread counts are computed from positions
// (messages after max(last_read, cleared_before) from others, not hidden),
// so they cannot drift (ARCHITECTURE §2).
const CHAT_LIST_SQL: &str = r#"
SELECT c.id, c.public_id, c.type AS chat_type, c.title, c.description, c.avatar_url, c.handle,
       c.is_public, c.pinned_message_id, c.last_seq, c.created_by, c.created_at,
       m.role AS my_role, m.archived, m.pinned,
       COALESCE(c.private_key LIKE 'saved:%', FALSE) AS is_saved,
       (SELECT count(*) FROM chat_members cm WHERE cm.chat_id = c.id) AS members_count,
       (SELECT count(*) FROM messages x
         WHERE x.chat_id = c.id
           AND x.id > GREATEST(m.last_read_message_id, m.cleared_before_message_id)
           AND x.deleted_at IS NULL
           AND x.sender_id IS DISTINCT FROM m.user_id
           AND NOT EXISTS (SELECT 1 FROM message_hidden h
                            WHERE h.user_id = m.user_id AND h.message_id = x.id)) AS unread_count,
       (SELECT count(*) FROM mentions n JOIN messages x ON x.id = n.message_id
         WHERE n.user_id = m.user_id AND x.chat_id = c.id
           AND x.id > GREATEST(m.last_read_message_id, m.cleared_before_message_id)
           AND x.deleted_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM message_hidden h
                            WHERE h.user_id = m.user_id AND h.message_id = x.id)) AS unread_mentions_count,
       lm.id AS last_message_id, lm.text AS last_message_text, lm.type AS last_message_type,
       lm.created_at AS last_message_created_at,
       cp.id AS counterpart_user_id, cp.name AS counterpart_name,
       cp.username AS counterpart_username, cp.avatar_url AS counterpart_avatar_url
  FROM chat_members m
  JOIN chats c ON c.id = m.chat_id
  LEFT JOIN LATERAL (
        SELECT x.id, x.text, x.type, x.created_at FROM messages x
         WHERE x.chat_id = c.id AND x.deleted_at IS NULL
           AND x.id > m.cleared_before_message_id
           AND NOT EXISTS (SELECT 1 FROM message_hidden h
                            WHERE h.user_id = m.user_id AND h.message_id = x.id)
         ORDER BY x.id DESC LIMIT 1) lm ON TRUE
  LEFT JOIN LATERAL (
        SELECT u.id, u.name, u.username, u.avatar_url, u.search_vector
          FROM chat_members o JOIN users u ON u.id = o.user_id
         WHERE o.chat_id = c.id AND o.user_id <> m.user_id
         ORDER BY o.id LIMIT 1) cp ON c.type = 'private'
 WHERE m.user_id = $1
   AND ($2::bigint IS NULL OR c.id = $2)
   AND ($2::bigint IS NOT NULL OR m.archived = $3)
   AND ($2::bigint IS NOT NULL OR NOT m.hidden OR lm.id IS NOT NULL)
   AND ($4::bigint IS NULL OR (c.last_activity_at, c.id) <
        (SELECT b.last_activity_at, b.id FROM chats b WHERE b.id = $4))
   AND ($5::tsquery IS NULL OR c.search_vector @@ $5::tsquery OR cp.search_vector @@ $5::tsquery
        OR c.type = $7)
 ORDER BY c.last_activity_at DESC, c.id DESC
 LIMIT $6
"#;

impl ChatListRow {
    /// The chats of `user_id` that match `filter`, newest activity first.
    pub async fn load(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        filter: &ChatListFilter,
    ) -> QueryResult<Vec<ChatListRow>> {
        let (tsquery, chat_type) = match filter.query.as_deref() {
            None => (None, None),
            Some(text) => {
                let tokens = query_tokens(text);
                if tokens.is_empty() {
                    return Ok(Vec::new());
                }
                (Some(prefix_tsquery(&tokens)), Some(text.to_lowercase()))
            }
        };
        diesel::sql_query(CHAT_LIST_SQL)
            .bind::<BigInt, _>(user_id)
            .bind::<Nullable<BigInt>, _>(filter.chat_id)
            .bind::<Bool, _>(filter.archived)
            .bind::<Nullable<BigInt>, _>(filter.before_id)
            .bind::<Nullable<Text>, _>(tsquery)
            .bind::<BigInt, _>(filter.limit)
            .bind::<Nullable<Text>, _>(chat_type)
            .load(conn)
            .await
    }
}
