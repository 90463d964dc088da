//! Realtime clients: [`WsClient`] (WebSocket) and [`SseClient`]
//! (Server-Sent Events).

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::http::Api;

/// A WebSocket client that reads JSON frames with timeouts.
pub struct WsClient {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    /// The next JSON text frame within `timeout`, skipping `presence`
    /// frames (they come and go with other tests' sockets; ask for them
    /// with [`WsClient::expect_type`]). Pings are answered by the library.
    pub async fn next_json(&mut self, timeout: Duration) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self.next_any(left).await?;
            if frame["type"] != "presence" {
                return Ok(frame);
            }
        }
    }

    /// The next JSON text frame within `timeout`, whatever its type.
    pub async fn next_any(&mut self, timeout: Duration) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .map_err(|_| anyhow!("no frame within {timeout:?}"))?;
            match frame {
                Some(Ok(WsMessage::Text(text))) => return Ok(serde_json::from_str(&text)?),
                Some(Ok(WsMessage::Close(frame))) => bail!("socket closed: {frame:?}"),
                Some(Ok(_)) => continue,
                Some(Err(err)) => bail!("socket error: {err}"),
                None => bail!("socket ended"),
            }
        }
    }

    /// Skips frames until one of `kind` arrives within `timeout`.
    pub async fn expect_type(&mut self, kind: &str, timeout: Duration) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self.next_any(left).await?;
            if frame["type"] == kind {
                return Ok(frame);
            }
        }
    }

    /// Sends a JSON text frame.
    pub async fn send_json(&mut self, value: &Value) -> Result<()> {
        self.stream
            .send(WsMessage::Text(value.to_string().into()))
            .await?;
        Ok(())
    }

    /// Waits for the server to close the socket; returns the close code.
    /// Text frames before the close are returned too.
    pub async fn expect_close(&mut self, timeout: Duration) -> Result<(u16, Vec<Value>)> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut frames = Vec::new();
        loop {
            let frame = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .map_err(|_| anyhow!("not closed within {timeout:?}; got {frames:?}"))?;
            match frame {
                Some(Ok(WsMessage::Text(text))) => {
                    let frame: Value = serde_json::from_str(&text)?;
                    if frame["type"] != "presence" {
                        frames.push(frame);
                    }
                }
                Some(Ok(WsMessage::Close(Some(close)))) => return Ok((close.code.into(), frames)),
                Some(Ok(WsMessage::Close(None))) | None => return Ok((1005, frames)),
                Some(Ok(_)) => continue,
                Some(Err(err)) => bail!("socket error: {err}"),
            }
        }
    }

    /// Asserts that the next frame (other than `presence`) within `timeout`
    /// is the `message_created` of `message` (a `MessageRead`, or an ack's
    /// `message`), and returns it.
    ///
    /// How tests show that something did *not* arrive: make a later event
    /// happen on the same path (here, a message sent after it), then check
    /// that the very next frame is that later event. Nothing that was merely
    /// late can slip past it, unlike a quiet window.
    pub async fn expect_next_message(&mut self, message: &Value, timeout: Duration) -> Value {
        let frame = self
            .next_json(timeout)
            .await
            .unwrap_or_else(|err| panic!("expected message {}: {err}", message["id"]));
        assert!(
            frame["type"] == "message_created" && frame["message"]["id"] == message["id"],
            "expected message {} to be the next frame, got {frame}",
            message["id"]
        );
        frame
    }
}

/// One Server-Sent Event, or a comment line (`comment` set, the rest empty).
#[derive(Debug, Clone, Default)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: Value,
    pub comment: Option<String>,
}

/// A client of `GET /api/v1/sse/subscribe` that parses the stream.
pub struct SseClient {
    response: reqwest::Response,
    buffer: String,
}

impl SseClient {
    /// Opens the stream with a bearer token and, optionally, `Last-Event-ID`.
    pub async fn connect(api: &Api, token: &str, last_event_id: Option<&str>) -> Result<SseClient> {
        Self::connect_at(api, "/api/v1/sse/subscribe", token, last_event_id).await
    }

    /// [`SseClient::connect`] to the stream at `path` (a dialect's).
    pub async fn connect_at(
        api: &Api,
        path: &str,
        token: &str,
        last_event_id: Option<&str>,
    ) -> Result<SseClient> {
        let client = reqwest::Client::new();
        let mut req = client
            .get(format!("{}{path}", api.base))
            .bearer_auth(token)
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let response = req.send().await?;
        if !response.status().is_success() {
            bail!("status {}", response.status());
        }
        Ok(SseClient {
            response,
            buffer: String::new(),
        })
    }

    /// The next event or comment within `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Result<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent::default();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(rest) = line.strip_prefix(':') {
                        event.comment = Some(rest.trim().to_owned());
                    } else if let Some((field, value)) = line.split_once(": ") {
                        match field {
                            "id" => event.id = Some(value.to_owned()),
                            "event" => event.event = Some(value.to_owned()),
                            "data" => data.push_str(value),
                            _ => {}
                        }
                    }
                }
                if !data.is_empty() {
                    event.data = serde_json::from_str(&data)?;
                }
                return Ok(event);
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .map_err(|_| anyhow!("no SSE event within {timeout:?}"))??
                .ok_or_else(|| anyhow!("SSE stream ended"))?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event (not a comment) within `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> Result<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next(left).await?;
            if event.comment.is_none() {
                return Ok(event);
            }
        }
    }
}
