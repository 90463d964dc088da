//! Seed 001's messages ("메시지 관리" 1–5) and their search ("고급 기능"
//! 1): each converts the request, calls the domain operation the native
//! API calls, and converts the answer back.

use actix_web::{HttpRequest, HttpResponse, web};
use parley_shared::domain::chats;
use parley_shared::domain::history;
use parley_shared::domain::kinds::MessageType;
use parley_shared::domain::messages::{self, MessageCreateRequest};
use parley_shared::domain::receipts;
use parley_shared::domain::search::{self, MessageSearchQuery};
use parley_shared::domain::uploads::{self, IncomingFile};
use parley_shared::{AppContext, AppError, AppResult};
use serde_json::json;

use super::convert::{
    CampusMessage, EditMessage, MessagePage, PageQuery, ReadAnswer, SearchPage, SearchQuery,
    SearchResult, SendMessage, file_message_type, file_type, highlight, paging, parse_message_type,
    time,
};
use super::error::{CampusResult, CampusUser};
use super::names::Names;
use crate::dialects::form::{self, Part};
use crate::extract::{JSON_LIMIT_BYTES, parse_json, read_limited};
use crate::state::ApiState;

/// The most parts a file message's form may have (the file, the fields).
const FORM_PARTS: usize = 8;
/// The most search hits a search reads (the domain's largest page).
const SEARCH_REACH: i64 = 100;

/// "1. 메시지 목록 조회" `GET /chat/rooms/{room_id}/messages/?page&size`:
/// newest first (page 1 holds the newest `size`), `size` 1–100 (default
/// 50). Messages deleted for everyone stay, `is_deleted: true` with no
/// content.
pub async fn page(
    state: web::Data<ApiState>,
    caller: CampusUser,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> CampusResult<HttpResponse> {
    let (page, size) = paging(query.page, query.size, 50)?;
    let room_id = path.into_inner();
    let ctx = &state.ctx;
    let detail = chats::get_chat(ctx, &caller, room_id).await?;
    let mut names = Names::of(&detail.members);
    let skip = (page - 1).saturating_mul(size);
    let views = history::list_messages_at(ctx, &caller, room_id, skip, size).await?;
    let total_count = history::count_messages(ctx, &caller, room_id).await?;
    let mut messages = Vec::with_capacity(views.len());
    // The domain answers oldest first; the document lists newest first.
    for view in views.iter().rev() {
        let sender = names.name(ctx, &caller, view.message.sender_id).await;
        messages.push(CampusMessage::new(&view.message, sender));
    }
    let shown = (page - 1).saturating_mul(size).saturating_add(size);
    Ok(HttpResponse::Ok().json(MessagePage {
        messages,
        total_count,
        has_more: total_count > shown,
    }))
}

/// What a send asks for, from JSON or a form.
struct Outgoing {
    text: String,
    message_type: Option<MessageType>,
    reply_to_message_id: Option<i64>,
    file: Option<Part>,
}

fn from_json(req: SendMessage) -> AppResult<Outgoing> {
    Ok(Outgoing {
        text: req.message_content,
        message_type: req
            .message_type
            .as_deref()
            .map(parse_message_type)
            .transpose()?,
        reply_to_message_id: req.reply_to_message_id,
        file: None,
    })
}

fn from_form(parts: Vec<Part>) -> AppResult<Outgoing> {
    let mut out = Outgoing {
        text: String::new(),
        message_type: None,
        reply_to_message_id: None,
        file: None,
    };
    for part in parts {
        match part.name.as_str() {
            // An empty file field is no file.
            "file"
                if !part.data.is_empty()
                    || part.file_name.as_deref().is_some_and(|n| !n.is_empty()) =>
            {
                out.file = Some(part);
            }
            "message_content" => out.text = part.text()?,
            "message_type" => out.message_type = Some(parse_message_type(&part.text()?)?),
            "reply_to_message_id" => {
                let text = part.text()?;
                let text = text.trim();
                if !text.is_empty() && text != "null" {
                    out.reply_to_message_id = Some(text.parse().map_err(|_| {
                        AppError::validation(
                            "reply_to_message_id",
                            "reply_to_message_id must be an integer.",
                        )
                    })?);
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Sends `out` as the caller; with a file, through
/// `uploads::send_with_files` (the media rules checked before anything is
/// sent or stored).
async fn deliver(
    ctx: &AppContext,
    caller: &CampusUser,
    room_id: i64,
    out: Outgoing,
) -> CampusResult<HttpResponse> {
    // Membership first (403 / 404), and the sender's name in the room.
    let detail = chats::get_chat(ctx, caller, room_id).await?;
    let sender = Names::of(&detail.members)
        .name(ctx, caller, Some(caller.user_id))
        .await;
    let Some(file) = out.file else {
        let request = MessageCreateRequest {
            chat_id: room_id,
            message_type: out.message_type,
            text: out.text,
            client_message_id: None,
            reply_to_message_id: out.reply_to_message_id,
        };
        let (view, _) = messages::send_message(ctx, caller.user_id, &request).await?;
        return Ok(HttpResponse::Created().json(CampusMessage::new(&view.message, sender)));
    };
    let file_name = file.file_name.clone().unwrap_or_else(|| file.name.clone());
    let file_type = file_type(file.content_type.as_deref(), &file_name);
    let request = MessageCreateRequest {
        chat_id: room_id,
        message_type: Some(file_message_type(out.message_type, &file_type)),
        text: out.text,
        client_message_id: None,
        reply_to_message_id: out.reply_to_message_id,
    };
    let incoming = IncomingFile {
        file_name,
        file_type,
        bytes: file.data,
    };
    let view = uploads::send_with_files(ctx, caller, &request, &[incoming]).await?;
    Ok(HttpResponse::Created().json(CampusMessage::new(&view.message, sender)))
}

/// "2. 메시지 전송" `POST /chat/rooms/{room_id}/messages/`: a text or a
/// reply as JSON (`message_content`, `message_type`,
/// `reply_to_message_id`), or a file message as `multipart/form-data`
/// (`message_content` the caption, `message_type`, `file`). 201 with the
/// message.
pub async fn send(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: CampusUser,
    path: web::Path<i64>,
    mut payload: web::Payload,
) -> CampusResult<HttpResponse> {
    let room_id = path.into_inner();
    let out = if form::is_form(req.headers()) {
        // The file, and the few text fields beside it.
        let limit =
            usize::try_from(state.ctx.settings.media.max_upload_size_bytes).unwrap_or(usize::MAX);
        from_form(form::read(req.headers(), payload, FORM_PARTS, limit).await?)?
    } else {
        let bytes = read_limited(&mut payload, JSON_LIMIT_BYTES).await?;
        from_json(parse_json(&bytes)?)?
    };
    deliver(&state.ctx, &caller, room_id, out).await
}

/// The room's members' names, once the message is known to be the room's
/// (a message of another room is 404).
async fn message_in(
    ctx: &AppContext,
    caller: &CampusUser,
    room_id: i64,
    message_id: i64,
) -> CampusResult<Names> {
    history::require_in_chat(ctx, caller, room_id, message_id).await?;
    let detail = chats::get_chat(ctx, caller, room_id).await?;
    Ok(Names::of(&detail.members))
}

/// "3. 메시지 수정" `PUT /chat/rooms/{room_id}/messages/{message_id}/`: the
/// sender edits the text; 200 with the message.
pub async fn edit(
    state: web::Data<ApiState>,
    caller: CampusUser,
    path: web::Path<(i64, i64)>,
    bytes: web::Bytes,
) -> CampusResult<HttpResponse> {
    let req: EditMessage = parse_json(&bytes)?;
    let (room_id, message_id) = path.into_inner();
    let ctx = &state.ctx;
    let mut names = message_in(ctx, &caller, room_id, message_id).await?;
    let view = messages::edit_message(ctx, &caller, message_id, &req.message_content).await?;
    let sender = names.name(ctx, &caller, view.message.sender_id).await;
    Ok(HttpResponse::Ok().json(CampusMessage::new(&view.message, sender)))
}

/// "4. 메시지 삭제" `DELETE /chat/rooms/{room_id}/messages/{message_id}/`:
/// for everyone (its sender; in a group also its owner, admins and
/// moderators). 200 `{"message_id", "room_id", "is_deleted": true}`.
pub async fn delete(
    state: web::Data<ApiState>,
    caller: CampusUser,
    path: web::Path<(i64, i64)>,
) -> CampusResult<HttpResponse> {
    let (room_id, message_id) = path.into_inner();
    message_in(&state.ctx, &caller, room_id, message_id).await?;
    messages::delete_message(&state.ctx, &caller, message_id, true).await?;
    Ok(HttpResponse::Ok().json(json!({
        "message_id": message_id,
        "room_id": room_id,
        "is_deleted": true,
    })))
}

/// "5. 메시지 읽음 처리" `POST /chat/rooms/{room_id}/read/`: everything up
/// to the room's last message is read. 200 `{"room_id",
/// "last_read_message_id"}` (`null` in a room without messages).
pub async fn read(
    state: web::Data<ApiState>,
    caller: CampusUser,
    path: web::Path<i64>,
) -> CampusResult<HttpResponse> {
    let room_id = path.into_inner();
    let positions = receipts::read_all(&state.ctx, &caller, room_id).await?;
    Ok(HttpResponse::Ok().json(ReadAnswer {
        room_id,
        last_read_message_id: positions.map(|p| p.last_read_message_id),
    }))
}

/// "1. 메시지 검색" `GET /chat/rooms/{room_id}/search/?query&page&size`:
/// the best matches first (the domain's ranking), `size` 1–100 (default
/// 20), over the best [`SEARCH_REACH`] matches; `query` is required (422).
pub async fn search(
    state: web::Data<ApiState>,
    caller: CampusUser,
    path: web::Path<i64>,
    query: web::Query<SearchQuery>,
) -> CampusResult<HttpResponse> {
    let (page, size) = paging(query.page, query.size, 20)?;
    let Some(text) = query.query.clone() else {
        return Err(AppError::validation("query", "query is required.").into());
    };
    let room_id = path.into_inner();
    let ctx = &state.ctx;
    let detail = chats::get_chat(ctx, &caller, room_id).await?;
    let request = MessageSearchQuery {
        query: Some(text.clone()),
        chat_id: Some(room_id),
        limit: Some(SEARCH_REACH),
    };
    let hits = search::search_messages(ctx, &caller, &request).await?;
    let total_count = hits.len() as i64;
    let skip = (page - 1).saturating_mul(size);
    let mut names = Names::of(&detail.members);
    let mut messages = Vec::new();
    let window = hits
        .iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(size).unwrap_or(0));
    for hit in window {
        let message = &hit.view.message;
        messages.push(SearchResult {
            message_id: message.id,
            sender_name: names.name(ctx, &caller, message.sender_id).await,
            message_content: message.text.clone().unwrap_or_default(),
            created_at: time(message.created_at),
            highlight: highlight(&hit.highlight, &text),
        });
    }
    Ok(HttpResponse::Ok().json(SearchPage {
        messages,
        total_count,
        has_more: total_count > skip.saturating_add(size),
    }))
}
