//! Seed 003's realtime part as its client uses it: the `/chat` socket with
//! the `jwt_token` cookie and JSON frames across two replicas, §3.1's
//! connect with the recent-messages cache (the last 20 messages from
//! Redis, never stale), and §4's room lifecycle on a replica's hub.

use std::time::Duration;

use parley_api::realtime::hub::RoomState;
use parley_tests::{TestApp, TestUser, WsClient, tok, wait_until};
use reqwest::StatusCode;
use serde_json::{Value, json};

const P: &str = "/compat/chatrooms";
const WAIT: Duration = Duration::from_secs(10);

fn sid(user: &TestUser) -> String {
    user.id.to_string()
}

/// A three-person room of `a` with `b` and `c`; its id.
async fn room(api: &parley_tests::Api, a: &TestUser, b: &TestUser, c: &TestUser) -> String {
    let (status, room) = api
        .post(
            "/api/chatrooms",
            tok(a),
            &json!({"creatorId": sid(a), "targetUserIds": [sid(b), sid(c)], "name": "Study"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{room}");
    room["roomId"].as_str().unwrap().to_owned()
}

async fn rest_send(api: &parley_tests::Api, user: &TestUser, room: &str, text: &str) -> Value {
    let (status, sent) = api
        .post(
            &format!("/api/chatrooms/{room}/messages"),
            tok(user),
            &json!({"userId": sid(user), "content": text}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    sent
}

/// Opens the socket with the `jwt_token` cookie; waits for `connected`.
async fn socket(api: &parley_tests::Api, path: &str, user: &TestUser) -> WsClient {
    let cookie = format!("jwt_token={}", user.access_token);
    let mut ws = api
        .open_ws(path, &[("cookie", &cookie)])
        .await
        .unwrap_or_else(|(status, body)| panic!("socket refused: {status} {body}"));
    let first = ws.next_json(WAIT).await.unwrap();
    assert_eq!(first, json!({"type": "connected", "userId": sid(user)}));
    ws
}

async fn join(ws: &mut WsClient, room: &str) -> Value {
    ws.send_json(&json!({"type": "join", "roomId": room}))
        .await
        .unwrap();
    let joined = ws.next_json(WAIT).await.unwrap();
    assert_eq!(joined["type"], "joined", "{joined}");
    assert_eq!(joined["roomId"], room);
    joined
}

fn contents(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chatrooms_client_talks_over_its_socket_across_two_replicas() {
    let app = TestApp::spawn().await;
    let second = app.replica().await;
    let (one, two) = (&app.api, &second.api);
    let a = one.register_and_login("sockadmin").await;
    let b = two.register_and_login("sockguest").await;
    let c = one.register_and_login("sockthird").await;
    let outsider = one.register_and_login("sockoutsider").await;
    let room_id = room(one, &a, &b, &c).await;
    let before = rest_send(one, &a, &room_id, "before anyone joined").await;

    // The handshake refuses a bad or missing cookie before the upgrade.
    let refused = one
        .open_ws("/chat", &[("cookie", "jwt_token=not-a-jwt")])
        .await
        .err()
        .expect("a bad cookie is refused");
    assert_eq!(refused.0, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.1["error"], "invalid_token", "{}", refused.1);
    assert!(refused.1["message"].is_string());
    let refused = one.open_ws("/chat", &[]).await.err().expect("no cookie");
    assert_eq!(refused.0, StatusCode::UNAUTHORIZED);

    // a on the first replica (document path), b on the second (prefix).
    let mut wa = socket(one, "/chat", &a).await;
    let mut wb = socket(two, &format!("{P}/chat"), &b).await;
    let joined = join(&mut wa, &room_id).await;
    assert_eq!(contents(&joined["messages"]), ["before anyone joined"]);
    assert_eq!(joined["messages"][0]["messageId"], before["messageId"]);
    assert_eq!(joined["messages"][0]["userId"], sid(&a));
    join(&mut wb, &room_id).await;

    // A message frame: `sent` to the sender, `message` to the room.
    wa.send_json(&json!({"type": "message", "roomId": room_id, "content": "안녕하세요!"}))
        .await
        .unwrap();
    // The answer and the room's event travel apart: either may come first.
    let mut two_frames = vec![
        wa.next_json(WAIT).await.unwrap(),
        wa.next_json(WAIT).await.unwrap(),
    ];
    two_frames.sort_by_key(|f| f["type"] != "sent");
    let [sent, own] = <[Value; 2]>::try_from(two_frames).unwrap();
    assert_eq!(sent["type"], "sent", "{sent}");
    assert_eq!(sent["content"], "안녕하세요!");
    let message_id = sent["messageId"].as_str().unwrap().to_owned();
    let theirs = wb.expect_type("message", WAIT).await.unwrap();
    for message in [own, theirs] {
        assert_eq!(
            message,
            json!({"type": "message", "roomId": room_id, "messageId": message_id,
                   "userId": sid(&a), "content": "안녕하세요!", "createdAt": sent["createdAt"]})
        );
    }

    // REST changes reach both sockets in order: edit, reaction, read,
    // rename, delete.
    let (status, _) = two
        .patch_json(
            &format!("/api/chatrooms/{room_id}/messages/{message_id}"),
            tok(&b),
            &json!({"userId": sid(&b), "newContent": "not mine"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = one
        .patch_json(
            &format!("/api/chatrooms/{room_id}/messages/{message_id}"),
            tok(&a),
            &json!({"userId": sid(&a), "newContent": "반갑습니다"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = two
        .post(
            &format!("/api/chatrooms/{room_id}/messages/{message_id}/reactions"),
            tok(&b),
            &json!({"userId": sid(&b), "reactionType": "love"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = one
        .patch_json(
            &format!("/api/chatrooms/{room_id}/name"),
            tok(&a),
            &json!({"name": "Renamed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = one
        .delete_json(
            &format!("/api/chatrooms/{room_id}/messages/{message_id}"),
            tok(&a),
            &json!({"userId": sid(&a)}),
        )
        .await;
    assert!(status.is_success(), "{status}");
    for ws in [&mut wa, &mut wb] {
        let edited = ws.expect_type("message_edited", WAIT).await.unwrap();
        assert_eq!(edited["content"], "반갑습니다");
        assert_eq!(edited["messageId"], message_id);
        let reaction = ws.expect_type("reaction", WAIT).await.unwrap();
        assert_eq!(
            (
                &reaction["reactionType"],
                &reaction["userId"],
                &reaction["added"]
            ),
            (&json!("love"), &json!(sid(&b)), &json!(true))
        );
        let renamed = ws.expect_type("room_updated", WAIT).await.unwrap();
        assert_eq!(renamed["name"], "Renamed");
        let deleted = ws.expect_type("message_deleted", WAIT).await.unwrap();
        assert_eq!(deleted["messageId"], message_id);
    }

    // Typing reaches the others in the room.
    wb.send_json(&json!({"type": "typing", "roomId": room_id}))
        .await
        .unwrap();
    let typing = wa.expect_type("typing", WAIT).await.unwrap();
    assert_eq!(
        (&typing["userId"], &typing["isTyping"]),
        (&json!(sid(&b)), &json!(true))
    );

    // Refusals come as `error` frames and change nothing.
    let mut wo = socket(one, "/chat", &outsider).await;
    wo.send_json(&json!({"type": "join", "roomId": room_id}))
        .await
        .unwrap();
    let error = wo.next_json(WAIT).await.unwrap();
    assert_eq!(
        (&error["type"], &error["error"]),
        (&json!("error"), &json!("not_a_member"))
    );
    wo.send_json(&json!({"type": "message", "roomId": room_id, "content": "let me in"}))
        .await
        .unwrap();
    let error = wo.next_json(WAIT).await.unwrap();
    assert_eq!(error["error"], "not_a_member", "{error}");
    wo.send_json(&json!({"type": "join", "roomId": "room-one"}))
        .await
        .unwrap();
    assert_eq!(wo.next_json(WAIT).await.unwrap()["error"], "chat_not_found");
    wo.send_json(&json!({"type": "dance"})).await.unwrap();
    assert_eq!(wo.next_json(WAIT).await.unwrap()["error"], "invalid_frame");
    wo.send_json(&json!({"type": "ping"})).await.unwrap();
    assert_eq!(wo.next_json(WAIT).await.unwrap(), json!({"type": "pong"}));

    // After `leave`, the room's events stop: b's next frame is the
    // message of a room it is still in, not the one sent before it.
    wb.send_json(&json!({"type": "leave", "roomId": room_id}))
        .await
        .unwrap();
    assert_eq!(
        wb.expect_type("left", WAIT).await.unwrap()["roomId"],
        room_id
    );
    let other = room(two, &b, &a, &c).await;
    join(&mut wb, &other).await;
    rest_send(one, &a, &room_id, "b is not in this room any more").await;
    rest_send(one, &a, &other, "but in this one").await;
    let next = wb.next_json(WAIT).await.unwrap();
    assert_eq!(
        (&next["type"], &next["content"]),
        (&json!("message"), &json!("but in this one")),
        "{next}"
    );
}

/// The recent-messages key of a chat in this app's Redis.
fn recent_key(app: &TestApp, room: &str) -> String {
    format!("{}:recent:{room}", app.prefix)
}

async fn connect_room(api: &parley_tests::Api, user: &TestUser, room: &str) -> Value {
    let (status, data) = api
        .post(
            &format!("{P}/api/chatrooms/{room}/connect"),
            tok(user),
            &json!({"userId": sid(user)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{data}");
    assert_eq!(data["chatroomId"], room);
    data
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_messages_are_the_last_twenty_from_redis_and_never_stale() {
    let app = TestApp::spawn().await;
    let second = app.replica().await;
    let (one, two) = (&app.api, &second.api);
    let a = one.register_and_login("recentadmin").await;
    let b = two.register_and_login("recentguest").await;
    let c = one.register_and_login("recentthird").await;
    let room_id = room(one, &a, &b, &c).await;
    for n in 1..=25 {
        rest_send(one, &a, &room_id, &format!("m{n}")).await;
    }
    let expected: Vec<String> = (6..=25).map(|n| format!("m{n}")).collect();
    let data = connect_room(one, &a, &room_id).await;
    assert_eq!(contents(&data["messages"]), expected);
    assert!(
        data["messages"][0]["timestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    // The list is in Redis now: what Redis holds is what is served.
    let mut redis = app.live_redis().await;
    let key = recent_key(&app, &room_id);
    let (seq, body): (i64, String) = redis::cmd("HMGET")
        .arg(&key)
        .arg("seq")
        .arg("body")
        .query_async(&mut redis)
        .await
        .unwrap();
    let mut planted: Vec<Value> = serde_json::from_str(&body).unwrap();
    planted[19]["text"] = json!("planted in Redis");
    let _: () = redis::cmd("HSET")
        .arg(&key)
        .arg("body")
        .arg(serde_json::to_string(&planted).unwrap())
        .query_async(&mut redis)
        .await
        .unwrap();
    let data = connect_room(two, &b, &room_id).await;
    assert_eq!(data["messages"][19]["content"], "planted in Redis");

    // Any change moves the chat's seq past the stored one: the list is
    // read again, never served stale (an edit here).
    let last_id = data["messages"][19]["messageId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = one
        .patch_json(
            &format!("/api/chatrooms/{room_id}/messages/{last_id}"),
            tok(&a),
            &json!({"userId": sid(&a), "newContent": "m25 edited"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let data = connect_room(two, &b, &room_id).await;
    let mut edited = expected.clone();
    edited[19] = "m25 edited".into();
    assert_eq!(contents(&data["messages"]), edited);
    let (new_seq, _): (i64, String) = redis::cmd("HMGET")
        .arg(&key)
        .arg("seq")
        .arg("body")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(
        new_seq > seq,
        "the stored list moved on: {seq} -> {new_seq}"
    );

    // A delete for everyone and a new message.
    let first_id = data["messages"][0]["messageId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = one
        .delete_json(
            &format!("/api/chatrooms/{room_id}/messages/{first_id}"),
            tok(&a),
            &json!({"userId": sid(&a)}),
        )
        .await;
    assert!(status.is_success());
    rest_send(two, &b, &room_id, "m26").await;
    let data = connect_room(one, &a, &room_id).await;
    let mut now: Vec<String> = (7..=24).map(|n| format!("m{n}")).collect();
    now.push("m25 edited".into());
    now.push("m26".into());
    assert_eq!(contents(&data["messages"]), now);

    // Refusals: not a member, someone else's userId, an unknown room.
    let outsider = one.register_and_login("recentoutsider").await;
    let (status, body) = one
        .post(
            &format!("{P}/api/chatrooms/{room_id}/connect"),
            tok(&outsider),
            &json!({"userId": sid(&outsider)}),
        )
        .await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::FORBIDDEN, &json!("not_a_member"))
    );
    let (status, body) = one
        .post(
            &format!("{P}/api/chatrooms/{room_id}/connect"),
            tok(&a),
            &json!({"userId": sid(&b)}),
        )
        .await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::FORBIDDEN, &json!("user_mismatch"))
    );
    let (status, _) = one
        .post(
            &format!("{P}/api/chatrooms/999999999/connect"),
            tok(&a),
            &json!({"userId": sid(&a)}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// How many subscribers Redis counts on a chat's channel.
async fn subscribers(app: &TestApp, chat_id: i64) -> i64 {
    app.channel_subscribers(&format!("{}:chat:{chat_id}", app.prefix))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_goes_idle_when_its_last_socket_leaves_and_closes_after_the_timeout() {
    let app = TestApp::spawn_with(|env| {
        env.insert("ROOM_IDLE_TIMEOUT_MS".into(), "2000".into());
    })
    .await;
    let a = app.api.register_and_login("lifeadmin").await;
    let b = app.api.register_and_login("lifeguest").await;
    let c = app.api.register_and_login("lifethird").await;
    let room_id = room(&app.api, &a, &b, &c).await;
    let chat_id: i64 = room_id.parse().unwrap();
    assert_eq!(app.hub.room_state(chat_id), None, "closed before anyone");

    // The first socket creates the room (creating → active, subscribed).
    let ws = socket(&app.api, "/chat", &a).await;
    assert_eq!(app.hub.room_state(chat_id), Some(RoomState::Active));
    assert_eq!(subscribers(&app, chat_id).await, 1);

    // The last one leaves: idle, still subscribed.
    drop(ws);
    wait_until("room idle", WAIT, || async {
        app.hub.room_state(chat_id) == Some(RoomState::Idle)
    })
    .await;
    assert_eq!(subscribers(&app, chat_id).await, 1);

    // Someone comes back while idle: active again, the same room.
    let mut ws = socket(&app.api, "/chat", &b).await;
    assert_eq!(app.hub.room_state(chat_id), Some(RoomState::Active));
    assert_eq!(app.hub.room_tally().closed, 0);
    join(&mut ws, &room_id).await;
    rest_send(&app.api, &a, &room_id, "still live").await;
    assert_eq!(
        ws.expect_type("message", WAIT).await.unwrap()["content"],
        "still live"
    );

    // Gone again: idle, then after the timeout closing → closed, and the
    // subscription is gone from Redis.
    drop(ws);
    wait_until("room idle again", WAIT, || async {
        app.hub.room_state(chat_id) == Some(RoomState::Idle)
    })
    .await;
    wait_until("room closed", WAIT, || async {
        app.hub.room_state(chat_id).is_none()
    })
    .await;
    assert!(app.hub.room_tally().closed >= 1);
    assert_eq!(subscribers(&app, chat_id).await, 0);

    // A closed room is created again by the next socket.
    let mut ws = socket(&app.api, "/chat", &c).await;
    assert_eq!(app.hub.room_state(chat_id), Some(RoomState::Active));
    join(&mut ws, &room_id).await;
    rest_send(&app.api, &a, &room_id, "after closing").await;
    assert_eq!(
        ws.expect_type("message", WAIT).await.unwrap()["content"],
        "after closing"
    );
}
