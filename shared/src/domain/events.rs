//! Domain events: what happened in a chat, as the per-chat log stores it
//! (`chat_events.payload`, ARCHITECTURE §2). Each API renders them into its
//! own frames (the native API: `crate::wire::native::render`), so the log
//! holds no API's wire format.
//!
//! Version 1: `{"v": 1, "chat_id", "seq", "event": {"kind": ..., ...}}`.
//! Rows written before the versioned format hold the native frame itself;
//! [`StoredEvent`] reads both, and the old rows keep rendering as they were.
//! Snapshots are taken from rows by the models (`Message::snapshot`, …).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::kinds::{ChatType, EventKind, MemberRole, MessageType};

/// The version of [`LoggedEvent`] written now.
pub const VERSION: u32 = 1;

/// A message as it stood when the event happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageSnapshot {
    pub id: i64,
    pub chat_id: i64,
    pub sender_id: Option<i64>,
    pub seq: i64,
    pub reply_to_message_id: Option<i64>,
    pub forwarded_from_message_id: Option<i64>,
    pub message_type: MessageType,
    /// `None` once deleted for everyone.
    pub text: Option<String>,
    pub client_message_id: Option<String>,
    /// Mentioned user ids, ascending.
    pub mentions: Vec<i64>,
    /// Reaction counts, most used first (absent from events logged before
    /// reactions).
    #[serde(default)]
    pub reactions: Vec<ReactionCount>,
    /// Files, in the order they were attached (absent from events logged
    /// before attachments).
    #[serde(default)]
    pub attachments: Vec<AttachmentSnapshot>,
    pub deleted: bool,
    pub edited_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A chat's public description when the event happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatSnapshot {
    pub id: i64,
    pub public_id: String,
    pub chat_type: ChatType,
    pub title: Option<String>,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    pub handle: Option<String>,
    pub is_public: bool,
    pub created_by: Option<i64>,
    /// Members in joining order.
    pub member_ids: Vec<i64>,
    pub created_at: DateTime<Utc>,
    /// Chat settings (absent from events logged before them).
    #[serde(default)]
    pub retention_days: Option<i32>,
    #[serde(default = "enabled")]
    pub read_receipts_enabled: bool,
}

fn enabled() -> bool {
    true
}

/// A file of a message (seed 004 §9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentSnapshot {
    pub id: i64,
    /// Where members download it (the API's download route; it checks
    /// membership and redirects to a short-lived storage URL).
    pub file_url: String,
    /// The name the file was uploaded with (`""` in events logged before
    /// names were kept).
    #[serde(default)]
    pub file_name: String,
    pub file_type: String,
    pub file_size: i64,
    /// Voice and audio: the waveform's points.
    #[serde(default)]
    pub waveform_points: Option<Vec<i32>>,
}

/// How many members reacted to a message with one emoji.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionCount {
    pub emoji: String,
    pub count: i64,
}

/// A membership when the event happened, with the member's names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberSnapshot {
    /// The membership's id.
    pub id: i64,
    pub user_id: i64,
    pub role: MemberRole,
    pub joined_at: DateTime<Utc>,
    pub name: String,
    pub username: String,
    pub nickname: Option<String>,
}

/// Why a member left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// They left.
    Left,
    /// An owner or admin removed them.
    Removed,
}

impl LeaveReason {
    /// `left` / `removed`.
    pub fn as_str(self) -> &'static str {
        match self {
            LeaveReason::Left => "left",
            LeaveReason::Removed => "removed",
        }
    }
}

/// What happened in a chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DomainEvent {
    // Boxed: a message is by far the largest payload, and every event
    // (and every replay item) would otherwise be as large as one.
    MessageCreated {
        message: Box<MessageSnapshot>,
    },
    MessageUpdated {
        message: Box<MessageSnapshot>,
    },
    /// Deleted for everyone.
    MessageDeleted {
        message_id: i64,
    },
    ChatCreated {
        chat: ChatSnapshot,
    },
    /// Title, description or avatar changed.
    ChatUpdated {
        chat: ChatSnapshot,
    },
    /// Also told to the new member directly, so that they follow the chat.
    MemberJoined {
        member: MemberSnapshot,
    },
    /// Role or nickname changed.
    MemberUpdated {
        member: MemberSnapshot,
    },
    /// The last event of the chat for that user, unless they join again.
    MemberLeft {
        user_id: i64,
        reason: LeaveReason,
    },
    /// `user_id` pinned `message_id` in the chat (`None`: unpinned).
    MessagePinned {
        message_id: Option<i64>,
        user_id: i64,
    },
    /// `user_id` deleted the chat for everyone (`None`: an operator purged
    /// it): the last event of the chat for every member.
    ChatDeleted {
        user_id: Option<i64>,
    },
    /// `user_id` added (`added`) or took back their `emoji` on
    /// `message_id`; `reactions` are the message's counts after it.
    ReactionsUpdated {
        message_id: i64,
        user_id: i64,
        emoji: String,
        added: bool,
        reactions: Vec<ReactionCount>,
    },
}

impl DomainEvent {
    /// The stored kind (`chat_events.type`).
    pub fn kind(&self) -> EventKind {
        match self {
            DomainEvent::MessageCreated { .. } => EventKind::MessageCreated,
            DomainEvent::MessageUpdated { .. } => EventKind::MessageUpdated,
            DomainEvent::MessageDeleted { .. } => EventKind::MessageDeleted,
            DomainEvent::ChatCreated { .. } => EventKind::ChatCreated,
            DomainEvent::ChatUpdated { .. } => EventKind::ChatUpdated,
            DomainEvent::MemberJoined { .. } => EventKind::MemberJoined,
            DomainEvent::MemberUpdated { .. } => EventKind::MemberUpdated,
            DomainEvent::MemberLeft { .. } => EventKind::MemberLeft,
            DomainEvent::MessagePinned { .. } => EventKind::MessagePinned,
            DomainEvent::ChatDeleted { .. } => EventKind::ChatDeleted,
            DomainEvent::ReactionsUpdated { .. } => EventKind::ReactionsUpdated,
        }
    }

    /// The message the event is about, if any (`chat_events.message_id`).
    pub fn message_id(&self) -> Option<i64> {
        match self {
            DomainEvent::MessageCreated { message } | DomainEvent::MessageUpdated { message } => {
                Some(message.id)
            }
            DomainEvent::MessageDeleted { message_id }
            | DomainEvent::ReactionsUpdated { message_id, .. } => Some(*message_id),
            _ => None,
        }
    }
}

/// A domain event at its place in its chat's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedEvent {
    /// [`VERSION`] when written.
    pub v: u32,
    pub chat_id: i64,
    pub seq: i64,
    pub event: DomainEvent,
}

/// A row of the log as read: a versioned domain event, or a row written
/// before them, which holds the native frame itself (sent as it is).
#[derive(Debug, Clone, PartialEq)]
pub enum StoredEvent {
    V1(LoggedEvent),
    Legacy(serde_json::Value),
}

impl StoredEvent {
    /// Reads a stored payload (without copying it for the versioned form).
    pub fn read(payload: serde_json::Value) -> StoredEvent {
        if payload.get("v").is_some()
            && let Ok(event) = LoggedEvent::deserialize(&payload)
        {
            return StoredEvent::V1(event);
        }
        StoredEvent::Legacy(payload)
    }

    /// Whether this event ends `user_id`'s view of the chat: their own
    /// `member_left`, or the chat's `chat_deleted`.
    pub fn ends_membership_of(&self, user_id: i64) -> bool {
        let deleted = match self {
            StoredEvent::V1(logged) => matches!(logged.event, DomainEvent::ChatDeleted { .. }),
            StoredEvent::Legacy(_) => false,
        };
        deleted || self.left_user() == Some(user_id)
    }

    /// The user whose `member_left` this is, if it is one.
    pub fn left_user(&self) -> Option<i64> {
        match self {
            StoredEvent::V1(LoggedEvent {
                event: DomainEvent::MemberLeft { user_id, .. },
                ..
            }) => Some(*user_id),
            StoredEvent::V1(_) => None,
            StoredEvent::Legacy(frame) => (frame["type"] == "member_left")
                .then(|| frame["user_id"].as_i64())
                .flatten(),
        }
    }
}

/// One entry of a replay, as the reader may see it.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplayItem {
    /// The logged event.
    Event(StoredEvent),
    /// An event about a message the reader hid (or cleared): its seq,
    /// without the content.
    Hidden {
        chat_id: i64,
        seq: i64,
        message_id: i64,
    },
}

/// What `GET /chats/{id}/events` reads: the events a socket would have
/// received; continue from `next_after_seq` while `has_more`.
#[derive(Debug, Clone)]
pub struct ChatEvents {
    pub chat_id: i64,
    pub events: Vec<ReplayItem>,
    pub next_after_seq: i64,
    pub last_seq: i64,
    pub has_more: bool,
    pub resync_required: bool,
}

/// What changed in one chat since the token.
#[derive(Debug, Clone)]
pub struct ChatUpdates {
    pub chat_id: i64,
    pub events: Vec<ReplayItem>,
    pub last_seq: i64,
    pub has_more: bool,
    pub resync_required: bool,
}

/// What `GET /updates` reads: the chats that changed, and the token to
/// pass next time (call again at once while `has_more`).
#[derive(Debug, Clone)]
pub struct Updates {
    pub chats: Vec<ChatUpdates>,
    /// Chats in the token that the caller no longer belongs to.
    pub left_chat_ids: Vec<i64>,
    pub token: String,
    pub has_more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_events_round_trip_and_old_rows_are_legacy() {
        let logged = LoggedEvent {
            v: VERSION,
            chat_id: 3,
            seq: 9,
            event: DomainEvent::MemberLeft {
                user_id: 5,
                reason: LeaveReason::Removed,
            },
        };
        let json = serde_json::to_value(&logged).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"v": 1, "chat_id": 3, "seq": 9,
                "event": {"kind": "member_left", "user_id": 5, "reason": "removed"}})
        );
        let stored = StoredEvent::read(json);
        assert_eq!(stored, StoredEvent::V1(logged));
        assert_eq!(stored.left_user(), Some(5));
        let old = serde_json::json!({"type": "member_left", "chat_id": 3, "seq": 9,
            "user_id": 5, "reason": "left"});
        let stored = StoredEvent::read(old);
        assert!(matches!(stored, StoredEvent::Legacy(_)));
        assert_eq!(stored.left_user(), Some(5));
    }
}
