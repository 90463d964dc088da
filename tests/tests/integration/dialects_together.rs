//! Issue 11's promise, all at once: one private chat followed through the
//! native socket, the native stream and the realtime part of every dialect
//! (002's stream, 003's socket, 000's socket, 001's per-room socket),
//! spread over two replicas, while messages are sent concurrently through
//! every API's REST send and every socket that can send. Each client sees
//! every message exactly once, in the chat's order (the order of the
//! native history).

use std::time::Duration;

use futures_util::future::join_all;
use parley_tests::{Api, SseClient, TestApp, TestUser, WsClient, tok};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(20);
/// Rounds of concurrent sends; each round sends one message through each
/// REST API, and each sending socket sends one per round.
const ROUNDS: usize = 4;
const LAST: &str = "last";

/// Which API a client speaks.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    NativeWs,
    NativeSse,
    /// Seed 002's stream.
    School,
    /// Seed 003's socket.
    Chatrooms,
    /// Seed 000's socket.
    Focusmate,
    /// Seed 001's per-room socket.
    Campus,
}

/// What a frame says about messages.
enum Seen {
    /// A new message with this text.
    Message(String),
    /// The answer to the client's own send of this text.
    Sent(String),
    Other,
}

enum Conn {
    Ws(WsClient),
    Sse(SseClient),
}

/// One connected client of the chat `chat` (in Parley's ids).
struct Client {
    kind: Kind,
    chat: i64,
    conn: Conn,
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a text, got {value}"))
        .to_owned()
}

impl Client {
    /// The next frame or event, read in this client's vocabulary.
    async fn next(&mut self) -> Seen {
        let (name, data) = match &mut self.conn {
            Conn::Ws(ws) => {
                let frame = ws.next_json(WAIT).await.unwrap_or_else(|err| {
                    panic!("{:?}: no frame within {WAIT:?}: {err}", self.kind)
                });
                (frame["type"].as_str().unwrap_or_default().to_owned(), frame)
            }
            Conn::Sse(sse) => {
                let event = sse.next_event(WAIT).await.unwrap_or_else(|err| {
                    panic!("{:?}: no event within {WAIT:?}: {err}", self.kind)
                });
                (event.event.unwrap_or_default(), event.data)
            }
        };
        assert_ne!(name, "error", "{:?} was refused: {data}", self.kind);
        match (self.kind, name.as_str()) {
            (Kind::NativeWs | Kind::NativeSse, "message_created") => {
                Seen::Message(text(&data["message"]["text"]))
            }
            (Kind::NativeWs, "ack") if data["message"].is_object() => {
                Seen::Sent(text(&data["message"]["text"]))
            }
            (Kind::School | Kind::Chatrooms | Kind::Campus, "message") => {
                Seen::Message(text(&data["content"]))
            }
            (Kind::Chatrooms, "sent") => Seen::Sent(text(&data["content"])),
            (Kind::Focusmate, "message") => Seen::Message(text(&data["message"]["content"])),
            _ => Seen::Other,
        }
    }

    /// Sends `body` as a new message over this client's socket.
    async fn send(&mut self, body: &str) {
        let frame = match self.kind {
            Kind::NativeWs => json!({"type": "send", "chat_id": self.chat, "text": body,
                                     "client_message_id": uuid::Uuid::new_v4().to_string()}),
            Kind::Chatrooms => {
                json!({"type": "message", "roomId": self.chat.to_string(), "content": body})
            }
            Kind::Campus => json!({"type": "message", "content": body, "message_type": "text"}),
            kind => panic!("{kind:?} does not send over its realtime connection"),
        };
        let Conn::Ws(ws) = &mut self.conn else {
            unreachable!("every sending client is a socket")
        };
        ws.send_json(&frame).await.unwrap();
    }
}

/// Follows the chat until [`LAST`], first sending `sends` one by one (each
/// once the previous one was answered) and then saying so on `done`.
/// Returns the texts of the messages seen, in the order seen.
async fn follow(
    mut client: Client,
    sends: Vec<String>,
    done: mpsc::Sender<()>,
) -> (Kind, Vec<String>) {
    let mut seen = Vec::new();
    for body in sends {
        client.send(&body).await;
        loop {
            match client.next().await {
                Seen::Sent(t) if t == body => break,
                Seen::Message(t) => {
                    let answered = t == body;
                    seen.push(t);
                    if answered {
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    drop(done);
    while seen.last().map(String::as_str) != Some(LAST) {
        if let Seen::Message(t) = client.next().await {
            seen.push(t);
        }
    }
    (client.kind, seen)
}

/// Sends `body` to the chat over one REST API: `Kind::NativeWs` for the
/// native `POST /api/v1/messages`, a dialect's kind for its own send.
/// `focus_room` is the chat's seed 000 room id.
async fn rest_send(
    kind: Kind,
    api: &Api,
    user: &TestUser,
    chat: i64,
    focus_room: &str,
    body: &str,
) {
    let (path, payload, created) = match kind {
        Kind::NativeWs => {
            api.send_text(user, chat, body).await;
            return;
        }
        Kind::School => (
            "/compat/school/api/v1/messages".to_owned(),
            json!({"conversationId": chat, "content": body}),
            StatusCode::OK,
        ),
        Kind::Chatrooms => (
            format!("/api/chatrooms/{chat}/messages"),
            json!({"userId": user.id.to_string(), "content": body}),
            StatusCode::OK,
        ),
        Kind::Focusmate => (
            format!("/api/v1/chats/rooms/{focus_room}/messages"),
            json!({"content": body}),
            StatusCode::CREATED,
        ),
        Kind::Campus => (
            format!("/chat/rooms/{chat}/messages/"),
            json!({"message_content": body, "message_type": "text"}),
            StatusCode::CREATED,
        ),
        Kind::NativeSse => unreachable!("the native REST send is NativeWs"),
    };
    let (status, answer) = api.post(&path, tok(user), &payload).await;
    assert_eq!(status, created, "{kind:?} send of {body}: {answer}");
}

/// A socket at `path` (its query carries any token), with `headers`.
async fn socket(api: &Api, path: &str, headers: &[(&str, &str)]) -> WsClient {
    api.open_ws(path, headers)
        .await
        .unwrap_or_else(|(status, body)| panic!("{path} refused: {status} {body}"))
}

/// Reads `client` until a frame of type `kind`, and returns it.
async fn until(ws: &mut WsClient, kind: &str) -> Value {
    ws.expect_type(kind, WAIT)
        .await
        .unwrap_or_else(|err| panic!("no {kind}: {err}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_sees_every_message_of_a_chat_once_and_in_order() {
    let app = TestApp::spawn().await;
    let second = app.replica().await;
    let (one, two) = (&app.api, &second.api);
    let a = one.register_and_login("togetherkim").await;
    let b = two.register_and_login("togetherlee").await;
    let chat = one.private_chat(&a, &b).await;
    // Seed 000's direct room of the two is the same chat.
    let (status, direct) = two
        .post(
            "/api/v1/chats/rooms/direct",
            tok(&b),
            &json!({"recipient_id": a.id.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{direct}");
    let focus_room = text(&direct["room_id"]);

    // Every client follows the chat before anything is sent.
    let native_ws = one.connect_ws(&a.access_token).await;
    let mut native_sse = SseClient::connect(two, &b.access_token, None)
        .await
        .unwrap();
    let ready = native_sse.next_event(WAIT).await.unwrap();
    assert_eq!(ready.event.as_deref(), Some("ready"));
    let mut school = SseClient::connect_at(
        one,
        "/compat/school/api/v1/sse/subscribe",
        &b.access_token,
        None,
    )
    .await
    .unwrap();
    let first = school.next_event(WAIT).await.unwrap();
    assert_eq!(
        first.event.as_deref(),
        Some("heartbeat"),
        "the stream follows"
    );
    let cookie = format!("jwt_token={}", a.access_token);
    let mut rooms = socket(two, "/chat", &[("cookie", &cookie)]).await;
    until(&mut rooms, "connected").await;
    rooms
        .send_json(&json!({"type": "join", "roomId": chat.to_string()}))
        .await
        .unwrap();
    let joined = until(&mut rooms, "joined").await;
    assert_eq!(joined["messages"], json!([]), "{joined}");
    let mut focus = socket(
        one,
        &format!("/api/v1/chats/ws?token={}", b.access_token),
        &[],
    )
    .await;
    focus
        .send_json(&json!({"type": "join_room", "room_id": focus_room}))
        .await
        .unwrap();
    until(&mut focus, "joined").await;
    let campus_path = format!("/chat/ws/{chat}?token={}", a.access_token);
    let mut campus = socket(two, &campus_path, &[]).await;
    until(&mut campus, "connected").await;

    let clients = [
        (Kind::NativeWs, Conn::Ws(native_ws)),
        (Kind::NativeSse, Conn::Sse(native_sse)),
        (Kind::School, Conn::Sse(school)),
        (Kind::Chatrooms, Conn::Ws(rooms)),
        (Kind::Focusmate, Conn::Ws(focus)),
        (Kind::Campus, Conn::Ws(campus)),
    ];
    let (done, mut all_done) = mpsc::channel::<()>(1);
    let followers = join_all(clients.into_iter().map(|(kind, conn)| {
        let sends = match kind {
            Kind::NativeWs | Kind::Chatrooms | Kind::Campus => (0..ROUNDS)
                .map(|round| format!("{kind:?} socket {round}"))
                .collect(),
            _ => Vec::new(),
        };
        follow(Client { kind, chat, conn }, sends, done.clone())
    }));
    drop(done);

    // Each round sends through every REST API at once, from both users
    // and both replicas; then, once every socket's sends were answered,
    // the last message.
    let senders = async {
        let rest = [
            (Kind::NativeWs, one, &a),
            (Kind::School, two, &b),
            (Kind::Chatrooms, one, &b),
            (Kind::Focusmate, two, &a),
            (Kind::Campus, one, &b),
        ];
        let focus_room = focus_room.as_str();
        for round in 0..ROUNDS {
            join_all(rest.iter().map(|(kind, api, user)| {
                let body = format!("{kind:?} rest {round}");
                async move { rest_send(*kind, api, user, chat, focus_room, &body).await }
            }))
            .await;
        }
        // Every follower's `done` is dropped once its sends were answered.
        assert!(all_done.recv().await.is_none());
        one.send_text(&b, chat, LAST).await;
    };
    let (seen, ()) = tokio::join!(followers, senders);

    let (status, history) = one
        .get(&format!("/api/v1/messages/{chat}?limit=100"), tok(&a))
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let history: Vec<String> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| text(&m["text"]))
        .collect();
    assert_eq!(history.len(), ROUNDS * 5 + ROUNDS * 3 + 1, "{history:?}");
    let mut distinct = history.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), history.len(), "each send made one message");
    for (kind, texts) in seen {
        assert_eq!(texts, history, "{kind:?} saw every message once, in order");
    }
}
