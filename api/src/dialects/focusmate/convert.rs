//! Seed 000's bodies and how Parley's views become them (one direction
//! each way; no rule here). Room and message ids are UUIDs ([`super::ids`]),
//! user ids decimal strings, times RFC 3339 in UTC with a `Z`
//! (`2025-12-12T10:00:00Z`).

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use parley_shared::domain::kinds::ChatType;
use parley_shared::domain::views::ChatView;
use parley_shared::wire::native::dto::MessageRead;
use parley_shared::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ids;

/// A time as seed 000 writes it.
pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Seed 000's `room_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomType {
    /// A Parley private chat.
    Direct,
    /// A Parley group or channel.
    Team,
    /// Study matching: Parley has no such rooms (the filter finds none).
    Matching,
}

impl RoomType {
    /// The `room_type` query value. Errors: 422 `room_type`.
    pub fn parse(text: &str) -> AppResult<RoomType> {
        match text.trim() {
            "direct" => Ok(RoomType::Direct),
            "team" => Ok(RoomType::Team),
            "matching" => Ok(RoomType::Matching),
            _ => Err(AppError::validation(
                "room_type",
                "room_type must be direct, team or matching.",
            )),
        }
    }

    /// The type of a Parley chat.
    pub fn of(chat: &ChatView) -> RoomType {
        match chat.row.chat_type {
            ChatType::Private => RoomType::Direct,
            ChatType::Group | ChatType::Channel => RoomType::Team,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RoomType::Direct => "direct",
            RoomType::Team => "team",
            RoomType::Matching => "matching",
        }
    }
}

/// A room's `metadata`: a direct room's two users (ascending), a team
/// room's privacy.
pub fn metadata(chat: &ChatView, me: i64) -> Value {
    match RoomType::of(chat) {
        RoomType::Direct => {
            let mut users = vec![me];
            users.extend(chat.row.counterpart_user_id.filter(|id| *id != me));
            users.sort_unstable();
            let users: Vec<String> = users.into_iter().map(ids::user).collect();
            json!({"type": "direct", "user_ids": users})
        }
        kind => json!({"type": kind.as_str(), "is_private": !chat.row.is_public}),
    }
}

/// `GET /rooms`: one room of the list.
#[derive(Debug, Serialize)]
pub struct RoomSummary {
    pub room_id: String,
    pub room_type: &'static str,
    pub room_name: String,
    pub description: Option<String>,
    pub metadata: Value,
    pub display_mode: &'static str,
    pub is_active: bool,
    pub unread_count: i64,
    pub last_message_at: Option<String>,
    pub created_at: String,
}

impl RoomSummary {
    pub fn new(chat: &ChatView, me: i64) -> Self {
        RoomSummary {
            room_id: ids::room(chat.row.id),
            room_type: RoomType::of(chat).as_str(),
            room_name: chat.display_title.clone(),
            description: chat.row.description.clone(),
            metadata: metadata(chat, me),
            // Parley shows every room the same way, and a room is active
            // until it is deleted (then it is no longer listed).
            display_mode: "open",
            is_active: true,
            unread_count: chat.row.unread_count,
            last_message_at: chat.row.last_message_created_at.map(time),
            created_at: time(chat.row.created_at),
        }
    }
}

/// `GET /rooms/{room_id}`, and the answer of the two creations.
#[derive(Debug, Serialize)]
pub struct RoomDetail {
    pub room_id: String,
    pub room_type: &'static str,
    pub room_name: String,
    pub description: Option<String>,
    pub metadata: Value,
    pub member_count: i64,
    pub created_at: String,
}

impl RoomDetail {
    pub fn new(chat: &ChatView, me: i64) -> Self {
        RoomDetail {
            room_id: ids::room(chat.row.id),
            room_type: RoomType::of(chat).as_str(),
            room_name: chat.display_title.clone(),
            description: chat.row.description.clone(),
            metadata: metadata(chat, me),
            member_count: chat.row.members_count,
            created_at: time(chat.row.created_at),
        }
    }
}

/// `GET /rooms?room_type`.
#[derive(Debug, Deserialize)]
pub struct RoomsQuery {
    pub room_type: Option<String>,
}

/// `POST /rooms/direct`.
#[derive(Debug, Deserialize)]
pub struct DirectRequest {
    /// A user id, as a string (the document's) or a number.
    pub recipient_id: Value,
}

/// The user a `recipient_id` names; anything but an integer names nobody
/// (404 `user_not_found`).
pub fn user_id(value: &Value) -> AppResult<i64> {
    let id = match value {
        Value::String(text) => text.trim().parse().ok(),
        Value::Number(number) => number.as_i64(),
        _ => None,
    };
    id.filter(|id| *id > 0)
        .ok_or_else(|| AppError::not_found("user_not_found", "User not found"))
}

/// `POST /rooms/team`.
#[derive(Debug, Deserialize)]
pub struct TeamRequest {
    /// Parley has no teams: checked to be a UUID, not kept.
    #[serde(default)]
    pub team_id: Option<String>,
    pub room_name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Every team room is a members-only group (see docs/dialects.md).
    #[serde(default)]
    #[allow(dead_code)]
    pub is_private: Option<bool>,
}

/// `GET /rooms/{room_id}/messages?limit&before_message_id`.
#[derive(Debug, Deserialize)]
pub struct MessagesQuery {
    pub limit: Option<i64>,
    pub before_message_id: Option<String>,
}

/// `POST /rooms/{room_id}/messages`.
#[derive(Debug, Deserialize)]
pub struct SendRequest {
    pub content: String,
    #[serde(default)]
    pub message_type: Option<String>,
    #[serde(default)]
    pub reply_to_id: Option<String>,
    #[serde(default)]
    pub thread_id: Option<String>,
}

/// `PATCH /rooms/{room_id}/messages/{message_id}`.
#[derive(Debug, Deserialize)]
pub struct EditRequest {
    pub content: String,
}

/// `GET /rooms/{room_id}/search?q&limit`.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    pub q: Option<String>,
    pub limit: Option<i64>,
}

/// `POST` / `DELETE …/react?emoji`.
#[derive(Debug, Deserialize)]
pub struct EmojiQuery {
    pub emoji: Option<String>,
}

/// A message id of a body or query (`reply_to_id`, `thread_id`,
/// `before_message_id`): one that is not a message UUID is 422 `field`.
pub fn message_field(field: &'static str, text: &str) -> AppResult<i64> {
    ids::decode(ids::Kind::Message, text)
        .ok_or_else(|| AppError::validation(field, format!("{field} is not a message id.")))
}

/// One emoji's reactions.
#[derive(Debug, Serialize)]
pub struct Reaction {
    pub emoji: String,
    /// Who reacted, in the order they did (empty in event frames).
    pub users: Vec<String>,
    pub count: i64,
}

impl Reaction {
    /// `count` reactions with `emoji`, by the users `reactors` lists for it.
    fn new(emoji: &str, count: i64, reactors: Option<&HashMap<String, Vec<i64>>>) -> Self {
        let users = reactors
            .and_then(|by_emoji| by_emoji.get(emoji))
            .map(|users| users.iter().copied().map(ids::user).collect())
            .unwrap_or_default();
        Reaction {
            emoji: emoji.to_owned(),
            users,
            count,
        }
    }
}

/// A file of a message.
#[derive(Debug, Serialize)]
pub struct Attachment {
    /// The members-only download route (it redirects to the file).
    pub url: String,
    /// The name it was uploaded with.
    pub file_name: String,
    pub file_type: String,
    pub file_size: i64,
}

/// A message as seed 000 shows it (the list's shape; `message`,
/// `message_updated` and the send's answer use it too).
#[derive(Debug, Serialize)]
pub struct Message {
    pub message_id: String,
    pub room_id: String,
    pub sender_id: Option<String>,
    pub content: String,
    pub message_type: &'static str,
    pub attachments: Option<Vec<Attachment>>,
    pub reactions: Vec<Reaction>,
    pub is_edited: bool,
    pub is_deleted: bool,
    pub reply_to_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Message {
    /// A native message; `reactors` says who reacted with each emoji (REST
    /// answers give [`who_reacted`]'s; event frames, shared by every
    /// member, give `None` and list no users).
    ///
    /// [`who_reacted`]: parley_shared::domain::reactions::who_reacted
    pub fn new(message: &MessageRead, reactors: Option<&HashMap<String, Vec<i64>>>) -> Self {
        let attachments: Vec<Attachment> = message
            .attachments
            .iter()
            .map(|a| Attachment {
                url: a.file_url.clone(),
                file_name: a.file_name.clone(),
                file_type: a.file_type.clone(),
                file_size: a.file_size,
            })
            .collect();
        Message {
            message_id: ids::message(message.id),
            room_id: ids::room(message.chat_id),
            sender_id: message.sender_id.map(ids::user),
            content: message.text.clone().unwrap_or_default(),
            message_type: message.message_type.as_str(),
            attachments: (!attachments.is_empty()).then_some(attachments),
            reactions: message
                .reactions
                .iter()
                .map(|r| Reaction::new(&r.emoji, r.count, reactors))
                .collect(),
            is_edited: message.edited_at.is_some(),
            is_deleted: message.deleted,
            reply_to_id: message.reply_to_message_id.map(ids::message),
            created_at: time(message.created_at),
            updated_at: time(message.updated_at),
        }
    }
}

/// A message's reactions: `counts` most used first, each with who
/// reacted (`reactors` of this message).
pub fn reactions(
    counts: &[parley_shared::domain::events::ReactionCount],
    reactors: Option<&HashMap<String, Vec<i64>>>,
) -> Vec<Reaction> {
    counts
        .iter()
        .map(|r| Reaction::new(&r.emoji, r.count, reactors))
        .collect()
}

/// A page of messages (the list and search).
#[derive(Debug, Serialize)]
pub struct Page {
    pub messages: Vec<Message>,
    pub total: i64,
    pub has_more: bool,
}
