//! Seed 001's per-room socket `/chat/ws/{room_id}?token=` as its Flutter
//! client uses it, across two replicas: the HTTP refusals before the
//! upgrade, `message` (sent over the socket or REST, to every socket of
//! the room, the sender's too, and only the room's), `typing`,
//! `user_status` online / offline, `message_read`, refused frames, and the
//! close when the caller leaves the room.

use parley_tests::{Api, TestApp, TestUser, WsClient, tok};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{P, WAIT, create_room, is_detail, is_local_time, page, send};

/// A room socket's path (with its `?token=`) under `prefix` (`""` or
/// [`P`]).
fn room_path(prefix: &str, room: impl std::fmt::Display, token: &str) -> String {
    format!("{prefix}/chat/ws/{room}?token={token}")
}

/// Opens `user`'s socket of `room` and waits for its first frame.
async fn open_room(api: &Api, prefix: &str, room: i64, user: &TestUser) -> WsClient {
    let mut ws = api
        .open_ws(&room_path(prefix, room, &user.access_token), &[])
        .await
        .unwrap_or_else(|(status, body)| panic!("room socket refused: {status} {body}"));
    let first = ws.next_json(WAIT).await.unwrap();
    assert_eq!(
        first,
        json!({"type": "connected", "room_id": room, "user_id": user.id})
    );
    ws
}

/// The refusal of a socket that should not open: its status, and a
/// `{"detail"}` body.
async fn refused(api: &Api, path: &str) -> StatusCode {
    match api.open_ws(path, &[]).await {
        Ok(_) => panic!("{path} opened"),
        Err((status, body)) => {
            assert!(body["detail"].is_string(), "{path}: {body}");
            status
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_socket_speaks_the_document_across_two_replicas() {
    let app = TestApp::spawn().await;
    let second = app.replica().await;
    let (one, two) = (&app.api, &second.api);
    let a = one.register_and_login("wsparkjh").await;
    let b = two.register_and_login("wskimcs").await;
    let outsider = one.register_and_login("wsoutsider").await;
    let (_, direct) = create_room(
        one,
        &a,
        json!({"room_type": "direct", "participant_ids": [b.id]}),
    )
    .await;
    let room = direct["room_id"].as_i64().unwrap();
    let (_, group) = create_room(
        one,
        &a,
        json!({"room_name": "그룹방", "room_type": "group", "participant_ids": [b.id]}),
    )
    .await;
    let group_id = group["room_id"].as_i64().unwrap();

    // Refused before the upgrade, as HTTP.
    let outsiders = room_path(P, room, &outsider.access_token);
    assert_eq!(refused(one, &outsiders).await, StatusCode::FORBIDDEN);
    let unknown = room_path("", 999_999_999, &a.access_token);
    assert_eq!(refused(two, &unknown).await, StatusCode::NOT_FOUND);
    let no_session = room_path("", room, "not-a-token");
    assert_eq!(refused(one, &no_session).await, StatusCode::UNAUTHORIZED);
    let not_a_room = room_path(P, "abc", &a.access_token);
    assert_eq!(refused(one, &not_a_room).await, StatusCode::NOT_FOUND);
    let (status, body) = one.get(&format!("/chat/ws/{room}"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no token: {body}");
    assert!(is_detail(&body), "{body}");

    // A on one replica; B comes online on the other: A hears it.
    let mut ws_a = open_room(one, P, room, &a).await;
    let mut ws_b = open_room(two, "", room, &b).await;
    let online = ws_a.expect_type("user_status", WAIT).await.unwrap();
    assert_eq!(
        online,
        json!({"type": "user_status", "user_id": b.id, "user_name": "wskimcs", "status": "online"})
    );

    // A message over the socket reaches both sockets, the sender's too.
    ws_a.send_json(&json!({"type": "message", "content": "안녕하세요!", "message_type": "text"}))
        .await
        .unwrap();
    let to_b = ws_b.expect_type("message", WAIT).await.unwrap();
    assert_eq!(to_b["sender_id"], a.id);
    assert_eq!(to_b["sender_name"], "wsparkjh");
    assert_eq!(to_b["content"], "안녕하세요!");
    assert_eq!(to_b["message_type"], "text");
    assert_eq!(to_b["reply_to_message_id"], Value::Null);
    assert!(to_b["message_id"].is_i64());
    assert!(is_local_time(&to_b["timestamp"]), "{to_b}");
    let to_a = ws_a.expect_type("message", WAIT).await.unwrap();
    assert_eq!(to_a, to_b, "the sender gets the same event");
    // It is the room's message for REST clients too.
    let (_, listed) = page(one, &a, room, "?size=1").await;
    assert_eq!(listed["messages"][0]["message_id"], to_b["message_id"]);

    // A reply over the socket.
    ws_b.send_json(
        &json!({"type": "message", "content": "네, 반가워요", "message_type": "text",
                           "reply_to_message_id": to_b["message_id"]}),
    )
    .await
    .unwrap();
    let reply = ws_a.expect_type("message", WAIT).await.unwrap();
    assert_eq!(reply["sender_id"], b.id);
    assert_eq!(reply["reply_to_message_id"], to_b["message_id"]);
    let own = ws_b.expect_type("message", WAIT).await.unwrap();
    assert_eq!(own, reply, "B's socket shows B's reply too");

    // Only this room's messages: a group message, then a room message; the
    // next message B's room socket gets is the room's.
    send(one, &a, group_id, "그룹에만 보내요").await;
    let later = send(one, &a, room, "이 방에만 보내요").await;
    let next = ws_b.expect_type("message", WAIT).await.unwrap();
    assert_eq!(next["message_id"], later["message_id"], "{next}");
    assert_eq!(next["content"], "이 방에만 보내요");

    // Typing in the room reaches the other member.
    ws_b.send_json(&json!({"type": "typing", "is_typing": true}))
        .await
        .unwrap();
    let typing = ws_a.expect_type("typing", WAIT).await.unwrap();
    assert_eq!(
        typing,
        json!({"type": "typing", "user_id": b.id, "user_name": "wskimcs", "is_typing": true})
    );

    // A reads the room (REST): B hears `message_read`.
    let (status, _) = one
        .post(&format!("/chat/rooms/{room}/read/"), tok(&a), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let read = ws_b.expect_type("message_read", WAIT).await.unwrap();
    assert_eq!(read["user_id"], a.id);
    assert_eq!(read["user_name"], "wsparkjh");
    assert_eq!(read["room_id"], room);
    assert_eq!(read["message_id"], later["message_id"]);

    // Refused frames are answered with `error`; the socket stays.
    for frame in [
        json!({"type": "message"}),
        json!({"type": "message", "content": "   ", "message_type": "text"}),
        json!({"type": "message", "content": "사진", "message_type": "image"}),
        json!({"type": "dance"}),
    ] {
        ws_a.send_json(&frame).await.unwrap();
        let err = ws_a.expect_type("error", WAIT).await.unwrap();
        assert!(
            err.as_object()
                .is_some_and(|o| o.len() == 2 && o["detail"].is_string()),
            "{frame}: {err}"
        );
    }
    ws_a.send_json(&json!({"type": "ping"})).await.unwrap();
    assert_eq!(
        ws_a.expect_type("pong", WAIT).await.unwrap(),
        json!({"type": "pong"})
    );

    // B goes away: A hears `offline`.
    ws_b.stream.close(None).await.unwrap();
    let offline = ws_a.expect_type("user_status", WAIT).await.unwrap();
    assert_eq!(offline["user_id"], b.id);
    assert_eq!(offline["status"], "offline");

    // Leaving a room closes its socket (1000).
    let mut ws_group = open_room(two, P, group_id, &b).await;
    let (status, _) = two
        .post(
            &format!("/api/v1/chats/{group_id}/leave"),
            tok(&b),
            &json!({}),
        )
        .await;
    assert!(status.is_success(), "{status}");
    let (code, _) = ws_group.expect_close(WAIT).await.unwrap();
    assert_eq!(code, 1000);
}
