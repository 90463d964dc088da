//! Seed 001's bodies and how Parley's views become them (one direction
//! each way; no rule here). Times are `yyyy-MM-ddTHH:mm:ss` in UTC (the
//! document's `2025-09-02T11:03:17`); ids are integers.

use chrono::{DateTime, Utc};
use parley_shared::domain::events::{MemberSnapshot, MessageSnapshot};
use parley_shared::domain::kinds::{ChatType, MessageType};
use parley_shared::domain::media::ALLOWED_TYPES;
use parley_shared::domain::views::ChatView;
use parley_shared::{AppError, AppResult};
use serde::{Deserialize, Serialize};

/// A time as seed 001 writes it.
pub fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// `direct` for a private chat, `group` for a group or a channel.
pub fn room_type(chat_type: ChatType) -> &'static str {
    match chat_type {
        ChatType::Private => "direct",
        ChatType::Group | ChatType::Channel => "group",
    }
}

/// Parley's chat type for a `room_type`; without one, `direct` for a
/// single other participant and `group` otherwise. Errors: 422
/// `room_type`.
pub fn parse_room_type(text: Option<&str>, others: usize) -> AppResult<ChatType> {
    match text.map(str::trim) {
        Some("direct") => Ok(ChatType::Private),
        Some("group") => Ok(ChatType::Group),
        None if others == 1 => Ok(ChatType::Private),
        None => Ok(ChatType::Group),
        Some(_) => Err(AppError::validation(
            "room_type",
            "room_type must be direct or group.",
        )),
    }
}

/// The document's message type of a Parley message: `text`, `image`,
/// `voice`, or `file` (Parley's video, audio and round videos too).
pub fn message_type(kind: MessageType) -> &'static str {
    match kind {
        MessageType::Text => "text",
        MessageType::Image => "image",
        MessageType::Voice => "voice",
        MessageType::File | MessageType::Video | MessageType::Audio | MessageType::CircleVideo => {
            "file"
        }
    }
}

/// Parley's message type for a `message_type` (also Parley's own `video`
/// and `audio`). Errors: 422 `message_type` (`location`, or anything
/// else).
pub fn parse_message_type(text: &str) -> AppResult<MessageType> {
    text.trim().parse::<MessageType>().map_err(|_| {
        AppError::validation(
            "message_type",
            "message_type must be text, image, file or voice.",
        )
    })
}

/// The MIME type of an uploaded file: the part's own when Parley takes
/// it, else the one its extension names (a Flutter `MultipartFile` sends
/// `application/octet-stream` unless told), else the part's as given (the
/// upload then refuses it).
pub fn file_type(given: Option<&str>, file_name: &str) -> String {
    let given = given.map(|t| t.split(';').next().unwrap_or(t).trim().to_ascii_lowercase());
    if let Some(mime) = &given
        && ALLOWED_TYPES
            .iter()
            .any(|(allowed, _)| *allowed == mime.as_str())
    {
        return mime.clone();
    }
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let extension = if extension == "jpeg" {
        "jpg"
    } else {
        extension.as_str()
    };
    if let Some((mime, _)) = ALLOWED_TYPES.iter().find(|(_, e)| *e == extension) {
        return (*mime).to_owned();
    }
    given.unwrap_or_else(|| "application/octet-stream".to_owned())
}

/// The type of a message that carries a file: the one asked for, or (none,
/// or `text`, which carries no file) `image` for an image and `file` for
/// anything else.
pub fn file_message_type(asked: Option<MessageType>, file_type: &str) -> MessageType {
    match asked {
        Some(kind) if kind != MessageType::Text => kind,
        _ if file_type.starts_with("image/") => MessageType::Image,
        _ => MessageType::File,
    }
}

/// A member's name in a room: their nickname there, else their name.
pub fn display_name(name: &str, nickname: Option<&str>) -> String {
    nickname
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(name)
        .to_owned()
}

/// When the room last changed, as the list shows it: its last message,
/// else its creation.
fn updated_at(chat: &ChatView) -> DateTime<Utc> {
    chat.row
        .last_message_created_at
        .map_or(chat.row.created_at, |at| at.max(chat.row.created_at))
}

/// A room of `GET /chat/rooms/` and the answer of `POST /chat/rooms/`.
#[derive(Debug, Serialize)]
pub struct Room {
    pub room_id: i64,
    pub room_name: String,
    pub room_type: &'static str,
    pub created_by: Option<i64>,
    pub is_active: bool,
    pub created_at: String,
    pub updated_at: String,
    pub participant_count: i64,
    pub last_message: Option<String>,
    pub unread_count: i64,
}

impl Room {
    pub fn new(chat: &ChatView) -> Self {
        Room {
            room_id: chat.row.id,
            room_name: chat.display_title.clone(),
            room_type: room_type(chat.row.chat_type),
            created_by: chat.row.created_by,
            is_active: true,
            created_at: time(chat.row.created_at),
            updated_at: time(updated_at(chat)),
            participant_count: chat.row.members_count,
            last_message: chat.row.last_message_text.clone(),
            unread_count: chat.row.unread_count,
        }
    }
}

/// `GET /chat/rooms/`.
#[derive(Debug, Serialize)]
pub struct RoomList {
    pub rooms: Vec<Room>,
    pub total_count: usize,
}

/// `GET /chat/rooms/{room_id}/`.
#[derive(Debug, Serialize)]
pub struct RoomDetail {
    pub room_id: i64,
    pub room_name: String,
    pub room_type: &'static str,
    pub room_description: Option<String>,
    /// Parley has no participant limit: `null`.
    pub max_participants: Option<i64>,
    pub created_by: Option<i64>,
    pub is_active: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl RoomDetail {
    pub fn new(chat: &ChatView) -> Self {
        RoomDetail {
            room_id: chat.row.id,
            room_name: chat.display_title.clone(),
            room_type: room_type(chat.row.chat_type),
            room_description: chat.row.description.clone(),
            max_participants: None,
            created_by: chat.row.created_by,
            is_active: true,
            created_at: time(chat.row.created_at),
            updated_at: time(updated_at(chat)),
        }
    }
}

/// `POST /chat/rooms/` request.
#[derive(Debug, Deserialize)]
pub struct CreateRoom {
    #[serde(default)]
    pub room_name: Option<String>,
    #[serde(default)]
    pub room_type: Option<String>,
    #[serde(default)]
    pub room_description: Option<String>,
    #[serde(default)]
    pub participant_ids: Vec<i64>,
}

/// One participant.
#[derive(Debug, Serialize)]
pub struct Participant {
    pub id: i64,
    pub room_id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub joined_at: String,
    /// The time of the last message the participant read (every message
    /// up to it is read); `null` before any, or while the room's read
    /// receipts are off (but for the caller's own).
    pub last_read_at: Option<String>,
    pub is_active: bool,
}

impl Participant {
    /// `member` of `room_id`, who read up to `last_read_at`.
    pub fn new(room_id: i64, member: &MemberSnapshot, last_read_at: Option<DateTime<Utc>>) -> Self {
        Participant {
            id: member.id,
            room_id,
            user_id: member.user_id,
            user_name: display_name(&member.name, member.nickname.as_deref()),
            joined_at: time(member.joined_at),
            last_read_at: last_read_at.map(time),
            is_active: true,
        }
    }
}

/// `GET /chat/rooms/{room_id}/participants/`.
#[derive(Debug, Serialize)]
pub struct Participants {
    pub participants: Vec<Participant>,
    pub total_count: usize,
}

/// A message as the document shows it.
#[derive(Debug, Serialize)]
pub struct CampusMessage {
    pub message_id: i64,
    pub room_id: i64,
    pub sender_id: Option<i64>,
    pub sender_name: String,
    pub message_content: String,
    pub message_type: &'static str,
    pub file_url: Option<String>,
    pub file_name: Option<String>,
    pub file_size: Option<i64>,
    pub reply_to_message_id: Option<i64>,
    pub is_edited: bool,
    pub is_deleted: bool,
    pub edited_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl CampusMessage {
    /// `message` sent by `sender_name`; `file_*` describe its first file.
    pub fn new(message: &MessageSnapshot, sender_name: String) -> Self {
        let file = message.attachments.first();
        CampusMessage {
            message_id: message.id,
            room_id: message.chat_id,
            sender_id: message.sender_id,
            sender_name,
            message_content: message.text.clone().unwrap_or_default(),
            message_type: message_type(message.message_type),
            file_url: file.map(|f| f.file_url.clone()),
            file_name: file.map(|f| f.file_name.clone()),
            file_size: file.map(|f| f.file_size),
            reply_to_message_id: message.reply_to_message_id,
            is_edited: message.edited_at.is_some(),
            is_deleted: message.deleted,
            edited_at: message.edited_at.map(time),
            created_at: time(message.created_at),
            updated_at: time(message.updated_at),
        }
    }
}

/// `page` and `size` (the messages' and the search's).
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub page: Option<i64>,
    pub size: Option<i64>,
}

/// `page` (from 1) and `size` (1–100, `default` when absent). Errors: 422
/// `page`, `size`.
pub fn paging(page: Option<i64>, size: Option<i64>, default: i64) -> AppResult<(i64, i64)> {
    let page = page.unwrap_or(1);
    let size = size.unwrap_or(default);
    if page < 1 {
        return Err(AppError::validation("page", "page must be 1 or more."));
    }
    if !(1..=100).contains(&size) {
        return Err(AppError::validation("size", "size must be 1 to 100."));
    }
    Ok((page, size))
}

/// `GET /chat/rooms/{room_id}/messages/`.
#[derive(Debug, Serialize)]
pub struct MessagePage {
    pub messages: Vec<CampusMessage>,
    pub total_count: i64,
    pub has_more: bool,
}

/// `POST /chat/rooms/{room_id}/messages/` as JSON.
#[derive(Debug, Deserialize)]
pub struct SendMessage {
    pub message_content: String,
    #[serde(default)]
    pub message_type: Option<String>,
    #[serde(default)]
    pub reply_to_message_id: Option<i64>,
}

/// `PUT /chat/rooms/{room_id}/messages/{message_id}/`.
#[derive(Debug, Deserialize)]
pub struct EditMessage {
    pub message_content: String,
}

/// `GET /chat/rooms/{room_id}/search/` query.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    pub query: Option<String>,
    pub page: Option<i64>,
    pub size: Option<i64>,
}

/// One search hit.
#[derive(Debug, Serialize)]
pub struct SearchResult {
    pub message_id: i64,
    pub sender_name: String,
    pub message_content: String,
    pub created_at: String,
    pub highlight: String,
}

/// `GET /chat/rooms/{room_id}/search/`.
#[derive(Debug, Serialize)]
pub struct SearchPage {
    pub messages: Vec<SearchResult>,
    pub total_count: i64,
    pub has_more: bool,
}

/// The document's `highlight` (the matched words, `"안녕하세요"`) from
/// Parley's (the text with the matches in `<em>`…`</em>`): the marked
/// parts in order, each once, joined by spaces; the query when nothing is
/// marked (a match Meilisearch made by a word's stem).
pub fn highlight(marked: &str, query: &str) -> String {
    let mut terms: Vec<&str> = Vec::new();
    let mut rest = marked;
    while let Some(start) = rest.find("<em>") {
        let after = &rest[start + "<em>".len()..];
        let Some(end) = after.find("</em>") else {
            break;
        };
        let term = &after[..end];
        if !term.is_empty() && !terms.contains(&term) {
            terms.push(term);
        }
        rest = &after[end + "</em>".len()..];
    }
    if terms.is_empty() {
        query.trim().to_owned()
    } else {
        terms.join(" ")
    }
}

/// The answer of `POST /chat/rooms/{room_id}/read/`.
#[derive(Debug, Serialize)]
pub struct ReadAnswer {
    pub room_id: i64,
    pub last_read_message_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_are_the_marked_words() {
        assert_eq!(
            highlight("<em>안녕하세요</em>! 반갑습니다", "안녕하세요"),
            "안녕하세요"
        );
        assert_eq!(
            highlight("<em>a</em> b <em>c</em> <em>a</em>", "a c"),
            "a c"
        );
        assert_eq!(highlight("nothing marked", " query "), "query");
    }

    #[test]
    fn files_get_a_type_from_their_name_when_the_part_has_none() {
        assert_eq!(file_type(Some("image/png"), "x.bin"), "image/png");
        assert_eq!(
            file_type(Some("application/octet-stream"), "cat.JPEG"),
            "image/jpeg"
        );
        assert_eq!(file_type(None, "notes.txt"), "text/plain");
        assert_eq!(file_type(Some("text/html"), "page.html"), "text/html");
        assert_eq!(file_message_type(None, "image/png"), MessageType::Image);
        assert_eq!(
            file_message_type(Some(MessageType::Text), "application/pdf"),
            MessageType::File
        );
        assert_eq!(
            file_message_type(Some(MessageType::Voice), "audio/ogg"),
            MessageType::Voice
        );
    }
}
