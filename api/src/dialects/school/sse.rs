//! Seed 002 §12 `GET /api/v1/sse/subscribe` (under `/compat/school`): the
//! native event stream's connection (the same ordering, catch-up and
//! `Last-Event-ID` resume), with the document's named events:
//!
//! - `message`: `{"type":"NEW_MESSAGE","conversationId","messageId",
//!   "senderName","content"}` for every new message of the caller's
//!   conversations (their own too, for their other devices);
//! - `read`: `{"type":"MESSAGE_READ","conversationId","readerId",
//!   "messageId"}` when a member read up to a message;
//! - `notification`: `{"type","title","content","conversationId",
//!   "messageId"}` for the caller's notifications (`NEW_MESSAGE`,
//!   `MENTION`; `content` is the message's text);
//! - `heartbeat`: `{"type":"HEARTBEAT"}` first, once the stream follows
//!   the caller's conversations (with an `id:` to resume from), then every
//!   `SSE_HEARTBEAT_INTERVAL_MS`.
//!
//! Everything else the native stream carries (edits, typing, members…) has
//! no seed 002 event and is not sent. Group and channel messages are not
//! conversations and are not sent either.

use std::collections::HashMap;
use std::time::Duration;

use actix_http::ws::CloseReason;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use parley_shared::domain::caller::AuthContext;
use parley_shared::domain::chats;
use parley_shared::domain::kinds::ChatType;
use parley_shared::domain::users;
use parley_shared::wire::native::events::ServerEvent;
use parley_shared::{AppContext, Settings};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::realtime::sse::open_stream;
use crate::realtime::transport::{Transport, resume_id};
use crate::state::ApiState;

/// §12: opens the stream. Errors as the native `GET /api/v1/sse/subscribe`.
pub async fn subscribe(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let (ctx, auth) = (state.ctx.clone(), caller.0);
    let opened = open_stream(req, state, caller, move |tx| SchoolSse {
        tx,
        ctx,
        auth,
        conversations: HashMap::new(),
        names: HashMap::new(),
    })
    .await?;
    Ok(opened)
}

/// Writes seed 002's events; remembers which chats are conversations and
/// the senders' names for the connection's life.
struct SchoolSse {
    tx: mpsc::Sender<Bytes>,
    ctx: AppContext,
    auth: AuthContext,
    conversations: HashMap<i64, bool>,
    names: HashMap<i64, String>,
}

impl SchoolSse {
    async fn is_conversation(&mut self, chat_id: i64) -> bool {
        if let Some(known) = self.conversations.get(&chat_id) {
            return *known;
        }
        let is = chats::get_chat(&self.ctx, &self.auth, chat_id)
            .await
            .is_ok_and(|d| d.chat.row.chat_type == ChatType::Private && !d.chat.row.is_saved);
        self.conversations.insert(chat_id, is);
        is
    }

    async fn name(&mut self, user_id: Option<i64>) -> String {
        let Some(id) = user_id else {
            return String::new();
        };
        if let Some(name) = self.names.get(&id) {
            return name.clone();
        }
        let name = users::get_user(&self.ctx, &self.auth, id)
            .await
            .map(|u| u.name)
            .unwrap_or_default();
        self.names.insert(id, name.clone());
        name
    }

    /// The document's event for a native frame, if it has one.
    async fn event(&mut self, payload: &[u8]) -> Option<(&'static str, Value)> {
        match serde_json::from_slice::<ServerEvent>(payload).ok()? {
            // The stream follows every conversation from here on: a
            // heartbeat (with an `id:` to resume from) says so at once.
            ServerEvent::Ready { .. } => Some(("heartbeat", json!({"type": "HEARTBEAT"}))),
            ServerEvent::MessageCreated {
                chat_id, message, ..
            } if self.is_conversation(chat_id).await => {
                let sender_name = self.name(message.sender_id).await;
                Some((
                    "message",
                    json!({"type": "NEW_MESSAGE", "conversationId": chat_id,
                           "messageId": message.id, "senderName": sender_name,
                           "content": message.text.unwrap_or_default()}),
                ))
            }
            ServerEvent::MessageRead {
                chat_id,
                user_id,
                message_id,
            } if self.is_conversation(chat_id).await => Some((
                "read",
                json!({"type": "MESSAGE_READ", "conversationId": chat_id,
                       "readerId": user_id, "messageId": message_id}),
            )),
            ServerEvent::Notification { notification } => {
                let (kind, title) = match notification.event_type.as_str() {
                    "mention" => ("MENTION", "You were mentioned"),
                    _ => ("NEW_MESSAGE", "New message"),
                };
                // The native payload is the message it is about.
                let about: Value = serde_json::from_str(&notification.payload).unwrap_or_default();
                Some((
                    "notification",
                    json!({"type": kind, "title": title,
                           "content": about["text"].as_str().unwrap_or_default(),
                           "conversationId": about["chat_id"], "messageId": about["message_id"]}),
                ))
            }
            _ => None,
        }
    }
}

impl Transport for SchoolSse {
    async fn send(
        &mut self,
        payload: &[u8],
        positions: &crate::realtime::ordering::Positions,
    ) -> bool {
        let Some((name, data)) = self.event(payload).await else {
            return true;
        };
        let frame = format!("{}event: {name}\ndata: {data}\n\n", resume_id(positions));
        self.tx.send(Bytes::from(frame)).await.is_ok()
    }

    async fn heartbeat(&mut self) -> bool {
        self.tx
            .send(Bytes::from_static(
                b"event: heartbeat\ndata: {\"type\":\"HEARTBEAT\"}\n\n",
            ))
            .await
            .is_ok()
    }

    async fn pong(&mut self, _: &[u8]) -> bool {
        true
    }

    async fn close(self, _: Option<CloseReason>) {}

    fn heartbeat_interval(&self, settings: &Settings) -> Duration {
        Duration::from_millis(settings.realtime.sse_heartbeat_interval_ms)
    }
}
