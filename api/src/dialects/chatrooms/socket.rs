//! Seed 003's socket, `GET /chat` (the document's handshake: the
//! `jwt_token` cookie, or `Authorization: Bearer`; a bad token is HTTP 401
//! `{"error": "invalid_token", "message"}` before the upgrade). The native
//! socket's connection (ordering, exactly-once, heartbeats) with JSON text
//! frames in the document's vocabulary; a room is entered with `join`, and
//! only entered rooms' events are sent (§3: "Room은 실시간 처리를 위한 소켓
//! 레벨의 단위").
//!
//! Client frames: `{"type":"join","roomId"}` (answered by `joined` with the
//! room's recent messages), `{"type":"leave","roomId"}` (→ `left`),
//! `{"type":"message","roomId","content","clientMessageId"?}` (→ `sent`,
//! and `message` to every socket in the room), `{"type":"typing","roomId",
//! "isTyping"?}`, `{"type":"ping"}` (→ `pong`).
//!
//! Server frames: `connected`, `joined`, `left`, `sent`, `message`,
//! `message_edited`, `message_deleted`, `reaction`, `read`, `typing`,
//! `room_updated`, `participant_added`, `participant_updated`,
//! `participant_removed`, `room_deleted`, `pong`, and `error` (`{"type":
//! "error", "error": <code>, "message"}`). docs/dialects.md has each shape.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use parley_shared::domain::caller::AuthContext;
use parley_shared::domain::recent;
use parley_shared::wire::native::events::ServerEvent;
use parley_shared::{AppContext, AppError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::{RoomsResult, RoomsUser};
use super::convert::{ChatData, reaction_type, role, time};
use crate::realtime::socket::open_socket;
use crate::realtime::transport::{DialectWs, Rendered, Translated, WsFrames};
use crate::state::ApiState;

/// Upgrades to seed 003's socket. Errors (before the upgrade, in seed 003's
/// body): 401 `invalid_token` (or `token_expired`, `session_revoked`), 403
/// `origin_not_allowed`, 400 `websocket_handshake`, 503 without Redis.
pub async fn connect(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: RoomsUser,
) -> RoomsResult<HttpResponse> {
    let (ctx, auth) = (state.ctx.clone(), caller.0);
    let rooms = RoomSocket {
        ctx,
        auth,
        rooms: HashMap::new(),
    };
    Ok(open_socket(req, state, auth, move |session| {
        DialectWs::new(session, rooms)
    })
    .await?)
}

/// A client frame.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Join {
        #[serde(rename = "roomId")]
        room_id: String,
    },
    Leave {
        #[serde(rename = "roomId")]
        room_id: String,
    },
    Message {
        #[serde(rename = "roomId")]
        room_id: String,
        content: String,
        #[serde(rename = "clientMessageId", default)]
        client_message_id: Option<String>,
    },
    Typing {
        #[serde(rename = "roomId")]
        room_id: String,
        #[serde(rename = "isTyping", default)]
        is_typing: Option<bool>,
    },
    Ping,
}

/// Seed 003's frames.
struct RoomSocket {
    ctx: AppContext,
    auth: AuthContext,
    /// The rooms entered, each with the newest message id its `joined`
    /// listed: a `message` event for one of those is not sent again.
    rooms: HashMap<i64, i64>,
}

fn error(code: &str, message: &str) -> Value {
    json!({"type": "error", "error": code, "message": message})
}

impl RoomSocket {
    /// `join`: the room's recent messages (membership checked by the
    /// domain), then the room's events from here on.
    async fn join(&mut self, chat_id: i64) -> Translated {
        match recent::recent_messages(&self.ctx, &self.auth, chat_id).await {
            Ok((messages, _)) => {
                let newest = messages.last().map_or(0, |m| m.id);
                self.rooms.insert(chat_id, newest);
                let data = ChatData::new(chat_id, &messages);
                let joined = json!({"type": "joined", "roomId": data.chatroom_id,
                                    "messages": data.messages});
                Translated {
                    replies: vec![joined.to_string()],
                    native: Some(json!({"type": "join_room", "chat_id": chat_id}).to_string()),
                }
            }
            Err(err) => Translated::reply(error(err.code(), &err.detail()).to_string()),
        }
    }

    /// The document's frame for a native one, if it has one.
    fn frame(&self, event: ServerEvent) -> Option<Value> {
        let entered = |chat_id: &i64| self.rooms.contains_key(chat_id);
        Some(match event {
            ServerEvent::Ready { user_id, .. } => {
                json!({"type": "connected", "userId": user_id.to_string()})
            }
            ServerEvent::Pong { .. } => json!({"type": "pong"}),
            ServerEvent::Ack {
                message: Some(m), ..
            } => json!({"type": "sent", "messageId": m.id.to_string(),
                        "roomId": m.chat_id.to_string(),
                        "userId": m.sender_id.map(|u| u.to_string()),
                        "content": m.text, "createdAt": time(m.created_at)}),
            ServerEvent::Error { detail, code, .. } => error(&code, &detail),
            ServerEvent::SessionRevoked { reason, .. } => error("session_revoked", &reason),
            ServerEvent::MessageCreated {
                chat_id, message, ..
            } if entered(&chat_id) && self.rooms[&chat_id] < message.id => {
                json!({"type": "message", "roomId": chat_id.to_string(),
                       "messageId": message.id.to_string(),
                       "userId": message.sender_id.map(|u| u.to_string()),
                       "content": message.text, "createdAt": time(message.created_at)})
            }
            ServerEvent::MessageUpdated {
                chat_id, message, ..
            } if entered(&chat_id) && !message.deleted => {
                json!({"type": "message_edited", "roomId": chat_id.to_string(),
                       "messageId": message.id.to_string(),
                       "userId": message.sender_id.map(|u| u.to_string()),
                       "content": message.text, "editedAt": message.edited_at.map(time)})
            }
            ServerEvent::MessageDeleted {
                chat_id,
                message_id,
                ..
            } if entered(&chat_id) => {
                json!({"type": "message_deleted", "roomId": chat_id.to_string(),
                       "messageId": message_id.to_string()})
            }
            ServerEvent::ReactionsUpdated {
                chat_id,
                message_id,
                user_id,
                emoji,
                added,
                ..
            } if entered(&chat_id) => {
                json!({"type": "reaction", "roomId": chat_id.to_string(),
                       "messageId": message_id.to_string(), "userId": user_id.to_string(),
                       "reactionType": reaction_type(&emoji), "added": added})
            }
            ServerEvent::MessageRead {
                chat_id,
                user_id,
                message_id,
            } if entered(&chat_id) => {
                json!({"type": "read", "roomId": chat_id.to_string(),
                       "userId": user_id.to_string(), "messageId": message_id.to_string()})
            }
            ServerEvent::Typing {
                chat_id,
                user_id,
                is_typing,
                ..
            } if entered(&chat_id) => {
                json!({"type": "typing", "roomId": chat_id.to_string(),
                       "userId": user_id.to_string(), "isTyping": is_typing})
            }
            ServerEvent::ChatUpdated { chat_id, chat, .. } if entered(&chat_id) => {
                json!({"type": "room_updated", "roomId": chat_id.to_string(),
                       "name": chat.title.unwrap_or_default()})
            }
            ServerEvent::MemberJoined {
                chat_id,
                user_id,
                member,
                ..
            } if entered(&chat_id) => {
                json!({"type": "participant_added", "roomId": chat_id.to_string(),
                       "userId": user_id.to_string(), "role": role(member.role),
                       "edited_name": member.nickname.unwrap_or_default()})
            }
            ServerEvent::MemberUpdated {
                chat_id,
                user_id,
                member,
                ..
            } if entered(&chat_id) => {
                json!({"type": "participant_updated", "roomId": chat_id.to_string(),
                       "userId": user_id.to_string(), "role": role(member.role),
                       "edited_name": member.nickname.unwrap_or_default()})
            }
            ServerEvent::MemberLeft {
                chat_id, user_id, ..
            } if entered(&chat_id) => {
                json!({"type": "participant_removed", "roomId": chat_id.to_string(),
                       "userId": user_id.to_string()})
            }
            ServerEvent::ChatDeleted { chat_id, .. } if entered(&chat_id) => {
                json!({"type": "room_deleted", "roomId": chat_id.to_string()})
            }
            _ => return None,
        })
    }
}

/// A client frame's room id. Errors: 404 `chat_not_found` for one that is
/// not an id.
fn room(text: &str) -> Result<i64, AppError> {
    text.trim()
        .parse()
        .map_err(|_| AppError::not_found("chat_not_found", "This chat room does not exist."))
}

impl WsFrames for RoomSocket {
    async fn render(&mut self, payload: &[u8]) -> Rendered {
        let Ok(event) = serde_json::from_slice::<ServerEvent>(payload) else {
            return Rendered::Skip;
        };
        // A room the user left or that was deleted is no longer entered.
        let gone = match &event {
            ServerEvent::MemberLeft {
                chat_id, user_id, ..
            } if *user_id == self.auth.user_id => Some(*chat_id),
            ServerEvent::ChatDeleted { chat_id, .. } => Some(*chat_id),
            _ => None,
        };
        let frame = self.frame(event);
        if let Some(chat_id) = gone {
            self.rooms.remove(&chat_id);
        }
        frame.map_or(Rendered::Skip, |f| Rendered::Text(f.to_string()))
    }

    async fn translate(&mut self, text: &str) -> Translated {
        let frame = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => frame,
            Err(err) => {
                let message = format!("Not a frame this socket knows: {err}.");
                return Translated::reply(error("invalid_frame", &message).to_string());
            }
        };
        let room_id = match &frame {
            ClientFrame::Ping => return Translated::run(r#"{"type":"ping"}"#.to_owned()),
            ClientFrame::Join { room_id }
            | ClientFrame::Leave { room_id }
            | ClientFrame::Message { room_id, .. }
            | ClientFrame::Typing { room_id, .. } => room(room_id),
        };
        let chat_id = match room_id {
            Ok(chat_id) => chat_id,
            Err(err) => return Translated::reply(error(err.code(), &err.detail()).to_string()),
        };
        let native = match frame {
            ClientFrame::Join { .. } => return self.join(chat_id).await,
            ClientFrame::Leave { .. } => {
                self.rooms.remove(&chat_id);
                return Translated {
                    replies: vec![
                        json!({"type": "left", "roomId": chat_id.to_string()}).to_string(),
                    ],
                    native: Some(json!({"type": "leave_room", "chat_id": chat_id}).to_string()),
                };
            }
            ClientFrame::Message {
                content,
                client_message_id,
                ..
            } => json!({"type": "send", "chat_id": chat_id, "text": content,
                        "client_message_id": client_message_id}),
            ClientFrame::Typing { is_typing, .. } => {
                json!({"type": "typing", "chat_id": chat_id, "is_typing": is_typing.unwrap_or(true)})
            }
            ClientFrame::Ping => return Translated::default(),
        };
        Translated::run(native.to_string())
    }
}
