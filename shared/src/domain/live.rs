//! What travels between replicas on the bus (ARCHITECTURE §3): domain
//! events, never an API's frames. Each API replica decodes an arriving
//! event once, routes it on its typed fields, and renders it once per API
//! for all its sockets (the native API: `crate::wire::native::render::live`).
//!
//! On the wire of the bus an event is JSON tagged by `live`:
//! `{"live": "chat", "v": 1, "chat_id", "seq", "event": {...}}` for a
//! logged chat event, `{"live": "typing", ...}` and so on for the
//! ephemeral ones. Live delivery is at-most-once; the log makes logged
//! events complete, the ephemeral ones are simply missed.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::events::LoggedEvent;
use crate::domain::kinds::ReceiptKind;
use crate::infra::bus::{EventBus, Topic};

/// An event published on a [`Topic`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "live", rename_all = "snake_case")]
pub enum LiveEvent {
    /// A logged chat event, on its chat's topic; `chat_created` and
    /// `member_joined` also on the new members' user topics, so that their
    /// sockets start following the chat.
    Chat(LoggedEvent),
    /// A member's delivered or read position moved (seed 004 §8), on the
    /// chat's topic.
    Receipt {
        chat_id: i64,
        user_id: i64,
        message_id: i64,
        kind: ReceiptKind,
    },
    /// A member is (or stopped) typing, on the chat's topic; shown for
    /// `expires_in_ms` (milliseconds) unless renewed.
    Typing {
        chat_id: i64,
        user_id: i64,
        is_typing: bool,
        expires_in_ms: u64,
    },
    /// A user came online or went offline, on the user topic of each
    /// viewer allowed to see it (seed 004 §3.7).
    Presence {
        user_id: i64,
        is_online: bool,
        last_seen_at: Option<DateTime<Utc>>,
    },
    /// A session ended (logout, revoked, refresh-token reuse), on its
    /// user's topic: the sockets of that session close.
    SessionRevoked { session_id: String, reason: String },
    /// The user deleted a message for themselves, on their own topic: their
    /// other devices drop it too. Not part of the chat's log.
    DeletedForMe { chat_id: i64, message_id: i64 },
    /// A notification for the user (seed 004 §10), on their own topic:
    /// they are online, so it goes to their sockets rather than a push.
    Notification {
        notification: Box<crate::domain::models::notification::Notification>,
    },
    /// The user changed their own settings of a chat (archive, pin-chat,
    /// mute, clear history), on their own topic: their other devices
    /// follow. `cleared_before_message_id`: messages up to it are hidden.
    ChatSettings {
        chat_id: i64,
        archived: bool,
        pinned: bool,
        muted: bool,
        cleared_before_message_id: i64,
        /// Deleted "for me": out of the chat list until a new message.
        hidden: bool,
    },
}

impl LiveEvent {
    /// The bytes published on the bus.
    pub fn encode(&self) -> Bytes {
        // Plain structs with string keys: serialising cannot fail.
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Reads what [`LiveEvent::encode`] wrote.
    ///
    /// Errors: the bytes are not a live event (a foreign publisher).
    pub fn decode(bytes: &[u8]) -> serde_json::Result<LiveEvent> {
        serde_json::from_slice(bytes)
    }
}

/// Publishes `event` on `topic` (best effort, see [`EventBus::publish`]).
pub async fn publish(bus: &EventBus, topic: Topic, event: &LiveEvent) {
    bus.publish(topic, event.encode()).await;
}

/// Publishes logged events, in order, on their chats' topics. Call after
/// the commit that wrote them.
pub async fn publish_logged(bus: &EventBus, events: Vec<LoggedEvent>) {
    let items = events
        .into_iter()
        .map(|event| (Topic::Chat(event.chat_id), LiveEvent::Chat(event).encode()))
        .collect();
    bus.publish_all(items).await;
}

/// Publishes a logged event on the user topics of `new_members` (who do
/// not follow the chat yet: their replicas subscribe when it arrives) and,
/// with `also_chat`, on the chat's topic for those who do.
pub async fn publish_to_new_members(
    bus: &EventBus,
    event: LoggedEvent,
    new_members: &[i64],
    also_chat: bool,
) {
    let topic = Topic::Chat(event.chat_id);
    let bytes = LiveEvent::Chat(event).encode();
    let mut items: Vec<(Topic, Bytes)> = new_members
        .iter()
        .map(|user_id| (Topic::User(*user_id), bytes.clone()))
        .collect();
    if also_chat {
        items.push((topic, bytes));
    }
    bus.publish_all(items).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::events::{DomainEvent, LeaveReason, VERSION};

    #[test]
    fn live_events_round_trip_with_their_tag() {
        let chat = LiveEvent::Chat(LoggedEvent {
            v: VERSION,
            chat_id: 3,
            seq: 9,
            event: DomainEvent::MemberLeft {
                user_id: 5,
                reason: LeaveReason::Left,
            },
        });
        let json: serde_json::Value = serde_json::from_slice(&chat.encode()).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"live": "chat", "v": 1, "chat_id": 3, "seq": 9,
                "event": {"kind": "member_left", "user_id": 5, "reason": "left"}})
        );
        assert_eq!(LiveEvent::decode(&chat.encode()).ok(), Some(chat));
        let receipt = LiveEvent::Receipt {
            chat_id: 3,
            user_id: 5,
            message_id: 8,
            kind: ReceiptKind::MessageRead,
        };
        assert_eq!(LiveEvent::decode(&receipt.encode()).ok(), Some(receipt));
        assert!(LiveEvent::decode(br#"{"type": "message_created"}"#).is_err());
    }
}
