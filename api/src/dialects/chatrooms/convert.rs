//! Seed 003's bodies: string ids, `admin | sub-admin | member` roles,
//! RFC 3339 times (`2025-07-15T14:00:00Z`), and `edited_name` (the
//! member's nickname, `""` when unset).

use chrono::{DateTime, SecondsFormat, Utc};
use parley_shared::domain::events::MemberSnapshot;
use parley_shared::domain::kinds::MemberRole;
use parley_shared::domain::recent::RecentMessage;
use parley_shared::domain::views::{ChatDetail, MessageView};
use parley_shared::{AppError, AppResult};
use serde::{Deserialize, Serialize};

/// A time as seed 003 writes it.
pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A seed 003 id (a string) as Parley's integer; anything else names
/// nothing (404 with `missing`).
pub fn id(text: &str, missing: fn() -> AppError) -> AppResult<i64> {
    text.trim().parse().map_err(|_| missing())
}

/// Seed 003's role of a Parley role: the owner and admins are `admin`,
/// moderators `sub-admin`.
pub fn role(role: MemberRole) -> &'static str {
    match role {
        MemberRole::Owner | MemberRole::Admin => "admin",
        MemberRole::Moderator => "sub-admin",
        MemberRole::Member => "member",
    }
}

/// Parley's role for a seed 003 role. Errors: 422 `role`.
pub fn parse_role(text: &str) -> AppResult<MemberRole> {
    match text {
        "admin" => Ok(MemberRole::Admin),
        "sub-admin" => Ok(MemberRole::Moderator),
        "member" => Ok(MemberRole::Member),
        _ => Err(AppError::validation(
            "role",
            "role must be admin, sub-admin or member.",
        )),
    }
}

/// A participant.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub user_id: String,
    #[serde(rename = "edited_name")]
    pub edited_name: String,
    pub role: &'static str,
}

impl From<&MemberSnapshot> for Participant {
    fn from(member: &MemberSnapshot) -> Self {
        Participant {
            user_id: member.user_id.to_string(),
            edited_name: member.nickname.clone().unwrap_or_default(),
            role: role(member.role),
        }
    }
}

/// §1.1's answer, and what the other room changes answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    pub room_id: String,
    pub name: String,
    pub created_at: String,
    pub participants: Vec<Participant>,
    pub user_count: usize,
}

impl From<&ChatDetail> for Room {
    fn from(detail: &ChatDetail) -> Self {
        Room {
            room_id: detail.chat.row.id.to_string(),
            name: detail.chat.display_title.clone(),
            created_at: time(detail.chat.row.created_at),
            participants: detail.members.iter().map(Participant::from).collect(),
            user_count: detail.members.len(),
        }
    }
}

/// §1.1 request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRoom {
    pub creator_id: String,
    pub target_user_ids: Vec<String>,
    #[serde(default)]
    pub name: Option<String>,
    // `createdAt` is ignored: the server stamps the time.
}

/// §1.2 request.
#[derive(Debug, Deserialize)]
pub struct Rename {
    pub name: String,
}

/// §1.3 request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddParticipant {
    pub user_id: String,
    #[serde(default)]
    pub role: Option<String>,
}

/// §1.5 request.
#[derive(Debug, Deserialize)]
pub struct SetRole {
    pub role: String,
}

/// §1.5.1 request.
#[derive(Debug, Deserialize)]
pub struct SetName {
    pub edited_name: String,
}

/// §2.1 request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessage {
    pub user_id: String,
    pub content: String,
}

/// §2.1 answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentMessage {
    pub message_id: String,
    pub room_id: String,
    pub user_id: String,
    pub content: String,
    pub created_at: String,
}

impl From<MessageView> for SentMessage {
    fn from(view: MessageView) -> Self {
        let message = view.message;
        SentMessage {
            message_id: message.id.to_string(),
            room_id: message.chat_id.to_string(),
            user_id: message
                .sender_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            content: message.text.unwrap_or_default(),
            created_at: time(message.created_at),
        }
    }
}

/// §2.2 and §2.4 requests: only who asks.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Caller {
    pub user_id: String,
}

/// §2.3 request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EditMessage {
    pub user_id: String,
    pub new_content: String,
}

/// §2.5 request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct React {
    pub user_id: String,
    pub reaction_type: String,
}

/// The emoji of a seed 003 `reactionType`. Errors: 422 `reactionType`.
pub fn reaction_emoji(kind: &str) -> AppResult<&'static str> {
    Ok(match kind {
        "like" => "👍",
        "love" => "❤️",
        "laugh" => "😂",
        "sad" => "😢",
        "angry" => "😠",
        "wow" => "😮",
        _ => {
            return Err(AppError::validation(
                "reactionType",
                "reactionType must be like, love, laugh, sad, angry or wow.",
            ));
        }
    })
}

/// The seed 003 `reactionType` of an emoji; another emoji (set through
/// another API) is given as it is.
pub fn reaction_type(emoji: &str) -> &str {
    match emoji {
        "👍" => "like",
        "❤️" => "love",
        "😂" => "laugh",
        "😢" => "sad",
        "😠" => "angry",
        "😮" => "wow",
        other => other,
    }
}

/// One message of seed 003's chat data (`{"userId", "content",
/// "timestamp"}`), with its id.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatLine {
    pub message_id: String,
    pub user_id: String,
    pub content: String,
    pub timestamp: String,
}

impl From<&RecentMessage> for ChatLine {
    fn from(m: &RecentMessage) -> Self {
        ChatLine {
            message_id: m.id.to_string(),
            user_id: m.sender_id.map(|id| id.to_string()).unwrap_or_default(),
            content: m.text.clone(),
            timestamp: time(m.created_at),
        }
    }
}

/// Seed 003's chat data: a room's recent messages, oldest first (§3.1's
/// answer and the socket's `joined`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatData {
    pub chatroom_id: String,
    pub messages: Vec<ChatLine>,
}

impl ChatData {
    pub fn new(chat_id: i64, messages: &[RecentMessage]) -> ChatData {
        ChatData {
            chatroom_id: chat_id.to_string(),
            messages: messages.iter().map(ChatLine::from).collect(),
        }
    }
}
