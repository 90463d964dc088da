//! Seed 002's bodies and how Parley's views become them (one direction
//! each way; no rule here). Times are `yyyy-MM-ddTHH:mm:ss` in UTC, the
//! document's `LocalDateTime` shape; ids are integers.

use chrono::{DateTime, Utc};
use parley_shared::domain::views::{ChatView, DeliveryStatus, MessageView};
use serde::{Deserialize, Serialize};

/// Seed 002's user type: Parley has no student / teacher distinction.
pub const USER_TYPE: &str = "USER";

/// A time as seed 002 writes it.
pub fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// §1: one conversation of the list.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationSummary {
    pub conversation_id: i64,
    pub other_user_id: Option<i64>,
    pub other_user_name: String,
    pub other_user_profile_image_url: Option<String>,
    pub other_user_type: &'static str,
    pub last_message: Option<String>,
    pub last_message_at: Option<String>,
    pub unread_count: i64,
}

impl From<&ChatView> for ConversationSummary {
    fn from(chat: &ChatView) -> Self {
        ConversationSummary {
            conversation_id: chat.row.id,
            other_user_id: chat.row.counterpart_user_id,
            other_user_name: chat.display_title.clone(),
            other_user_profile_image_url: chat.avatar_url.clone(),
            other_user_type: USER_TYPE,
            last_message: chat.row.last_message_text.clone(),
            last_message_at: chat.row.last_message_created_at.map(time),
            unread_count: chat.row.unread_count,
        }
    }
}

/// §2, §3: a conversation.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub conversation_id: i64,
    pub other_user_id: Option<i64>,
    pub other_user_name: String,
    pub other_user_profile_image_url: Option<String>,
    pub other_user_type: &'static str,
    pub created_at: String,
}

impl From<&ChatView> for Conversation {
    fn from(chat: &ChatView) -> Self {
        Conversation {
            conversation_id: chat.row.id,
            other_user_id: chat.row.counterpart_user_id,
            other_user_name: chat.display_title.clone(),
            other_user_profile_image_url: chat.avatar_url.clone(),
            other_user_type: USER_TYPE,
            created_at: time(chat.row.created_at),
        }
    }
}

/// §7 request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendRequest {
    pub conversation_id: i64,
    pub content: String,
}

/// §7 answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sent {
    pub message_id: i64,
    pub conversation_id: i64,
    pub sender_id: i64,
    pub sender_name: String,
    pub content: String,
    pub sent_at: String,
    pub is_read: bool,
}

/// §8 request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkRequest {
    pub receiver_ids: Vec<i64>,
    pub content: String,
}

/// §8: one receiver's message.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkSent {
    pub message_id: i64,
    pub conversation_id: i64,
    pub receiver_id: i64,
    pub content: String,
    pub sent_at: String,
}

/// §8 when the send went to the worker (more receivers than
/// `BULK_SYNC_MAX`; the document shows only the synchronous answer).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkQueued {
    pub job_id: String,
}

/// §9 query.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub cursor: Option<i64>,
    pub size: Option<i64>,
}

/// §9: one message of a page.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageMessage {
    pub message_id: i64,
    pub sender_id: Option<i64>,
    pub sender_name: String,
    pub sender_profile_image_url: Option<String>,
    pub content: String,
    pub sent_at: String,
    pub is_read: bool,
    pub is_mine: bool,
}

impl PageMessage {
    /// `view` as `viewer_id` sees it; `sender` is the sender's name and
    /// avatar.
    pub fn new(view: &MessageView, viewer_id: i64, sender: (String, Option<String>)) -> Self {
        let message = &view.message;
        PageMessage {
            message_id: message.id,
            sender_id: message.sender_id,
            sender_name: sender.0,
            sender_profile_image_url: sender.1,
            content: message.text.clone().unwrap_or_default(),
            sent_at: time(message.created_at),
            // Mine: the other has read it; theirs: I have.
            is_read: view.delivery_status == DeliveryStatus::Read,
            is_mine: message.sender_id == Some(viewer_id),
        }
    }
}

/// §9 answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub messages: Vec<PageMessage>,
    pub next_cursor: Option<i64>,
    pub has_next: bool,
}
