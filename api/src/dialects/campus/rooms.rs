//! Seed 001's rooms ("채팅방 관리" 1–4): each converts the request, calls
//! the domain operation the native API calls, and converts the answer back.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use parley_shared::domain::chats::{self, ChatCreateRequest};
use parley_shared::domain::kinds::ChatType;
use parley_shared::domain::members;
use parley_shared::domain::receipts::{self, ReadMark};

use super::convert::{
    CreateRoom, Participant, Participants, Room, RoomDetail, RoomList, parse_room_type,
};
use super::error::{CampusResult, CampusUser};
use crate::extract::parse_json;
use crate::state::ApiState;

/// "1. 채팅방 목록 조회" `GET /chat/rooms/`: every room of the caller's
/// (not Saved Messages, which is no room).
pub async fn list(state: web::Data<ApiState>, caller: CampusUser) -> CampusResult<HttpResponse> {
    let chats = chats::all_chats(&state.ctx, &caller).await?;
    let rooms: Vec<Room> = chats
        .iter()
        .filter(|c| !c.row.is_saved)
        .map(Room::new)
        .collect();
    Ok(HttpResponse::Ok().json(RoomList {
        total_count: rooms.len(),
        rooms,
    }))
}

/// "2. 새 채팅방 생성" `POST /chat/rooms/`: `direct` opens the private chat
/// with the one other participant (201 when new, 200 with the existing
/// one), `group` makes a group titled `room_name` whose creator owns it
/// (201). The caller's own id among `participant_ids` is left out.
pub async fn create(
    state: web::Data<ApiState>,
    caller: CampusUser,
    bytes: web::Bytes,
) -> CampusResult<HttpResponse> {
    let req: CreateRoom = parse_json(&bytes)?;
    let mut others: Vec<i64> = req
        .participant_ids
        .iter()
        .copied()
        .filter(|id| *id != caller.user_id)
        .collect();
    others.sort_unstable();
    others.dedup();
    let chat_type = parse_room_type(req.room_type.as_deref(), others.len())?;
    let group = chat_type == ChatType::Group;
    let request = ChatCreateRequest {
        chat_type,
        // A private chat has no title (it shows the other's name) and no
        // description.
        title: group.then(|| req.room_name.clone().unwrap_or_default()),
        handle: None,
        description: req.room_description.clone().filter(|_| group),
        is_public: false,
        member_ids: others,
    };
    let (chat, created) = chats::create_chat(&state.ctx, &caller, request).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(Room::new(&chat)))
}

/// "3. 채팅방 정보 조회" `GET /chat/rooms/{room_id}/`.
pub async fn detail(
    state: web::Data<ApiState>,
    caller: CampusUser,
    path: web::Path<i64>,
) -> CampusResult<HttpResponse> {
    let detail = chats::get_chat(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(RoomDetail::new(&detail.chat)))
}

/// "4. 채팅방 참여자 목록" `GET /chat/rooms/{room_id}/participants/`, in
/// joining order.
pub async fn participants(
    state: web::Data<ApiState>,
    caller: CampusUser,
    path: web::Path<i64>,
) -> CampusResult<HttpResponse> {
    let room_id = path.into_inner();
    let members = members::list_members(&state.ctx, &caller, room_id).await?;
    let read: HashMap<i64, ReadMark> = receipts::read_marks(&state.ctx, &caller, room_id)
        .await?
        .into_iter()
        .map(|mark| (mark.user_id, mark))
        .collect();
    let participants: Vec<Participant> = members
        .iter()
        .map(|m| {
            let read_at = read.get(&m.user_id).and_then(|mark| mark.last_read_at);
            Participant::new(room_id, m, read_at)
        })
        .collect();
    Ok(HttpResponse::Ok().json(Participants {
        total_count: participants.len(),
        participants,
    }))
}
