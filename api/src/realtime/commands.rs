//! Client frames (docs/realtime.md, "Frames the client sends") as one
//! tagged enum, the error frames that answer a refused one, and the task
//! that runs a socket's database commands in order, off its delivery path.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use parley_shared::AppError;
use parley_shared::domain::accounts::AuthContext;
use parley_shared::domain::messages::{self, MessageCreateRequest};
use parley_shared::domain::receipts::{self, ReceiptKind, StatusUpdateRequest};
use parley_shared::domain::validate;
use parley_shared::wire::native::events::ServerEvent;
use parley_shared::wire::native::render;
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::state::ApiState;

/// What a client may ask over its socket. Every frame may also carry a
/// `ref` (string or number) that the answer echoes.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientCommand {
    /// → `pong`.
    Ping,
    /// Replay each chat after the given seq, then `resumed`.
    Resume { chats: BTreeMap<String, i64> },
    /// Send a message (the rules of `POST /messages`) → `ack`.
    Send(MessageCreateRequest),
    /// Move the read position.
    Read { chat_id: i64, message_id: i64 },
    /// Move the delivered position.
    Delivered { chat_id: i64, message_id: i64 },
    /// Typing in a chat (default `true`).
    Typing {
        chat_id: i64,
        #[serde(default)]
        is_typing: Option<bool>,
    },
    /// Focus a chat: its typing signals reach this socket.
    JoinRoom { chat_id: i64 },
    /// Stop focusing a chat.
    LeaveRoom { chat_id: i64 },
}

impl ClientCommand {
    /// Whether the command reads or writes the database: such commands run
    /// in order on the socket's command task, off the delivery path.
    pub fn uses_database(&self) -> bool {
        matches!(
            self,
            ClientCommand::Send(_) | ClientCommand::Read { .. } | ClientCommand::Delivered { .. }
        )
    }
}

/// The frame types [`ClientCommand`] knows.
const KNOWN: &[&str] = &[
    "ping",
    "resume",
    "send",
    "read",
    "delivered",
    "typing",
    "join_room",
    "leave_room",
];

/// The part of a frame read before its command: its type and `ref`.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "ref", default)]
    reference: Option<serde_json::Value>,
}

/// Reads one text frame: its `ref` and command, or the bytes of the error
/// frame that answers it (`malformed_frame`, `unknown_frame`,
/// `invalid_frame`, or `validation_error` for a NUL character in any
/// string).
pub fn parse(text: &str) -> Result<(Option<String>, ClientCommand), Bytes> {
    read(text).map_err(|error| error.to_bytes())
}

fn read(text: &str) -> Result<(Option<String>, ClientCommand), Box<ServerEvent>> {
    let envelope: Envelope = serde_json::from_str(text).map_err(|_| {
        Box::new(error_frame(
            "malformed_frame",
            "A frame is a JSON object with a \"type\".",
            None,
        ))
    })?;
    let reference = envelope.reference.map(|r| match r {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    });
    // PostgreSQL refuses NUL in text: refuse the frame, naming the field.
    if text.contains("\\u0000")
        && let Some(field) = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| validate::nul_path(&v))
    {
        return Err(Box::new(app_error_frame(
            &validate::nul_error(field),
            reference,
        )));
    }
    if !KNOWN.contains(&envelope.kind.as_str()) {
        return Err(Box::new(error_frame(
            "unknown_frame",
            &format!("Unknown frame type {:?}.", envelope.kind),
            reference,
        )));
    }
    match serde_json::from_str::<ClientCommand>(text) {
        Ok(command) => Ok((reference, command)),
        Err(err) if envelope.kind == "resume" => Err(Box::new(error_frame(
            "invalid_frame",
            &format!("resume needs chats: {{\"<chat_id>\": <last_seq>}} ({err})"),
            reference,
        ))),
        Err(err) => Err(Box::new(error_frame(
            "invalid_frame",
            &format!("Invalid {} frame: {}", envelope.kind, strip_position(&err)),
            reference,
        ))),
    }
}

fn strip_position(err: &serde_json::Error) -> String {
    let msg = err.to_string();
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    }
}

/// The error frame answering a refused command, with the REST code.
pub fn app_error_frame(err: &AppError, reference: Option<String>) -> ServerEvent {
    if let AppError::Internal(cause) = err {
        tracing::error!(
            error = format!("{cause:#}"),
            "internal error answering a frame"
        );
    }
    error_frame(err.code(), &err.detail(), reference)
}

/// `{"type": "error", "detail", "code", "ref"}`.
pub fn error_frame(code: &str, detail: &str, reference: Option<String>) -> ServerEvent {
    ServerEvent::Error {
        detail: detail.to_owned(),
        code: code.to_owned(),
        reference,
    }
}

/// `ack` with only the `ref`.
pub(crate) fn ack(reference: String) -> ServerEvent {
    ServerEvent::Ack {
        reference: Some(reference),
        message: None,
    }
}

/// A socket's command task: database commands (`send`, `read`,
/// `delivered`) in, their answers out. Started by the first such command,
/// so that an idle socket runs one task, not two (issue 13, item 4).
pub(crate) struct CommandTask {
    pub(crate) commands: mpsc::Sender<(Option<String>, ClientCommand)>,
    answers: mpsc::Receiver<Bytes>,
}

impl CommandTask {
    pub(crate) fn start(state: Arc<ApiState>, auth: AuthContext) -> CommandTask {
        let (commands, queued) = mpsc::channel(COMMAND_QUEUE);
        let (answers_tx, answers) = mpsc::channel(COMMAND_QUEUE);
        tokio::spawn(run_commands(state, auth, queued, answers_tx));
        CommandTask { commands, answers }
    }
}

/// The next answer of the command task; never resolves before it starts.
pub(crate) async fn next_answer(task: &mut Option<CommandTask>) -> Option<Bytes> {
    match task {
        Some(task) => task.answers.recv().await,
        None => std::future::pending().await,
    }
}

/// Database commands (`send`, `read`, `delivered`) a socket may have in
/// flight; past it a command is refused with `too_many_commands`.
const COMMAND_QUEUE: usize = 64;

/// Runs the database commands of one socket, one at a time and in order
/// (a client's sends keep their order), and hands each answer back to the
/// socket loop. Ends when the socket drops its sender.
async fn run_commands(
    state: Arc<ApiState>,
    auth: AuthContext,
    mut commands: mpsc::Receiver<(Option<String>, ClientCommand)>,
    answers: mpsc::Sender<Bytes>,
) {
    while let Some((reference, command)) = commands.recv().await {
        let answer = match command {
            ClientCommand::Send(req) => {
                match messages::send_message(&state.ctx, auth.user_id, &req).await {
                    Ok((message, _)) => Some(ServerEvent::Ack {
                        reference,
                        message: Some(render::message_view(&message)),
                    }),
                    Err(err) => Some(app_error_frame(&err, reference)),
                }
            }
            ClientCommand::Read {
                chat_id,
                message_id,
            }
            | ClientCommand::Delivered {
                chat_id,
                message_id,
            } => {
                let status = if matches!(command, ClientCommand::Read { .. }) {
                    ReceiptKind::MessageRead
                } else {
                    ReceiptKind::MessageDelivered
                };
                receipt(&state, &auth, chat_id, message_id, status, reference).await
            }
            // Not database commands: the socket answers them itself.
            _ => None,
        };
        if let Some(answer) = answer
            && answers.send(answer.to_bytes()).await.is_err()
        {
            return;
        }
    }
}

/// `read` / `delivered`: moves the position; answers only a frame with a
/// `ref`, or a refusal.
async fn receipt(
    state: &ApiState,
    auth: &AuthContext,
    chat_id: i64,
    message_id: i64,
    status: ReceiptKind,
    reference: Option<String>,
) -> Option<ServerEvent> {
    let req = StatusUpdateRequest {
        chat_id,
        message_id,
        status,
    };
    match receipts::update_status(&state.ctx, auth, &req).await {
        Ok(_) => reference.map(ack),
        Err(err) => Some(app_error_frame(&err, reference)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn code(frame: &Bytes) -> String {
        let value: serde_json::Value = serde_json::from_slice(frame).unwrap_or_default();
        value["code"].as_str().unwrap_or_default().to_owned()
    }

    #[test]
    fn frames_parse_into_commands_with_their_ref() {
        let parsed = parse(r#"{"type":"ping","ref":7}"#);
        assert!(matches!(parsed, Ok((Some(ref r), ClientCommand::Ping)) if r == "7"));
        let parsed =
            parse(r#"{"type":"send","ref":"a","chat_id":3,"text":"hi","client_message_id":"c1"}"#);
        match parsed {
            Ok((Some(r), ClientCommand::Send(req))) => {
                assert_eq!(r, "a");
                assert_eq!(req.chat_id, 3);
                assert_eq!(
                    req.message_type, None,
                    "the frame's type is not the message's"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(r#"{"type":"typing","chat_id":1}"#),
            Ok((
                None,
                ClientCommand::Typing {
                    chat_id: 1,
                    is_typing: None
                }
            ))
        ));
    }

    #[test]
    fn refused_frames_say_why() {
        assert_eq!(code(&parse("nope").unwrap_err()), "malformed_frame");
        assert_eq!(
            code(&parse(r#"{"type":"dance"}"#).unwrap_err()),
            "unknown_frame"
        );
        assert_eq!(
            code(&parse(r#"{"type":"read","chat_id":1}"#).unwrap_err()),
            "invalid_frame"
        );
        assert_eq!(
            code(&parse(r#"{"type":"resume"}"#).unwrap_err()),
            "invalid_frame"
        );
        assert_eq!(
            code(&parse(r#"{"type":"send","chat_id":1,"text":"a\u0000"}"#).unwrap_err()),
            "validation_error"
        );
    }
}
