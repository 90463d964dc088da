//! What domain reads return: a message, a chat or a session's tokens as
//! one caller sees them, with no API's field names. Each transport renders
//! them (the native API: `crate::wire::native::render`); a dialect renders
//! the same views its own way.

use chrono::{DateTime, Utc};

use crate::domain::events::{MemberSnapshot, MessageSnapshot};
use crate::domain::models::chat::ChatListRow;
use crate::domain::models::{Chat, User};

/// How far the other members got with a message, as its sender sees it
/// (seed 004 §3.4 `delivery_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Sent,
    Delivered,
    Read,
}

impl DeliveryStatus {
    /// `sent` / `delivered` / `read`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
        }
    }
}

/// A message as one reader sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageView {
    pub message: MessageSnapshot,
    pub delivery_status: DeliveryStatus,
    /// The emojis the reader reacted with.
    pub my_reactions: Vec<String>,
}

/// A private chat's counterpart's presence, when their privacy lets the
/// viewer see it (seed 004 §3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterpartPresence {
    pub is_online: bool,
    /// `None` while online, or when never seen.
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// A chat as one member sees it (seed 004 §3.3 `ChatRead`): the list row,
/// and what is derived from it for this viewer.
#[derive(Debug, Clone)]
pub struct ChatView {
    pub row: ChatListRow,
    /// The title; for a private chat, the counterpart's name (or "Deleted
    /// account").
    pub display_title: String,
    /// The chat's avatar; for a private chat, the counterpart's.
    pub avatar_url: Option<String>,
    /// Members online now (computed for private chats).
    pub online_count: i64,
    /// Channels only: their member count.
    pub subscribers_count: Option<i64>,
    /// `None` when hidden by privacy, or not a private chat.
    pub counterpart_presence: Option<CounterpartPresence>,
}

/// A chat with its members (`GET /chats/{id}`).
#[derive(Debug, Clone)]
pub struct ChatDetail {
    pub chat: ChatView,
    /// In joining order.
    pub members: Vec<MemberSnapshot>,
}

/// A public group or channel as discovery shows it (seed 004 §7).
#[derive(Debug, Clone)]
pub struct PublicChat {
    pub chat: Chat,
    pub members_count: i64,
    /// Whether the caller is already a member.
    pub is_member: bool,
}

/// A member's notification settings of a chat (seed 004 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationSettings {
    pub chat_id: i64,
    pub user_id: i64,
    pub muted: bool,
}

/// A chat's settings (seed 001's room settings), the same for every
/// member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatSettings {
    pub chat_id: i64,
    /// Messages older than this many days are removed; `None` keeps them.
    pub retention_days: Option<i32>,
    /// Members' read positions are shown to the others.
    pub read_receipts_enabled: bool,
}

/// The caller's own account (seed 004 §3.1 `AuthUserResponse`).
#[derive(Debug, Clone)]
pub struct AccountView {
    pub user: User,
    pub twofa_enabled: bool,
}

/// The tokens of a session (seed 004 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// The access token's lifetime in seconds.
    pub expires_in: i64,
}

/// A receiver of a bulk send who got no message, and why (the refusal's
/// code and detail).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BulkFailure {
    pub receiver_id: i64,
    pub code: String,
    pub detail: String,
}

/// A bulk job as `GET /jobs/{id}` shows it.
#[derive(Debug, Clone)]
pub struct JobView {
    pub job: crate::domain::models::bulk_job::BulkJob,
    pub failures: Vec<BulkFailure>,
}

/// A presigned upload, as `POST /media/upload-url` answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadUrl {
    pub upload_url: String,
    pub file_url: String,
    pub object_key: String,
    pub expires_in: u64,
    pub required_headers: std::collections::BTreeMap<String, String>,
}

/// One attachment of a chat's media list.
#[derive(Debug, Clone)]
pub struct ChatAttachment {
    pub attachment: crate::domain::models::attachment::Attachment,
    pub sender_id: Option<i64>,
    pub message_type: String,
    pub message_created_at: chrono::DateTime<Utc>,
}

/// A message found by search, with the matched parts of its text marked
/// (`<em>`…`</em>`).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub view: MessageView,
    pub highlight: String,
}
