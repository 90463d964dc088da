//! `GET /api/v1/ws` (API.md, "Realtime protocol"): authentication before
//! the upgrade, `ready`, `ping`/`pong`, errors with `ref`, and chat events
//! for members only — over Redis and over the in-process bus.

use std::time::Duration;

use futures_util::SinkExt;
use parley_tests::{Api, TestApp, TestUser, WsClient};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_gets_401_json_before_the_upgrade() {
    let app = TestApp::spawn().await;
    for query in ["", "?token=garbage"] {
        let resp = app
            .api
            .client
            .get(format!("{}/api/v1/ws{query}", app.api.base))
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["code"] == "not_authenticated" || body["code"] == "invalid_token",
            "{body}"
        );
        assert!(body["detail"].is_string());
    }
}

async fn connect_with(
    api: &Api,
    url_suffix: &str,
    header: Option<(&'static str, String)>,
) -> WsClient {
    let mut request = format!("{}{url_suffix}", api.ws_url())
        .into_client_request()
        .unwrap();
    if let Some((name, value)) = header {
        request
            .headers_mut()
            .insert(name, HeaderValue::from_str(&value).unwrap());
    }
    let (stream, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    if let Some(protocol) = response.headers().get("sec-websocket-protocol") {
        assert_eq!(protocol, "parley.bearer");
    }
    let mut client = WsClient { stream };
    let ready = client.next_json(WAIT).await.unwrap();
    assert_eq!(ready["type"], "ready");
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_can_come_from_query_cookie_or_subprotocol() {
    let app = TestApp::spawn().await;
    let user = app.api.register_and_login("quinn").await;
    let token = &user.access_token;
    connect_with(&app.api, &format!("?token={token}"), None).await;
    connect_with(
        &app.api,
        "",
        Some(("cookie", format!("access_token={token}"))),
    )
    .await;
    connect_with(
        &app.api,
        "",
        Some(("sec-websocket-protocol", format!("parley.bearer, {token}"))),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_ping_and_errors() {
    let app = TestApp::spawn().await;
    let user = app.api.register_and_login("rae").await;
    let mut request = app.api.ws_url().into_client_request().unwrap();
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {}", user.access_token)).unwrap(),
    );
    let (stream, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut ws = WsClient { stream };
    let ready = ws.next_json(WAIT).await.unwrap();
    assert_eq!(ready["type"], "ready");
    assert_eq!(ready["user_id"], user.id);
    assert!(ready["session_id"].as_str().unwrap().len() == 36);
    assert_eq!(ready["heartbeat_interval_ms"], 25000);

    ws.send_json(&json!({"type": "ping", "ref": "p1"}))
        .await
        .unwrap();
    assert_eq!(
        ws.next_json(WAIT).await.unwrap(),
        json!({"type": "pong", "ref": "p1"})
    );
    ws.send_json(&json!({"type": "dance", "ref": 7}))
        .await
        .unwrap();
    let err = ws.next_json(WAIT).await.unwrap();
    assert_eq!(err["type"], "error");
    assert_eq!(err["code"], "unknown_frame");
    assert_eq!(err["ref"], "7");
    ws.stream
        .send(tokio_tungstenite::tungstenite::Message::Text(
            "{oops".into(),
        ))
        .await
        .unwrap();
    let err = ws.next_json(WAIT).await.unwrap();
    assert_eq!(err["code"], "malformed_frame");
}

/// Members get created / updated / deleted events with chat_id and seq;
/// an outsider's socket gets nothing.
async fn members_get_chat_events(app: &TestApp) {
    let (a, b, chat) = app.api.pair("sue", "tim").await;
    let outsider = app.api.register_and_login("ulf").await;
    // The outsider's own chat, to show what reaches their socket.
    let outsiders_chat = app.api.private_chat(&a, &outsider).await;
    let mut ws_b = app.api.connect_ws(&b.access_token).await;
    let mut ws_out = app.api.connect_ws(&outsider.access_token).await;

    let m = app.api.send_text(&a, chat, "hello").await;
    let created = ws_b.expect_type("message_created", WAIT).await.unwrap();
    assert_eq!(created["chat_id"], chat);
    assert_eq!(created["seq"], m["seq"]);
    assert_eq!(created["message"]["text"], "hello");

    let id = m["id"].as_i64().unwrap();
    let (status, _) = app
        .api
        .put(
            &format!("/api/v1/messages/{id}"),
            Some(&a.access_token),
            &json!({"text": "hello!"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let updated = ws_b.next_json(WAIT).await.unwrap();
    assert_eq!(updated["type"], "message_updated");
    assert_eq!(updated["seq"], m["seq"].as_i64().unwrap() + 1);
    assert_eq!(updated["message"]["text"], "hello!");

    let (status, _) = app
        .api
        .delete(
            &format!("/api/v1/messages/{id}?for_all=true"),
            Some(&a.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let deleted = ws_b.next_json(WAIT).await.unwrap();
    assert_eq!(
        deleted,
        json!({"type": "message_deleted", "chat_id": chat, "seq": m["seq"].as_i64().unwrap() + 2, "message_id": id, "for_all": true})
    );
    // Outsiders hear nothing: the next frame on the outsider's socket is a
    // message sent after all of that, in their own chat.
    let later = app.api.send_text(&a, outsiders_chat, "later").await;
    ws_out.expect_next_message(&later, WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_get_chat_events_over_redis() {
    members_get_chat_events(&TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_get_chat_events_over_the_in_process_bus() {
    let app = TestApp::spawn_with(|env| {
        env.insert("REDIS_URL".into(), String::new());
        env.insert("REDIS_CLUSTER_URLS".into(), String::new());
    })
    .await;
    members_get_chat_events(&app).await;
}

async fn expect_message(ws: &mut WsClient, text: &str) -> Value {
    let event = ws.expect_type("message_created", WAIT).await.unwrap();
    assert_eq!(event["message"]["text"], text);
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_chat_reaches_connected_sockets_with_its_first_message() {
    let app = TestApp::spawn().await;
    let a = app.api.register_and_login("val").await;
    let b = app.api.register_and_login("wes").await;
    let mut ws_a = app.api.connect_ws(&a.access_token).await;
    let mut ws_b = app.api.connect_ws(&b.access_token).await;
    // The chat is created after both sockets connected, and the first
    // message follows at once.
    let chat = app.api.private_chat(&a, &b).await;
    app.api.send_text(&a, chat, "first").await;
    for ws in [&mut ws_a, &mut ws_b] {
        let created = ws.next_json(WAIT).await.unwrap();
        assert_eq!(created["type"], "chat_created", "{created}");
        assert_eq!(created["chat_id"], chat);
        assert_eq!(created["seq"], 1);
        let mut members: Vec<i64> = created["chat"]["member_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        members.sort_unstable();
        assert_eq!(members, vec![a.id.min(b.id), a.id.max(b.id)]);
        let first = expect_message(ws, "first").await;
        assert_eq!(first["seq"], 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_for_me_reaches_only_my_sockets() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("xia", "yan").await;
    let m = app.api.send_text(&a, chat, "hide me").await;
    let mut ws_a = app.api.connect_ws(&a.access_token).await;
    let mut ws_b1 = app.api.connect_ws(&b.access_token).await;
    let mut ws_b2 = app.api.connect_ws(&b.access_token).await;
    let (status, _) = app
        .api
        .delete(
            &format!("/api/v1/messages/{}", m["id"]),
            Some(&b.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for ws in [&mut ws_b1, &mut ws_b2] {
        let event = ws.next_json(WAIT).await.unwrap();
        assert_eq!(
            event,
            json!({"type": "message_deleted", "chat_id": chat, "message_id": m["id"], "for_all": false})
        );
    }
    // Not A's: the next frame on A's socket is a message sent after it.
    let later = app.api.send_text(&b, chat, "later").await;
    ws_a.expect_next_message(&later, WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_forgets_closed_sockets() {
    let app = TestApp::spawn().await;
    let user: TestUser = app.api.register_and_login("zed").await;
    let ws = app.api.connect_ws(&user.access_token).await;
    assert_eq!(app.hub.socket_count(), 1);
    drop(ws);
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.hub.socket_count() != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "socket still registered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The next socket works as before.
    let mut again = app.api.connect_ws(&user.access_token).await;
    again.send_json(&json!({"type": "ping"})).await.unwrap();
    assert_eq!(again.next_json(WAIT).await.unwrap()["type"], "pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_over_the_socket_is_acked_and_idempotent() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("yara", "zack").await;
    let outsider = app.api.register_and_login("abel").await;
    let mut ws_a = app.api.connect_ws(&a.access_token).await;
    let mut ws_b = app.api.connect_ws(&b.access_token).await;
    let frame = json!({"type": "send", "ref": "s1", "chat_id": chat, "text": "over the socket", "client_message_id": "sock-1"});
    ws_a.send_json(&frame).await.unwrap();
    let ack = ws_a.expect_type("ack", WAIT).await.unwrap();
    assert_eq!(ack["ref"], "s1");
    assert_eq!(ack["message"]["text"], "over the socket");
    let id = ack["message"]["id"].clone();
    // A retry: the same message, and B hears of it once.
    ws_a.send_json(&frame).await.unwrap();
    let again = ws_a.expect_type("ack", WAIT).await.unwrap();
    assert_eq!(again["message"]["id"], id);
    let created = ws_b.expect_type("message_created", WAIT).await.unwrap();
    assert_eq!(created["message"]["id"], id);
    // Once: B's next frame is the next message.
    let later = json!({"type": "send", "ref": "s2", "chat_id": chat, "text": "later", "client_message_id": "sock-2"});
    ws_a.send_json(&later).await.unwrap();
    let later = ws_a.expect_type("ack", WAIT).await.unwrap();
    assert_eq!(later["ref"], "s2");
    ws_b.expect_next_message(&later["message"], WAIT).await;

    let mut ws_out = app.api.connect_ws(&outsider.access_token).await;
    ws_out
        .send_json(&json!({"type": "send", "ref": "x", "chat_id": chat, "text": "let me in"}))
        .await
        .unwrap();
    let err = ws_out.next_json(WAIT).await.unwrap();
    assert_eq!(
        err,
        json!({"type": "error", "code": "not_a_member", "detail": "You are not a member of this chat.", "ref": "x"})
    );
    ws_a.send_json(&json!({"type": "send", "ref": "y", "chat_id": chat, "text": ""}))
        .await
        .unwrap();
    let err = ws_a.expect_type("error", WAIT).await.unwrap();
    assert_eq!(err["code"], "validation_error");
    ws_a.send_json(&json!({"type": "send", "ref": "z"}))
        .await
        .unwrap();
    let err = ws_a.expect_type("error", WAIT).await.unwrap();
    assert_eq!(err["code"], "invalid_frame");
    let (_, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), Some(&a.access_token))
        .await;
    let ids: Vec<&Value> = page.as_array().unwrap().iter().map(|m| &m["id"]).collect();
    assert_eq!(ids.len(), 2, "the retry stored nothing: {page}");
    assert!(
        ids.contains(&&id) && ids.contains(&&later["message"]["id"]),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_reaches_focused_members_and_expires() {
    let app = TestApp::spawn().await;
    let a = app.api.register_and_login("bea").await;
    let b = app.api.register_and_login("cole").await;
    let c = app.api.register_and_login("dirk").await;
    let (status, chat) = app
        .api
        .post(
            "/api/v1/chats",
            Some(&a.access_token),
            &json!({"type": "group", "title": "typing", "member_ids": [b.id, c.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let chat = chat["id"].as_i64().unwrap();
    let mut ws_a = app.api.connect_ws(&a.access_token).await;
    let mut ws_a2 = app.api.connect_ws(&a.access_token).await;
    let mut ws_b = app.api.connect_ws(&b.access_token).await;
    let mut ws_c = app.api.connect_ws(&c.access_token).await; // a member, not focused
    for ws in [&mut ws_a2, &mut ws_b] {
        ws.send_json(&json!({"type": "join_room", "ref": "j", "chat_id": chat}))
            .await
            .unwrap();
        assert_eq!(ws.expect_type("ack", WAIT).await.unwrap()["ref"], "j");
    }
    ws_a.send_json(&json!({"type": "typing", "chat_id": chat, "is_typing": true}))
        .await
        .unwrap();
    let typing = ws_b.next_json(WAIT).await.unwrap();
    assert_eq!(
        typing,
        json!({"type": "typing", "chat_id": chat, "user_id": a.id, "is_typing": true, "expires_in_ms": 5000})
    );
    // Not renewed: it expires by itself.
    let stopped = ws_b.next_json(Duration::from_secs(8)).await.unwrap();
    assert_eq!(stopped["is_typing"], false);
    // Neither typing frame reached C (not focused) or A's other socket (not
    // my own typing): their next frame is a message sent after both.
    let later = app.api.send_text(&a, chat, "later").await;
    ws_c.expect_next_message(&later, WAIT).await;
    ws_a2.expect_next_message(&later, WAIT).await;
    ws_b.expect_next_message(&later, WAIT).await;

    // After leave_room, nothing.
    ws_b.send_json(&json!({"type": "leave_room", "ref": "l", "chat_id": chat}))
        .await
        .unwrap();
    assert_eq!(ws_b.expect_type("ack", WAIT).await.unwrap()["ref"], "l");
    // With a ref, typing is acknowledged once it is published.
    ws_a.send_json(&json!({"type": "typing", "ref": "t", "chat_id": chat, "is_typing": true}))
        .await
        .unwrap();
    assert_eq!(ws_a.expect_type("ack", WAIT).await.unwrap()["ref"], "t");
    let after_leave = app.api.send_text(&a, chat, "after leave_room").await;
    ws_b.expect_next_message(&after_leave, WAIT).await;

    // Typing in a chat that is not yours is refused.
    let other = app.api.register_and_login("emil").await;
    let mut ws_other = app.api.connect_ws(&other.access_token).await;
    ws_other
        .send_json(&json!({"type": "typing", "ref": 1, "chat_id": chat}))
        .await
        .unwrap();
    assert_eq!(
        ws_other.next_json(WAIT).await.unwrap()["code"],
        "not_a_member"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_of_a_message_i_hid_reaches_me_without_its_text() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("hilda", "ingo").await;
    let m = app.api.send_text(&a, chat, "original").await;
    let (status, _) = app
        .api
        .delete(
            &format!("/api/v1/messages/{}", m["id"]),
            Some(&b.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let mut ws_a = app.api.connect_ws(&a.access_token).await;
    let mut ws_b = app.api.connect_ws(&b.access_token).await;
    for ws in [&mut ws_a, &mut ws_b] {
        ws.send_json(&json!({"type": "ping"})).await.unwrap();
        ws.expect_type("pong", WAIT).await.unwrap();
    }
    let (status, _) = app
        .api
        .put(
            &format!("/api/v1/messages/{}", m["id"]),
            Some(&a.access_token),
            &json!({"text": "edited secret"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mine = ws_a.next_json(WAIT).await.unwrap();
    assert_eq!(mine["type"], "message_updated");
    assert_eq!(mine["message"]["text"], "edited secret");
    let theirs = ws_b.next_json(WAIT).await.unwrap();
    assert_eq!(
        theirs,
        json!({"type": "message_hidden", "chat_id": chat, "seq": mine["seq"], "message_id": m["id"]})
    );
}

/// With `WS_WRITE_DELAY_MS`, a socket's frames wait to share writes, and
/// every one still arrives, once and in order; commands are still answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_write_delay_every_event_still_arrives_in_order() {
    let app = TestApp::spawn_with(|env| {
        env.insert("WS_WRITE_DELAY_MS".into(), "50".into());
    })
    .await;
    let (a, b, chat) = app.api.pair("vic", "wes").await;
    let mut ws_b = app.api.connect_ws(&b.access_token).await;
    let mut sent = Vec::new();
    for i in 0..20 {
        let message = app.api.send_text(&a, chat, &format!("m{i}")).await;
        sent.push((message["seq"].clone(), format!("m{i}")));
    }
    for (seq, text) in sent {
        let created = ws_b.expect_type("message_created", WAIT).await.unwrap();
        assert_eq!(created["seq"], seq);
        assert_eq!(created["message"]["text"], text);
    }
    ws_b.send_json(&json!({"type": "ping", "ref": "after"}))
        .await
        .unwrap();
    let pong = ws_b.expect_type("pong", WAIT).await.unwrap();
    assert_eq!(pong["ref"], "after");
}
