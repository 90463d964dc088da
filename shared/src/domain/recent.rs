//! A chat's recent messages, served from Redis (seed 003, "Redis: 최근 채팅
//! 기록 — 채팅방별 최근 메시지 20개 캐싱"), never stale.
//!
//! Redis holds each chat's last [`RECENT`] messages (not deleted for
//! everyone) labelled with the chat's `last_seq` when they were read. Every
//! change that can alter them (a send, an edit, a delete for all, a
//! retention expiry) is a chat event and moves `last_seq`, so a list is
//! current exactly when its label is at least the `last_seq` the reader
//! sees; otherwise it is read from PostgreSQL and stored again (a write
//! never replaces a later label). The caller's own view (history cleared,
//! messages deleted for themselves) is applied on top; a caller for whom
//! that removes any message reads their list from PostgreSQL.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::caller::AuthContext;
use crate::domain::chats::require_member;
use crate::domain::context::AppContext;
use crate::domain::error::AppResult;
use crate::domain::kinds::MessageType;
use crate::domain::models::Message;

/// How many messages [`recent_messages`] gives (seed 003: 20).
pub const RECENT: usize = 20;

/// One recent message: what seed 003's chat data shows (`userId`,
/// `content`, `timestamp`) and its ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentMessage {
    pub id: i64,
    pub chat_id: i64,
    /// `None` for a system message.
    pub sender_id: Option<i64>,
    pub message_type: MessageType,
    pub text: String,
    pub edited: bool,
    pub created_at: DateTime<Utc>,
}

impl From<Message> for RecentMessage {
    fn from(m: Message) -> Self {
        RecentMessage {
            id: m.id,
            chat_id: m.chat_id,
            sender_id: m.sender_id,
            message_type: m.message_type,
            text: m.text,
            edited: m.edited_at.is_some(),
            created_at: m.created_at,
        }
    }
}

/// Where [`recent_messages`] found the list (for tests and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecentSource {
    /// Redis held it at the current seq.
    Cache,
    /// Read from PostgreSQL (and stored for the next reader).
    Database,
}

/// The last [`RECENT`] messages of `chat_id` the caller can see, oldest
/// first, and where they came from.
///
/// Errors: 404 `chat_not_found`; 403 `not_a_member`. Redis failing is not
/// an error: the list is read from PostgreSQL.
pub async fn recent_messages(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
) -> AppResult<(Vec<RecentMessage>, RecentSource)> {
    let mut conn = ctx.db.get().await?;
    let (chat, member) = require_member(&mut conn, chat_id, auth.user_id).await?;
    let cached = match &ctx.recent {
        Some(cache) => match cache.get(chat_id).await {
            Ok(Some((seq, body))) if seq >= chat.last_seq => {
                serde_json::from_str::<Vec<RecentMessage>>(&body).ok()
            }
            Ok(_) => None,
            Err(err) => {
                tracing::warn!(chat.id = chat_id, error = %err, "recent messages: Redis failed");
                None
            }
        },
        None => None,
    };
    let (list, source) = match cached {
        Some(list) => (list, RecentSource::Cache),
        None => {
            let list: Vec<RecentMessage> = Message::recent(&mut conn, chat_id, None, RECENT as i64)
                .await?
                .into_iter()
                .map(RecentMessage::from)
                .collect();
            if let Some(cache) = &ctx.recent
                && let Ok(body) = serde_json::to_string(&list)
                && let Err(err) = cache.put(chat_id, chat.last_seq, &body).await
            {
                tracing::warn!(chat.id = chat_id, error = %err, "recent messages: Redis failed");
            }
            (list, RecentSource::Database)
        }
    };
    let ids: Vec<i64> = list.iter().map(|m| m.id).collect();
    let cleared = member.cleared_before_message_id;
    let hides_any = ids.first().is_some_and(|first| *first <= cleared)
        || !Message::hidden_of(&mut conn, auth.user_id, &ids)
            .await?
            .is_empty();
    if !hides_any {
        return Ok((list, source));
    }
    let own = Message::recent(
        &mut conn,
        chat_id,
        Some((auth.user_id, cleared)),
        RECENT as i64,
    )
    .await?;
    Ok((
        own.into_iter().map(RecentMessage::from).collect(),
        RecentSource::Database,
    ))
}
