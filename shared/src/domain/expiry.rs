//! Messages past their chat's `retention_days` (the chat setting, seed
//! 001's `message_retention_days`): retention deletes them for everyone,
//! exactly as a sender's delete for all does (a tombstone, the text gone
//! from every logged copy, a `message_deleted` event with its seq), so that
//! clients drop them whether they are online or catch up later.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::domain::context::AppContext;
use crate::domain::events::{DomainEvent, LoggedEvent};
use crate::domain::live;
use crate::domain::models::{Chat, Message, event};
use crate::infra::schema::{chats, messages};

/// Messages one chat loses per transaction (so that no pass holds a chat
/// for long); the next pass goes on.
const BATCH: i64 = 500;

/// Deletes for everyone the messages older than their chat's
/// `retention_days`, in chats that set it; returns how many. Run by the
/// worker's retention pass.
///
/// Errors: the database failed (what was committed stays done).
pub async fn expire_messages(ctx: &AppContext) -> anyhow::Result<usize> {
    let mut conn = ctx.db.get().await?;
    let settings: Vec<(i64, i32)> = chats::table
        .filter(chats::retention_days.is_not_null())
        .filter(chats::deleted_at.is_null())
        .select((chats::id, chats::retention_days.assume_not_null()))
        .load(&mut conn)
        .await?;
    let mut expired = 0;
    for (chat_id, days) in settings {
        let cutoff = Utc::now() - Duration::days(i64::from(days));
        loop {
            let events = crate::transaction!(conn, async |conn| {
                let chat = match Chat::lock(conn, chat_id).await {
                    Ok(chat) => chat,
                    Err(diesel::result::Error::NotFound) => return Ok(Vec::new()),
                    Err(err) => return Err(err.into()),
                };
                let old: Vec<Message> = messages::table
                    .filter(messages::chat_id.eq(chat.id))
                    .filter(messages::deleted_at.is_null())
                    .filter(messages::created_at.lt(cutoff))
                    .order(messages::id.asc())
                    .limit(BATCH)
                    .select(Message::as_select())
                    .load(conn)
                    .await?;
                let mut events: Vec<LoggedEvent> = Vec::with_capacity(old.len());
                for message in &old {
                    Message::delete_for_all(conn, message.id).await?;
                    event::redact_message(conn, message).await?;
                    let message_id = message.id;
                    events.push(
                        event::record(conn, chat.id, |_| DomainEvent::MessageDeleted {
                            message_id,
                        })
                        .await?,
                    );
                }
                Ok(events)
            })
            .map_err(|e| anyhow::anyhow!("expire chat {chat_id}: {e}"))?;
            let count = events.len();
            expired += count;
            live::publish_logged(&ctx.bus, events).await;
            if (count as i64) < BATCH {
                break;
            }
        }
    }
    Ok(expired)
}
