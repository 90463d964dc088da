//! How a realtime connection's frames leave: a WebSocket session, or an
//! SSE response body (seed 002 §12). The socket task
//! ([`super::socket`]) is the same for both.

use std::borrow::Cow;
use std::time::Duration;

use actix_http::ws::CloseReason;
use bytes::Bytes;
use parley_shared::Settings;
use parley_shared::domain::catchup::UpdatesToken;
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::realtime::ordering::Positions;
use crate::realtime::ws::WsWriter;

/// One way of sending frames to a client.
pub(crate) trait Transport {
    /// Sends one event (JSON bytes). `positions` is where each followed chat
    /// stands once this event is sent. `false` when the client is gone.
    async fn send(&mut self, payload: &[u8], positions: &Positions) -> bool;
    /// Keeps the connection alive; `false` when the client is gone.
    async fn heartbeat(&mut self) -> bool;
    /// Answers a client's ping (WebSocket only).
    async fn pong(&mut self, bytes: &[u8]) -> bool;
    /// Ends the connection; waits for the client (a WebSocket's close
    /// handshake), so callers bound it.
    async fn close(self, reason: Option<CloseReason>);
    /// How often [`Transport::heartbeat`] runs.
    fn heartbeat_interval(&self, settings: &Settings) -> Duration;
    /// Reads one client text frame: the native frame to run (docs/realtime.md,
    /// "Frames the client sends"), or `None` when the transport answered it
    /// itself. A dialect's socket translates its own frames here.
    async fn client_frame<'a>(&mut self, text: &'a str) -> Option<Cow<'a, str>> {
        Some(Cow::Borrowed(text))
    }
    /// Whether live events wait for the client's first frame (the native
    /// protocol's `resume`); a dialect without `resume` starts at once.
    fn waits_for_resume(&self) -> bool {
        true
    }
    /// A chat focused from the start (a per-room socket): its typing
    /// signals reach this connection without a `join_room`.
    fn focus(&self) -> Option<i64> {
        None
    }
}

/// A WebSocket: each event is one text frame.
pub(crate) struct WsTransport(pub WsWriter);

impl Transport for WsTransport {
    async fn send(&mut self, payload: &[u8], _: &Positions) -> bool {
        self.0.text(payload).await
    }

    async fn heartbeat(&mut self) -> bool {
        self.0.ping(b"").await
    }

    async fn pong(&mut self, bytes: &[u8]) -> bool {
        self.0.pong(bytes).await
    }

    async fn close(self, reason: Option<CloseReason>) {
        self.0.close(reason).await;
    }

    fn heartbeat_interval(&self, settings: &Settings) -> Duration {
        Duration::from_millis(settings.realtime.ws_heartbeat_interval_ms)
    }
}

/// The `id: <token>` line of an SSE event: the positions in every chat,
/// as `GET /updates` takes them, so that `Last-Event-ID` resumes exactly.
pub(crate) fn resume_id(positions: &Positions) -> String {
    let token = UpdatesToken {
        version: 1,
        seqs: positions.as_map().iter().map(|(c, s)| (*c, *s)).collect(),
    };
    format!("id: {}\n", token.encode())
}

/// An SSE stream: `event: <type>` / `data: <json>`, with `id:` = a resume
/// token (the positions in every chat, as `GET /updates` takes it) on
/// `ready` and on every chat event, so that `Last-Event-ID` resumes
/// exactly; a `: heartbeat` comment every `SSE_HEARTBEAT_INTERVAL_MS`
/// (15 s by default; seed 002 §12).
pub(crate) struct SseTransport(pub mpsc::Sender<Bytes>);

#[derive(Deserialize)]
struct Head {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    seq: Option<i64>,
}

impl Transport for SseTransport {
    async fn send(&mut self, payload: &[u8], positions: &Positions) -> bool {
        let Ok(head) = serde_json::from_slice::<Head>(payload) else {
            return true;
        };
        let mut frame = String::with_capacity(payload.len() + 64);
        if head.kind == "ready" || head.seq.is_some() {
            frame.push_str(&resume_id(positions));
        }
        frame.push_str("event: ");
        frame.push_str(&head.kind);
        frame.push_str("\ndata: ");
        frame.push_str(&String::from_utf8_lossy(payload));
        frame.push_str("\n\n");
        self.0.send(Bytes::from(frame)).await.is_ok()
    }

    async fn heartbeat(&mut self) -> bool {
        self.0
            .send(Bytes::from_static(b": heartbeat\n\n"))
            .await
            .is_ok()
    }

    async fn pong(&mut self, _: &[u8]) -> bool {
        true
    }

    async fn close(self, _: Option<CloseReason>) {
        // Dropping the sender ends the response body.
    }

    fn heartbeat_interval(&self, settings: &Settings) -> Duration {
        Duration::from_millis(settings.realtime.sse_heartbeat_interval_ms)
    }
}

/// What a dialect's socket says in its own words: the rest (heartbeats,
/// pongs, the close) is the native WebSocket's ([`DialectWs`]).
pub(crate) trait WsFrames {
    /// The dialect's frame for a native event (its JSON bytes).
    async fn render(&mut self, payload: &[u8]) -> Rendered;
    /// A client text frame: what to answer at once, and the native frame
    /// to run (docs/realtime.md, "Frames the client sends"), if any.
    async fn translate(&mut self, text: &str) -> Translated;
    /// A chat focused from the start (a per-room socket).
    fn focus(&self) -> Option<i64> {
        None
    }
}

/// What a native event becomes on a dialect's socket.
pub(crate) enum Rendered {
    /// Nothing: the dialect has no such event, or not for this socket.
    Skip,
    /// One text frame.
    Text(String),
    /// The socket ends (its room is gone for the caller).
    Close(CloseReason),
}

/// What a dialect's client frame asks for.
#[derive(Default)]
pub(crate) struct Translated {
    /// Frames written back at once, before the native frame runs (an
    /// error, a `joined` with the room's messages…).
    pub replies: Vec<String>,
    /// The native frame to run.
    pub native: Option<String>,
}

impl Translated {
    /// Only an answer, nothing to run.
    pub(crate) fn reply(frame: String) -> Translated {
        Translated {
            replies: vec![frame],
            native: None,
        }
    }

    /// Only a native frame to run.
    pub(crate) fn run(native: String) -> Translated {
        Translated {
            replies: Vec::new(),
            native: Some(native),
        }
    }
}

/// A dialect's socket: its [`WsFrames`] on the native WebSocket.
pub(crate) struct DialectWs<F> {
    ws: WsTransport,
    frames: F,
    /// Set when a rendered event ended the socket.
    closing: Option<CloseReason>,
}

impl<F: WsFrames> DialectWs<F> {
    pub(crate) fn new(writer: WsWriter, frames: F) -> DialectWs<F> {
        DialectWs {
            ws: WsTransport(writer),
            frames,
            closing: None,
        }
    }

    async fn text(&mut self, frame: String) -> bool {
        self.ws.0.text(frame.as_bytes()).await
    }
}

impl<F: WsFrames> Transport for DialectWs<F> {
    async fn send(&mut self, payload: &[u8], _: &Positions) -> bool {
        match self.frames.render(payload).await {
            Rendered::Skip => true,
            Rendered::Text(frame) => self.text(frame).await,
            Rendered::Close(reason) => {
                self.closing = Some(reason);
                false
            }
        }
    }

    async fn heartbeat(&mut self) -> bool {
        self.ws.heartbeat().await
    }

    async fn pong(&mut self, bytes: &[u8]) -> bool {
        self.ws.pong(bytes).await
    }

    async fn close(self, reason: Option<CloseReason>) {
        self.ws.close(reason.or(self.closing)).await;
    }

    fn heartbeat_interval(&self, settings: &Settings) -> Duration {
        self.ws.heartbeat_interval(settings)
    }

    async fn client_frame<'a>(&mut self, text: &'a str) -> Option<Cow<'a, str>> {
        let Translated { replies, native } = self.frames.translate(text).await;
        for reply in replies {
            // A client gone is noticed on the socket's next write.
            if !self.text(reply).await {
                return None;
            }
        }
        native.map(Cow::Owned)
    }

    fn waits_for_resume(&self) -> bool {
        false
    }

    fn focus(&self) -> Option<i64> {
        self.frames.focus()
    }
}
