//! Seed 001's per-room socket `GET /chat/ws/{room_id}?token=`: the native
//! socket task (the same ordering, typing, presence and command rules),
//! whose frames this transport translates both ways, for one room.
//!
//! The client sends `{"type":"message","content","message_type":"text",
//! "reply_to_message_id"?}` (the native `send`), `{"type":"typing",
//! "is_typing"}` (the native `typing`, in this room), and may send
//! `{"type":"read","message_id"}` and `{"type":"ping"}`. It receives, for
//! this room only:
//!
//! - `connected` `{"room_id","user_id"}` first, once the socket follows
//!   the room (the document names no first frame; its client ignores
//!   types it does not know);
//! - `message` `{"message_id","room_id","sender_id","sender_name",
//!   "content","message_type","timestamp","reply_to_message_id"}` for
//!   every new message, the sender's own included (that is the sender's
//!   answer: the native `ack` is not sent);
//! - `typing` `{"user_id","user_name","is_typing"}` (not one's own);
//! - `user_status` `{"user_id","user_name","status":"online"|"offline"}`
//!   for the room's members whose presence the caller may see;
//! - `message_read` `{"room_id","user_id","user_name","message_id",
//!   "timestamp"}` when a member read up to a message (only the reader's
//!   own devices while the room's read receipts are off);
//! - `message_updated` (as `message`, plus `is_edited`, `edited_at`,
//!   `file_url`, `file_size`) and `message_deleted` `{"room_id",
//!   "message_id"}`: not in the document, for clients that show edits;
//! - `pong` for a `ping`, and `error` `{"detail"}` for a refused frame.
//!
//! The socket closes (1000) when the caller leaves the room or the room
//! is deleted.

use std::collections::HashSet;

use actix_http::ws::{CloseCode, CloseReason};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use parley_shared::AppContext;
use parley_shared::domain::caller::AuthContext;
use parley_shared::domain::chats;
use parley_shared::wire::native::dto::MessageRead;
use parley_shared::wire::native::events::ServerEvent;
use serde_json::{Value, json};

use super::convert::{display_name, message_type, time};
use super::error::{CampusResult, CampusUser};
use super::names::Names;
use crate::realtime::socket::open_socket;
use crate::realtime::transport::{DialectWs, Rendered, Translated, WsFrames};
use crate::state::ApiState;

/// Opens the room's socket. The caller must be a member of the room: 401,
/// 403 and 404 are HTTP answers before the upgrade.
pub async fn connect(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: CampusUser,
    path: web::Path<i64>,
) -> CampusResult<HttpResponse> {
    let room_id = path.into_inner();
    let detail = chats::get_chat(&state.ctx, &caller, room_id).await?;
    let members: HashSet<i64> = detail.members.iter().map(|m| m.user_id).collect();
    let names = Names::of(&detail.members);
    let (ctx, auth) = (state.ctx.clone(), caller.0);
    let room = RoomSocket {
        ctx,
        auth,
        room_id,
        members,
        names,
    };
    Ok(open_socket(req, state, auth, move |session| {
        DialectWs::new(session, room)
    })
    .await?)
}

/// One room's socket: what it writes, and what it knows of the room.
struct RoomSocket {
    ctx: AppContext,
    auth: AuthContext,
    room_id: i64,
    /// The room's members now (whose presence is the room's).
    members: HashSet<i64>,
    names: Names,
}

/// What a native frame becomes.
enum Out {
    /// Nothing (another room's, or nothing in the document).
    Skip,
    Send(Value),
    /// The room is gone for the caller: close.
    End(&'static str),
}

fn error(detail: &str) -> Value {
    json!({"type": "error", "detail": detail})
}

impl RoomSocket {
    async fn name(&mut self, user_id: Option<i64>) -> String {
        self.names.name(&self.ctx, &self.auth, user_id).await
    }

    /// The document's frame of a message.
    async fn message(&mut self, kind: &str, message: &MessageRead) -> Value {
        let sender_name = self.name(message.sender_id).await;
        json!({
            "type": kind,
            "message_id": message.id,
            "room_id": message.chat_id,
            "sender_id": message.sender_id,
            "sender_name": sender_name,
            "content": message.text.clone().unwrap_or_default(),
            "message_type": message_type(message.message_type),
            "timestamp": time(message.created_at),
            "reply_to_message_id": message.reply_to_message_id,
        })
    }

    /// The document's frame for a native one.
    async fn frame(&mut self, event: ServerEvent) -> Out {
        let room = self.room_id;
        match event {
            ServerEvent::Ready { user_id, .. } => {
                Out::Send(json!({"type": "connected", "room_id": room, "user_id": user_id}))
            }
            ServerEvent::Pong { .. } => Out::Send(json!({"type": "pong"})),
            ServerEvent::Error { detail, .. } => Out::Send(error(&detail)),
            ServerEvent::MessageCreated {
                chat_id, message, ..
            } if chat_id == room => Out::Send(self.message("message", &message).await),
            ServerEvent::MessageUpdated {
                chat_id, message, ..
            } if chat_id == room => {
                let mut frame = self.message("message_updated", &message).await;
                let file = message.attachments.first();
                frame["is_edited"] = json!(message.edited_at.is_some());
                frame["is_deleted"] = json!(message.deleted);
                frame["edited_at"] = json!(message.edited_at.map(time));
                frame["file_url"] = json!(file.map(|f| f.file_url.clone()));
                frame["file_size"] = json!(file.map(|f| f.file_size));
                Out::Send(frame)
            }
            ServerEvent::MessageDeleted {
                chat_id,
                message_id,
                ..
            } if chat_id == room => Out::Send(json!({
                "type": "message_deleted", "room_id": room, "message_id": message_id,
            })),
            ServerEvent::Typing {
                chat_id,
                user_id,
                is_typing,
                ..
            } if chat_id == room => {
                let user_name = self.name(Some(user_id)).await;
                Out::Send(json!({
                    "type": "typing", "user_id": user_id, "user_name": user_name,
                    "is_typing": is_typing,
                }))
            }
            ServerEvent::MessageRead {
                chat_id,
                user_id,
                message_id,
            } if chat_id == room => {
                let user_name = self.name(Some(user_id)).await;
                Out::Send(json!({
                    "type": "message_read", "room_id": room, "user_id": user_id,
                    "user_name": user_name, "message_id": message_id,
                    "timestamp": time(Utc::now()),
                }))
            }
            ServerEvent::Presence {
                user_id, is_online, ..
            } if self.members.contains(&user_id) => {
                let user_name = self.name(Some(user_id)).await;
                let status = if is_online { "online" } else { "offline" };
                Out::Send(json!({
                    "type": "user_status", "user_id": user_id, "user_name": user_name,
                    "status": status,
                }))
            }
            ServerEvent::MemberJoined {
                chat_id,
                user_id,
                member,
                ..
            }
            | ServerEvent::MemberUpdated {
                chat_id,
                user_id,
                member,
                ..
            } if chat_id == room => {
                self.members.insert(user_id);
                let name = display_name(&member.name, member.nickname.as_deref());
                self.names.insert(user_id, name);
                Out::Skip
            }
            ServerEvent::MemberLeft {
                chat_id, user_id, ..
            } if chat_id == room => {
                self.members.remove(&user_id);
                if user_id == self.auth.user_id {
                    Out::End("you left the room")
                } else {
                    Out::Skip
                }
            }
            ServerEvent::ChatDeleted { chat_id, .. } if chat_id == room => {
                Out::End("the room was deleted")
            }
            _ => Out::Skip,
        }
    }

    /// The native frame for a client frame, or the `detail` of its refusal.
    fn command(&self, text: &str) -> Result<Value, String> {
        let frame: Value = serde_json::from_str(text)
            .map_err(|_| "A frame is a JSON object with a \"type\".".to_owned())?;
        let room = self.room_id;
        match frame["type"].as_str() {
            Some("message") => {
                let Some(content) = frame["content"].as_str() else {
                    return Err("A message needs its content.".to_owned());
                };
                match frame["message_type"].as_str() {
                    None | Some("text") => {}
                    Some(_) => {
                        return Err("Only text messages go over the socket: send files with \
                             POST /chat/rooms/{room_id}/messages/."
                            .to_owned());
                    }
                }
                Ok(json!({
                    "type": "send", "chat_id": room, "text": content,
                    "reply_to_message_id": frame["reply_to_message_id"].as_i64(),
                }))
            }
            Some("typing") => Ok(json!({
                "type": "typing", "chat_id": room,
                "is_typing": frame["is_typing"].as_bool().unwrap_or(true),
            })),
            Some("read") => match frame["message_id"].as_i64() {
                Some(message_id) => Ok(json!({
                    "type": "read", "chat_id": room, "message_id": message_id,
                })),
                None => Err("A read needs the message_id read up to.".to_owned()),
            },
            Some("ping") => Ok(json!({"type": "ping"})),
            other => Err(format!(
                "Unknown frame type {other:?}: send message, typing, read or ping."
            )),
        }
    }
}

impl WsFrames for RoomSocket {
    async fn render(&mut self, payload: &[u8]) -> Rendered {
        let Ok(event) = serde_json::from_slice::<ServerEvent>(payload) else {
            return Rendered::Skip;
        };
        match self.frame(event).await {
            Out::Skip => Rendered::Skip,
            Out::Send(frame) => Rendered::Text(frame.to_string()),
            Out::End(why) => Rendered::Close(CloseReason {
                code: CloseCode::Normal,
                description: Some(why.to_owned()),
            }),
        }
    }

    async fn translate(&mut self, text: &str) -> Translated {
        match self.command(text) {
            Ok(native) => Translated::run(native.to_string()),
            Err(detail) => Translated::reply(error(&detail).to_string()),
        }
    }

    fn focus(&self) -> Option<i64> {
        Some(self.room_id)
    }
}
