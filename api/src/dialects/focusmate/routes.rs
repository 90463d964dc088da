//! Seed 000's REST endpoints (rooms, messages, search, read, reactions;
//! the upload is in [`super::upload`]): each converts the request, calls
//! the domain operation the native API calls, and converts the answer
//! back.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use parley_shared::domain::caller::AuthContext;
use parley_shared::domain::chats::{self, ChatCreateRequest};
use parley_shared::domain::history;
use parley_shared::domain::kinds::{ChatType, MessageType};
use parley_shared::domain::messages::{self, MessageCreateRequest};
use parley_shared::domain::reactions::{self, ReactionChange, ReactionToggleRequest};
use parley_shared::domain::receipts;
use parley_shared::domain::search::{self, MessageSearchQuery};
use parley_shared::domain::validate;
use parley_shared::domain::views::{ChatView, MessageView};
use parley_shared::wire::native::render;
use parley_shared::{AppContext, AppError, AppResult};
use serde_json::json;

use super::convert::{
    DirectRequest, EditRequest, EmojiQuery, Message, MessagesQuery, Page, RoomDetail, RoomSummary,
    RoomType, RoomsQuery, SearchQuery, SendRequest, TeamRequest, message_field,
    reactions as reaction_list, time, user_id,
};
use super::error::{FocusResult, FocusUser, message_not_found, room_not_found};
use super::ids::{self, Kind};
use crate::extract::parse_json;
use crate::state::ApiState;

/// The room a path's `room_id` names (404 for anything that is not a
/// room UUID).
pub(super) fn room_id(text: &str) -> AppResult<i64> {
    ids::decode(Kind::Room, text).ok_or_else(room_not_found)
}

/// `views` of `room` in seed 000's shape, each reaction with who reacted.
async fn with_reactors<'a>(
    ctx: &AppContext,
    auth: &AuthContext,
    room: i64,
    views: impl Iterator<Item = &'a MessageView>,
) -> AppResult<Vec<Message>> {
    let views: Vec<&MessageView> = views.collect();
    let ids: Vec<i64> = views.iter().map(|v| v.message.id).collect();
    let reactors = reactions::who_reacted(ctx, auth, room, &ids).await?;
    Ok(views
        .into_iter()
        .map(|v| Message::new(&render::message_view(v), reactors.get(&v.message.id)))
        .collect())
}

/// A message id under its room: the room first (404 / 403 about it),
/// then the message, which must be the room's (404 otherwise, also for a
/// message of a room the caller is not in).
async fn message_in(ctx: &AppContext, auth: &AuthContext, room: i64, text: &str) -> AppResult<i64> {
    let id = ids::decode(Kind::Message, text).ok_or_else(message_not_found)?;
    history::require_in_chat(ctx, auth, room, id).await?;
    Ok(id)
}

/// `GET /rooms?room_type`: every room of the caller (archived ones too;
/// not Saved Messages), latest activity first.
pub async fn rooms(
    state: web::Data<ApiState>,
    caller: FocusUser,
    query: web::Query<RoomsQuery>,
) -> FocusResult<HttpResponse> {
    let wanted = query
        .room_type
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(RoomType::parse)
        .transpose()?;
    let rooms: Vec<ChatView> = chats::all_chats(&state.ctx, &caller)
        .await?
        .into_iter()
        .filter(|c| !c.row.is_saved && wanted.is_none_or(|kind| RoomType::of(c) == kind))
        .collect();
    let body: Vec<RoomSummary> = rooms
        .iter()
        .map(|c| RoomSummary::new(c, caller.user_id))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"total": body.len(), "rooms": body})))
}

/// `POST /rooms/direct {recipient_id}`: the private chat with that user,
/// made on first use, from either side.
pub async fn direct(
    state: web::Data<ApiState>,
    caller: FocusUser,
    bytes: web::Bytes,
) -> FocusResult<HttpResponse> {
    let req: DirectRequest = parse_json(&bytes)?;
    let request = ChatCreateRequest {
        chat_type: ChatType::Private,
        title: None,
        handle: None,
        description: None,
        is_public: false,
        member_ids: vec![user_id(&req.recipient_id)?],
    };
    let (chat, _) = chats::create_chat(&state.ctx, &caller, request).await?;
    Ok(HttpResponse::Created().json(RoomDetail::new(&chat, caller.user_id)))
}

/// `POST /rooms/team {team_id, room_name, description, is_private}`: a
/// group owned by the caller.
pub async fn team(
    state: web::Data<ApiState>,
    caller: FocusUser,
    bytes: web::Bytes,
) -> FocusResult<HttpResponse> {
    let req: TeamRequest = parse_json(&bytes)?;
    if let Some(team) = req.team_id.as_deref().filter(|t| !t.trim().is_empty())
        && uuid::Uuid::parse_str(team.trim()).is_err()
    {
        return Err(AppError::validation("team_id", "team_id must be a UUID.").into());
    }
    let request = ChatCreateRequest {
        chat_type: ChatType::Group,
        title: Some(req.room_name),
        handle: None,
        description: req.description,
        is_public: false,
        member_ids: Vec::new(),
    };
    let (chat, _) = chats::create_chat(&state.ctx, &caller, request).await?;
    Ok(HttpResponse::Created().json(RoomDetail::new(&chat, caller.user_id)))
}

/// `GET /rooms/{room_id}`.
pub async fn room(
    state: web::Data<ApiState>,
    caller: FocusUser,
    path: web::Path<String>,
) -> FocusResult<HttpResponse> {
    let detail = chats::get_chat(&state.ctx, &caller, room_id(&path)?).await?;
    Ok(HttpResponse::Ok().json(RoomDetail::new(&detail.chat, caller.user_id)))
}

/// `GET /rooms/{room_id}/messages?limit&before_message_id`: the newest
/// `limit` (1–100, default 50) before the cursor, oldest first; `total`
/// counts the room's messages, `has_more` whether older ones remain.
pub async fn page(
    state: web::Data<ApiState>,
    caller: FocusUser,
    path: web::Path<String>,
    query: web::Query<MessagesQuery>,
) -> FocusResult<HttpResponse> {
    let room = room_id(&path)?;
    let before_id = query
        .before_message_id
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(|t| message_field("before_message_id", t))
        .transpose()?;
    let ctx = &state.ctx;
    let (views, has_more) =
        history::list_older(ctx, &caller, room, before_id, query.limit, 50).await?;
    let total = history::count_messages(ctx, &caller, room).await?;
    let messages = with_reactors(ctx, &caller, room, views.iter()).await?;
    Ok(HttpResponse::Ok().json(Page {
        messages,
        total,
        has_more,
    }))
}

/// `POST /rooms/{room_id}/messages {content, message_type, reply_to_id,
/// thread_id}`: a reply goes under `reply_to_id`, else under `thread_id`
/// (a thread is the replies under its first message).
pub async fn send(
    state: web::Data<ApiState>,
    caller: FocusUser,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> FocusResult<HttpResponse> {
    let req: SendRequest = parse_json(&bytes)?;
    let room = room_id(&path)?;
    let message_type = req
        .message_type
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<MessageType>().map_err(|_| {
                AppError::validation("message_type", "message_type is not a message type.")
            })
        })
        .transpose()?;
    let optional_id = |field: &'static str, value: &Option<String>| {
        value
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(|t| message_field(field, t))
            .transpose()
    };
    let reply_to = optional_id("reply_to_id", &req.reply_to_id)?;
    let thread = optional_id("thread_id", &req.thread_id)?;
    let request = MessageCreateRequest {
        chat_id: room,
        message_type,
        text: req.content,
        client_message_id: None,
        reply_to_message_id: reply_to.or(thread),
    };
    let (view, _) = messages::send_message(&state.ctx, caller.user_id, &request).await?;
    // A new message has no reactions yet.
    Ok(HttpResponse::Created().json(Message::new(&render::message_view(&view), None)))
}

/// `PATCH /rooms/{room_id}/messages/{message_id} {content}`: the sender's
/// own message.
pub async fn edit(
    state: web::Data<ApiState>,
    caller: FocusUser,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
) -> FocusResult<HttpResponse> {
    let req: EditRequest = parse_json(&bytes)?;
    let room = room_id(&path.0)?;
    let id = message_in(&state.ctx, &caller, room, &path.1).await?;
    let view = messages::edit_message(&state.ctx, &caller, id, &req.content).await?;
    let message = view.message;
    Ok(HttpResponse::Ok().json(json!({
        "message_id": ids::message(id),
        "content": message.text.unwrap_or_default(),
        "is_edited": message.edited_at.is_some(),
        "updated_at": time(message.edited_at.unwrap_or(message.updated_at)),
    })))
}

/// `DELETE /rooms/{room_id}/messages/{message_id}`: for everyone (its
/// sender, or a team room's owner or admins); the message stays as a
/// tombstone (`is_deleted: true`, no content).
pub async fn delete(
    state: web::Data<ApiState>,
    caller: FocusUser,
    path: web::Path<(String, String)>,
) -> FocusResult<HttpResponse> {
    let room = room_id(&path.0)?;
    let id = message_in(&state.ctx, &caller, room, &path.1).await?;
    let deleted_at = messages::delete_message(&state.ctx, &caller, id, true)
        .await?
        .unwrap_or_else(Utc::now);
    Ok(HttpResponse::Ok().json(json!({
        "message_id": ids::message(id),
        "is_deleted": true,
        "deleted_at": time(deleted_at),
    })))
}

/// `GET /rooms/{room_id}/search?q&limit`: the room's messages that match,
/// best first; `total` is how many are in this answer.
pub async fn search_room(
    state: web::Data<ApiState>,
    caller: FocusUser,
    path: web::Path<String>,
    query: web::Query<SearchQuery>,
) -> FocusResult<HttpResponse> {
    let room = room_id(&path)?;
    let q = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .ok_or_else(|| AppError::validation("q", "q is required."))?;
    let limit = validate::limit(query.limit, 50, 100)?;
    let hits = search::search_messages(
        &state.ctx,
        &caller,
        &MessageSearchQuery {
            query: Some(q.to_owned()),
            chat_id: Some(room),
            // One more, to know whether there are more (up to the
            // domain's 100).
            limit: Some((limit + 1).min(100)),
        },
    )
    .await?;
    let has_more = hits.len() as i64 > limit;
    let views = hits.iter().take(limit as usize).map(|hit| &hit.view);
    let messages = with_reactors(&state.ctx, &caller, room, views).await?;
    Ok(HttpResponse::Ok().json(Page {
        total: messages.len() as i64,
        messages,
        has_more,
    }))
}

/// `POST /rooms/{room_id}/read`: everything up to the room's last message
/// is read.
pub async fn read(
    state: web::Data<ApiState>,
    caller: FocusUser,
    path: web::Path<String>,
) -> FocusResult<HttpResponse> {
    receipts::read_all(&state.ctx, &caller, room_id(&path)?).await?;
    Ok(HttpResponse::Ok().json(json!({"message": "Marked as read"})))
}

/// `POST /rooms/{room_id}/messages/{message_id}/react?emoji`: adds the
/// caller's reaction (already there: nothing changes).
pub async fn react(
    state: web::Data<ApiState>,
    caller: FocusUser,
    path: web::Path<(String, String)>,
    query: web::Query<EmojiQuery>,
) -> FocusResult<HttpResponse> {
    reaction(&state, &caller, &path, &query, true).await
}

/// `DELETE /rooms/{room_id}/messages/{message_id}/react?emoji`: takes the
/// caller's reaction back (not there: nothing changes).
pub async fn unreact(
    state: web::Data<ApiState>,
    caller: FocusUser,
    path: web::Path<(String, String)>,
    query: web::Query<EmojiQuery>,
) -> FocusResult<HttpResponse> {
    reaction(&state, &caller, &path, &query, false).await
}

/// Puts the caller's `emoji` on the message (`on`) or off it; nothing
/// changes when it already is.
async fn reaction(
    state: &ApiState,
    caller: &FocusUser,
    path: &(String, String),
    query: &EmojiQuery,
    on: bool,
) -> FocusResult<HttpResponse> {
    let emoji = query
        .emoji
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| AppError::validation("emoji", "emoji is required."))?
        .to_owned();
    let room = room_id(&path.0)?;
    let id = message_in(&state.ctx, caller, room, &path.1).await?;
    let change = if on {
        ReactionChange::Add
    } else {
        ReactionChange::Remove
    };
    let request = ReactionToggleRequest { emoji };
    let now = reactions::change_reaction(&state.ctx, caller, id, &request, change).await?;
    let reactors = reactions::who_reacted(&state.ctx, caller, room, &[id]).await?;
    Ok(HttpResponse::Ok().json(json!({
        "message": if on { "Reaction added" } else { "Reaction removed" },
        "reactions": reaction_list(&now.counts, reactors.get(&id)),
    })))
}
