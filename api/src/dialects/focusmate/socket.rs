//! Seed 000's socket, `GET /api/v1/chats/ws?token=`: the native socket's
//! connection (ordering, catch-up across replicas, heartbeats) with the
//! document's frames. It follows every room of the caller from the start
//! (no `resume`).
//!
//! Client frames, each translated into the native frame with the room's
//! integer id:
//!
//! - `{"type":"join_room","room_id"}`: focus the room (its typing reaches
//!   this socket); answered `joined` with the caller's own `user_id`;
//! - `{"type":"leave_room","room_id"}`: stop; answered `left`;
//! - `{"type":"typing","room_id"}` (`"is_typing": false` to stop; not in
//!   the document): the caller types in the room;
//! - `{"type":"ping"}` (not in the document): answered `{"type":"pong"}`.
//!
//! Anything else, or a `room_id` that is not a room UUID, is answered
//! `{"type":"error","detail","code"}`, as is a room the caller is not in.
//!
//! Server events: `message` (a new message, the list's shape), `message_updated`
//! (an edit, or files attached), `message_deleted` `{message_id, room_id}`,
//! `typing` `{room_id, user_id}` (others typing in a joined room),
//! `joined` / `left` `{room_id, user_id}` (a member joined or left one of
//! the caller's rooms, or the answer to the caller's own `join_room` /
//! `leave_room`). Every other native event has no seed 000 counterpart
//! and is not sent.

use actix_web::{HttpRequest, HttpResponse, web};
use parley_shared::wire::native::events::ServerEvent;
use serde::Deserialize;
use serde_json::{Value, json};

use super::convert::Message;
use super::error::{FocusResult, FocusUser, detail_for};
use super::ids::{self, Kind};
use crate::realtime::socket::open_socket;
use crate::realtime::transport::{DialectWs, Rendered, Translated, WsFrames};
use crate::state::ApiState;

/// The `ref` the native answer to a `join_room` carries: this, then the
/// room's id.
const JOINED: &str = "focusmate:joined:";
/// The `ref` of a `leave_room`'s answer.
const LEFT: &str = "focusmate:left:";

/// Opens the socket. Errors (before the upgrade, in seed 000's body): 401
/// without a token or with a bad one; as the native `GET /api/v1/ws`
/// otherwise.
pub async fn connect(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: FocusUser,
) -> FocusResult<HttpResponse> {
    let user_id = caller.user_id;
    Ok(open_socket(req, state, caller.0, move |session| {
        DialectWs::new(session, FocusSocket { user_id })
    })
    .await?)
}

/// A client frame of seed 000.
#[derive(Debug, Deserialize)]
struct ClientFrame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    room_id: Option<Value>,
    #[serde(default)]
    is_typing: Option<bool>,
}

/// Writes seed 000's frames on a WebSocket session.
struct FocusSocket {
    user_id: i64,
}

/// `{"type":"error","detail","code"}`.
fn error(code: &str, detail: String) -> Value {
    json!({"type": "error", "detail": detail_for(code, detail), "code": code})
}

/// `joined` / `left` of `user_id` in a room.
fn member_event(kind: &str, chat_id: i64, user_id: i64) -> Value {
    json!({"type": kind, "room_id": ids::room(chat_id), "user_id": ids::user(user_id)})
}

impl FocusSocket {
    /// The native frame a seed 000 frame asks for, or the error frame
    /// that refuses it.
    fn native(&self, text: &str) -> Result<Value, Value> {
        let frame: ClientFrame = serde_json::from_str(text).map_err(|_| {
            error(
                "malformed_frame",
                "A frame is a JSON object with a \"type\".".to_owned(),
            )
        })?;
        if frame.kind == "ping" {
            return Ok(json!({"type": "ping"}));
        }
        if !matches!(frame.kind.as_str(), "join_room" | "leave_room" | "typing") {
            return Err(error(
                "unknown_frame",
                format!("Unknown frame type {:?}.", frame.kind),
            ));
        }
        let Some(room) = frame.room_id.as_ref() else {
            return Err(error("validation_error", "room_id is required.".to_owned()));
        };
        let chat_id = room
            .as_str()
            .and_then(|text| ids::decode(Kind::Room, text))
            .ok_or_else(|| error("chat_not_found", String::new()))?;
        Ok(match frame.kind.as_str() {
            "join_room" => {
                json!({"type": "join_room", "chat_id": chat_id, "ref": format!("{JOINED}{chat_id}")})
            }
            "leave_room" => {
                json!({"type": "leave_room", "chat_id": chat_id, "ref": format!("{LEFT}{chat_id}")})
            }
            _ => json!({"type": "typing", "chat_id": chat_id,
                        "is_typing": frame.is_typing.unwrap_or(true)}),
        })
    }

    /// The document's event for a native frame, if it has one.
    fn event(&self, payload: &[u8]) -> Option<Value> {
        Some(match serde_json::from_slice::<ServerEvent>(payload).ok()? {
            ServerEvent::MessageCreated { message, .. } => {
                json!({"type": "message", "message": Message::new(&message, None)})
            }
            ServerEvent::MessageUpdated { message, .. } => {
                json!({"type": "message_updated", "message": Message::new(&message, None)})
            }
            ServerEvent::MessageDeleted {
                chat_id,
                message_id,
                ..
            } => json!({"type": "message_deleted", "message_id": ids::message(message_id),
                        "room_id": ids::room(chat_id)}),
            ServerEvent::Typing {
                chat_id,
                user_id,
                is_typing: true,
                ..
            } => json!({"type": "typing", "room_id": ids::room(chat_id),
                        "user_id": ids::user(user_id)}),
            ServerEvent::MemberJoined {
                chat_id, user_id, ..
            } => member_event("joined", chat_id, user_id),
            ServerEvent::MemberLeft {
                chat_id, user_id, ..
            } => member_event("left", chat_id, user_id),
            ServerEvent::Ack {
                reference: Some(reference),
                ..
            } => {
                if let Some(id) = reference.strip_prefix(JOINED) {
                    member_event("joined", id.parse().ok()?, self.user_id)
                } else if let Some(id) = reference.strip_prefix(LEFT) {
                    member_event("left", id.parse().ok()?, self.user_id)
                } else {
                    return None;
                }
            }
            ServerEvent::Pong { .. } => json!({"type": "pong"}),
            ServerEvent::Error { detail, code, .. } => error(&code, detail),
            _ => return None,
        })
    }
}

impl WsFrames for FocusSocket {
    async fn render(&mut self, payload: &[u8]) -> Rendered {
        self.event(payload)
            .map_or(Rendered::Skip, |f| Rendered::Text(f.to_string()))
    }

    async fn translate(&mut self, text: &str) -> Translated {
        match self.native(text) {
            Ok(native) => Translated::run(native.to_string()),
            Err(refusal) => Translated::reply(refusal.to_string()),
        }
    }
}
