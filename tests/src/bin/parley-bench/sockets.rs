//! The members' sockets: opening them (native or seed 003's) and reading
//! each until told to stop, counting deliveries, latency and duplicates.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use parley_tests::Api;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::{Reader, now_us};

/// What one member's socket saw.
pub struct Received {
    pub latency_us: Histogram<u64>,
    /// Message ids, once each.
    pub seen: HashSet<i64>,
    pub duplicates: u64,
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn open_socket(api: &Api, token: &str) -> anyhow::Result<Socket> {
    let mut request = api.ws_url().into_client_request()?;
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}"))?,
    );
    let (mut stream, _) = tokio_tungstenite::connect_async(request).await?;
    // Wait for `ready`, and open the live gate at once.
    while let Some(frame) = stream.next().await {
        if let WsMessage::Text(text) = frame?
            && text.contains("\"ready\"")
        {
            break;
        }
    }
    stream
        .send(WsMessage::Text(json!({"type": "ping"}).to_string().into()))
        .await?;
    Ok(stream)
}

/// A seed 003 socket (`/chat`, the `jwt_token` cookie) that has joined
/// `chats`.
pub async fn open_room_socket(api: &Api, token: &str, chats: &[i64]) -> anyhow::Result<Socket> {
    let mut request =
        format!("{}/chat", api.base.replacen("http", "ws", 1)).into_client_request()?;
    request.headers_mut().insert(
        "cookie",
        HeaderValue::from_str(&format!("jwt_token={token}"))?,
    );
    let (mut stream, _) = tokio_tungstenite::connect_async(request).await?;
    for chat in chats {
        let join = json!({"type": "join", "roomId": chat.to_string()});
        stream
            .send(WsMessage::Text(join.to_string().into()))
            .await?;
        while let Some(frame) = stream.next().await {
            if let WsMessage::Text(text) = frame?
                && text.contains("\"type\":\"joined\"")
            {
                break;
            }
        }
    }
    Ok(stream)
}

/// The number after `key` in `text` (no JSON parse: readers must be cheap).
fn number_after(text: &str, key: &str) -> Option<u64> {
    let start = text.find(key)? + key.len();
    let digits: &str = &text[start..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// Reads one member's socket until `stop`: latency and message ids.
pub fn spawn_reader(
    reader: Reader,
    mut stream: Socket,
    deliveries: Arc<AtomicU64>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Received> {
    tokio::spawn(async move {
        let mut r = Received {
            latency_us: Histogram::new(3).expect("histogram"),
            seen: HashSet::new(),
            duplicates: 0,
        };
        loop {
            let frame = tokio::select! {
                frame = stream.next() => frame,
                _ = stop.changed() => break,
            };
            let Some(Ok(WsMessage::Text(text))) = frame else {
                if frame.is_none() {
                    break;
                }
                continue;
            };
            let text = text.as_str();
            // Live frames and frames replayed from the log (whose keys the
            // database re-sorted) both match these scans.
            let (kind, id_key, text_key) = match reader {
                Reader::Native => (
                    "\"type\":\"message_created\"",
                    "\"id\":",
                    "\"text\":\"bench|",
                ),
                Reader::Chatrooms => (
                    "\"type\":\"message\"",
                    "\"messageId\":\"",
                    "\"content\":\"bench|",
                ),
            };
            if !text.contains(kind) {
                continue;
            }
            let now = now_us();
            // The native frame nests the message; seed 003's is flat.
            let message = match reader {
                Reader::Native => text.find("\"message\":{").map(|at| &text[at..]),
                Reader::Chatrooms => Some(text),
            };
            let id = message
                .and_then(|m| number_after(m, id_key))
                .map_or(-1, |v| v as i64);
            deliveries.fetch_add(1, Ordering::Relaxed);
            if !r.seen.insert(id) {
                r.duplicates += 1;
                continue;
            }
            if let Some(sent) = number_after(text, text_key) {
                let _ = r.latency_us.record(now.saturating_sub(sent).max(1));
            }
        }
        r
    })
}
