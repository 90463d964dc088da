//! Seed 003's REST endpoints (§1 rooms, §2 messages): each checks that the
//! body's `userId` / `creatorId` is the caller, converts, calls the native
//! operation, and converts back.

use actix_web::{HttpResponse, web};
use parley_shared::AppError;
use parley_shared::domain::chat_delete::{self, DeleteChatQuery};
use parley_shared::domain::chat_info::{self, TitleRequest};
use parley_shared::domain::chats::{self, ChatCreateRequest};
use parley_shared::domain::history;
use parley_shared::domain::kinds::{ChatType, ReceiptKind};
use parley_shared::domain::members::{self, AddMemberRequest, NicknameRequest, RoleRequest};
use parley_shared::domain::messages::{self, MessageCreateRequest};
use parley_shared::domain::reactions::{self, ReactionToggleRequest};
use parley_shared::domain::receipts::{self, StatusUpdateRequest};
use parley_shared::domain::recent;

use super::auth::{RoomsResult, RoomsUser, require_self};
use super::convert::{
    AddParticipant, Caller, ChatData, CreateRoom, EditMessage, React, Rename, Room, SendMessage,
    SentMessage, SetName, SetRole, id, parse_role, reaction_emoji,
};
use crate::extract::parse_json;
use crate::state::ApiState;

fn room_not_found() -> AppError {
    AppError::not_found("chat_not_found", "This chat room does not exist.")
}

fn user_not_found() -> AppError {
    AppError::not_found("user_not_found", "This user does not exist.")
}

fn message_not_found() -> AppError {
    AppError::not_found("message_not_found", "This message does not exist.")
}

/// The room as the caller now sees it.
async fn room(state: &ApiState, caller: &RoomsUser, room_id: i64) -> RoomsResult<HttpResponse> {
    let detail = chats::get_chat(&state.ctx, caller, room_id).await?;
    Ok(HttpResponse::Ok().json(Room::from(&detail)))
}

/// A message id under its room: a message of another room is not found.
async fn message_in(
    state: &ApiState,
    caller: &RoomsUser,
    room_id: &str,
    message_id: &str,
) -> RoomsResult<(i64, i64)> {
    let room_id = id(room_id, room_not_found)?;
    let message_id = id(message_id, message_not_found)?;
    history::require_in_chat(&state.ctx, caller, room_id, message_id).await?;
    Ok((room_id, message_id))
}

/// §1.1 `POST /api/chatrooms`: two participants make a private chat, three
/// or more a group whose creator is its `admin` (the owner).
pub async fn create(
    state: web::Data<ApiState>,
    caller: RoomsUser,
    bytes: web::Bytes,
) -> RoomsResult<HttpResponse> {
    let req: CreateRoom = parse_json(&bytes)?;
    require_self(&caller, &req.creator_id)?;
    let member_ids = req
        .target_user_ids
        .iter()
        .map(|u| id(u, user_not_found))
        .collect::<Result<Vec<_>, _>>()?;
    let chat_type = if member_ids.len() >= 2 {
        ChatType::Group
    } else {
        ChatType::Private
    };
    let request = ChatCreateRequest {
        chat_type,
        title: (chat_type == ChatType::Group).then(|| req.name.clone().unwrap_or_default()),
        handle: None,
        description: None,
        is_public: false,
        member_ids,
    };
    let (chat, _) = chats::create_chat(&state.ctx, &caller, request).await?;
    room(&state, &caller, chat.row.id).await
}

/// §1.2 `PATCH /api/chatrooms/{roomId}/name`.
pub async fn rename(
    state: web::Data<ApiState>,
    caller: RoomsUser,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> RoomsResult<HttpResponse> {
    let req: Rename = parse_json(&bytes)?;
    let room_id = id(&path, room_not_found)?;
    chat_info::set_title(
        &state.ctx,
        &caller,
        room_id,
        &TitleRequest { title: req.name },
    )
    .await?;
    room(&state, &caller, room_id).await
}

/// §1.3 `POST /api/chatrooms/{roomId}/participants` (`role` defaults to
/// `member`).
pub async fn add_participant(
    state: web::Data<ApiState>,
    caller: RoomsUser,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> RoomsResult<HttpResponse> {
    let req: AddParticipant = parse_json(&bytes)?;
    let room_id = id(&path, room_not_found)?;
    let user_id = id(&req.user_id, user_not_found)?;
    let role = req.role.as_deref().map(parse_role).transpose()?;
    members::add_member(
        &state.ctx,
        &caller,
        room_id,
        &AddMemberRequest { user_id, role },
    )
    .await?;
    room(&state, &caller, room_id).await
}

/// §1.4 `DELETE /api/chatrooms/{roomId}/participants/{userId}`: removes
/// someone, or leaves when it is the caller.
pub async fn remove_participant(
    state: web::Data<ApiState>,
    caller: RoomsUser,
    path: web::Path<(String, String)>,
) -> RoomsResult<HttpResponse> {
    let room_id = id(&path.0, room_not_found)?;
    let user_id = id(&path.1, user_not_found)?;
    if user_id == caller.user_id {
        members::leave_chat(&state.ctx, &caller, room_id).await?;
    } else {
        members::remove_member(&state.ctx, &caller, room_id, user_id).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// §1.5 `PATCH /api/chatrooms/{roomId}/participants/{userId}/role`.
pub async fn set_role(
    state: web::Data<ApiState>,
    caller: RoomsUser,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
) -> RoomsResult<HttpResponse> {
    let req: SetRole = parse_json(&bytes)?;
    let room_id = id(&path.0, room_not_found)?;
    let user_id = id(&path.1, user_not_found)?;
    let role = parse_role(&req.role)?;
    members::set_role(&state.ctx, &caller, room_id, user_id, &RoleRequest { role }).await?;
    room(&state, &caller, room_id).await
}

/// §1.5.1 `PATCH /api/chatrooms/{roomId}/participants/{userId}/name`: the
/// participant's name in this room (`""`: their own name again). Parley's
/// nicknames are each member's own: another's is 403.
pub async fn set_name(
    state: web::Data<ApiState>,
    caller: RoomsUser,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
) -> RoomsResult<HttpResponse> {
    let req: SetName = parse_json(&bytes)?;
    let room_id = id(&path.0, room_not_found)?;
    require_self(&caller, &path.1)?;
    members::set_nickname(
        &state.ctx,
        &caller,
        room_id,
        &NicknameRequest {
            nickname: Some(req.edited_name),
        },
    )
    .await?;
    room(&state, &caller, room_id).await
}

/// §1.6 `DELETE /api/chatrooms/{roomId}`: for everyone (the owner, or
/// either member of a two-person room).
pub async fn delete_room(
    state: web::Data<ApiState>,
    caller: RoomsUser,
    path: web::Path<String>,
) -> RoomsResult<HttpResponse> {
    let room_id = id(&path, room_not_found)?;
    chat_delete::delete_chat(
        &state.ctx,
        &caller,
        room_id,
        &DeleteChatQuery { for_all: true },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// §2.1 `POST /api/chatrooms/{roomId}/messages`.
pub async fn send(
    state: web::Data<ApiState>,
    caller: RoomsUser,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> RoomsResult<HttpResponse> {
    let req: SendMessage = parse_json(&bytes)?;
    require_self(&caller, &req.user_id)?;
    let request = MessageCreateRequest {
        chat_id: id(&path, room_not_found)?,
        message_type: None,
        text: req.content,
        client_message_id: None,
        reply_to_message_id: None,
    };
    let (view, _) = messages::send_message(&state.ctx, caller.user_id, &request).await?;
    Ok(HttpResponse::Ok().json(SentMessage::from(view)))
}

/// §2.2 `DELETE /api/chatrooms/{roomId}/messages/{messageId}`: for
/// everyone, by its sender.
pub async fn delete_message(
    state: web::Data<ApiState>,
    caller: RoomsUser,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
) -> RoomsResult<HttpResponse> {
    let req: Caller = parse_json(&bytes)?;
    require_self(&caller, &req.user_id)?;
    let (_, message_id) = message_in(&state, &caller, &path.0, &path.1).await?;
    messages::delete_message(&state.ctx, &caller, message_id, true).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// §2.3 `PATCH /api/chatrooms/{roomId}/messages/{messageId}`.
pub async fn edit(
    state: web::Data<ApiState>,
    caller: RoomsUser,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
) -> RoomsResult<HttpResponse> {
    let req: EditMessage = parse_json(&bytes)?;
    require_self(&caller, &req.user_id)?;
    let (_, message_id) = message_in(&state, &caller, &path.0, &path.1).await?;
    let view = messages::edit_message(&state.ctx, &caller, message_id, &req.new_content).await?;
    Ok(HttpResponse::Ok().json(SentMessage::from(view)))
}

/// §2.4 `POST /api/chatrooms/{roomId}/messages/{messageId}/read`: read up
/// to this message.
pub async fn read(
    state: web::Data<ApiState>,
    caller: RoomsUser,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
) -> RoomsResult<HttpResponse> {
    let req: Caller = parse_json(&bytes)?;
    require_self(&caller, &req.user_id)?;
    let (room_id, message_id) = message_in(&state, &caller, &path.0, &path.1).await?;
    receipts::update_status(
        &state.ctx,
        &caller,
        &StatusUpdateRequest {
            chat_id: room_id,
            message_id,
            status: ReceiptKind::MessageRead,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().finish())
}

/// §2.5 `POST /api/chatrooms/{roomId}/messages/{messageId}/reactions`:
/// toggles the reaction (`like` 👍, `love` ❤️, `laugh` 😂, `sad` 😢,
/// `angry` 😠, `wow` 😮); answers the message's reaction counts.
pub async fn react(
    state: web::Data<ApiState>,
    caller: RoomsUser,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
) -> RoomsResult<HttpResponse> {
    let req: React = parse_json(&bytes)?;
    require_self(&caller, &req.user_id)?;
    let emoji = reaction_emoji(&req.reaction_type)?;
    let (_, message_id) = message_in(&state, &caller, &path.0, &path.1).await?;
    let reactions = reactions::toggle_reaction(
        &state.ctx,
        &caller,
        message_id,
        &ReactionToggleRequest {
            emoji: emoji.to_owned(),
        },
    )
    .await?;
    let mine = reactions.mine.iter().any(|e| e == emoji);
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "messageId": message_id.to_string(),
        "reactionType": req.reaction_type,
        "reacted": mine,
    })))
}

/// §3.1 `POST /api/chatrooms/{chatroomId}/connect`: the room's chat data
/// (its last 20 messages, from the recent-messages cache) for a member
/// about to enter it over the socket (`GET /chat`, then `join`).
pub async fn connect(
    state: web::Data<ApiState>,
    caller: RoomsUser,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> RoomsResult<HttpResponse> {
    let req: Caller = parse_json(&bytes)?;
    require_self(&caller, &req.user_id)?;
    let room_id = id(&path, room_not_found)?;
    let (messages, _) = recent::recent_messages(&state.ctx, &caller, room_id).await?;
    Ok(HttpResponse::Ok().json(ChatData::new(room_id, &messages)))
}
