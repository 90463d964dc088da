//! Seed 000 (Focus Mate's "Messaging API Specification") as its client
//! speaks it: every REST endpoint under `/compat/focusmate` and at the
//! document's own `/api/v1/chats/…`, the socket `/api/v1/chats/ws?token=`
//! with its events, two users on two replicas, UUID ids, `{"detail"}`
//! refusals, and the multipart upload with the document's limits.

use std::time::Duration;

use parley_tests::{Api, TestApp, TestUser, WsClient, tok};
use reqwest::StatusCode;
use serde_json::{Value, json};

mod refusals;
mod upload;

/// The document's base URL under the prefix, and as it is.
const P: &str = "/compat/focusmate/api/v1/chats";
const D: &str = "/api/v1/chats";
const WAIT: Duration = Duration::from_secs(10);

fn sid(user: &TestUser) -> String {
    user.id.to_string()
}

/// A seed 000 id: a version 8 UUID.
fn is_uuid(value: &Value) -> bool {
    value
        .as_str()
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .is_some_and(|u| u.get_version_num() == 8)
}

/// `2025-12-12T10:00:00Z`.
fn is_time(value: &Value) -> bool {
    let text = value.as_str().unwrap_or_default();
    text.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

/// A query value, percent-encoded (emojis).
fn enc(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// The socket as the document opens it: `…/ws?token=`.
async fn socket(api: &Api, path: &str, user: &TestUser) -> WsClient {
    let url = format!(
        "{}{path}?token={}",
        api.base.replacen("http", "ws", 1),
        user.access_token
    );
    let (stream, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    WsClient { stream }
}

/// `join_room`, answered `joined` with the caller's id.
async fn join(ws: &mut WsClient, room: &str, user: &TestUser) {
    ws.send_json(&json!({"type": "join_room", "room_id": room}))
        .await
        .unwrap();
    let joined = ws.expect_type("joined", WAIT).await.unwrap();
    assert_eq!(joined["room_id"], room, "{joined}");
    assert_eq!(joined["user_id"], sid(user), "{joined}");
}

async fn send(api: &Api, user: &TestUser, room: &str, body: Value) -> Value {
    let (status, sent) = api
        .post(&format!("{P}/rooms/{room}/messages"), tok(user), &body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert!(is_uuid(&sent["message_id"]), "{sent}");
    assert_eq!(sent["room_id"], room);
    assert_eq!(sent["sender_id"], sid(user));
    assert!(is_time(&sent["created_at"]), "{sent}");
    sent
}

async fn direct(api: &Api, user: &TestUser, recipient: Value) -> Value {
    let (status, room) = api
        .post(
            &format!("{P}/rooms/direct"),
            tok(user),
            &json!({"recipient_id": recipient}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{room}");
    room
}

/// Parley's id of a seed 000 room UUID (its last 8 bytes, less the
/// variant bits): for the native calls the document has no counterpart of.
fn parley_id(room: &str) -> i64 {
    let uuid = uuid::Uuid::parse_str(room).unwrap();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&uuid.as_bytes()[8..]);
    bytes[0] &= 0x3f;
    i64::from_be_bytes(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_focus_mate_client_talks_across_two_replicas() {
    let app = TestApp::spawn().await;
    let second = app.replica().await;
    let (one, two) = (&app.api, &second.api);
    let a = one.register_and_login("fmalice").await;
    let b = two.register_and_login("fmbob").await;

    // Direct rooms from either side are one room; ids are UUIDs.
    let made = direct(one, &a, json!(sid(&b))).await;
    let room = made["room_id"].as_str().unwrap().to_owned();
    assert!(is_uuid(&made["room_id"]), "{made}");
    assert_eq!(made["room_type"], "direct");
    assert_eq!(made["room_name"], "fmbob");
    assert_eq!(made["metadata"]["type"], "direct");
    let mut pair = [a.id, b.id];
    pair.sort_unstable();
    let pair: Vec<String> = pair.iter().map(i64::to_string).collect();
    assert_eq!(made["metadata"]["user_ids"], json!(pair));
    assert!(is_time(&made["created_at"]), "{made}");
    let same = direct(two, &b, json!(a.id)).await;
    assert_eq!(same["room_id"], room.as_str(), "either side, a number too");
    assert_eq!(same["room_name"], "fmalice");

    // Sockets on both replicas, at both paths.
    let mut a_ws = socket(one, &format!("{D}/ws"), &a).await;
    let mut b_ws = socket(two, &format!("{P}/ws"), &b).await;
    join(&mut a_ws, &room, &a).await;
    join(&mut b_ws, &room, &b).await;

    // message on both sockets.
    let hello = send(
        one,
        &a,
        &room,
        json!({"content": "Hello, world!", "message_type": "text"}),
    )
    .await;
    let hello_id = hello["message_id"].as_str().unwrap().to_owned();
    for ws in [&mut a_ws, &mut b_ws] {
        let event = ws.expect_type("message", WAIT).await.unwrap();
        assert_eq!(event["message"]["message_id"], hello_id.as_str(), "{event}");
        assert_eq!(event["message"]["room_id"], room.as_str());
        assert_eq!(event["message"]["sender_id"], sid(&a));
        assert_eq!(event["message"]["content"], "Hello, world!");
        assert!(is_time(&event["message"]["created_at"]), "{event}");
    }

    // typing reaches the other member who joined the room.
    b_ws.send_json(&json!({"type": "typing", "room_id": room}))
        .await
        .unwrap();
    let typing = a_ws.expect_type("typing", WAIT).await.unwrap();
    assert_eq!(typing["room_id"], room.as_str());
    assert_eq!(typing["user_id"], sid(&b));

    // A reply, and a message in hello's thread.
    let reply = send(
        two,
        &b,
        &room,
        json!({"content": "Hi!", "reply_to_id": hello_id}),
    )
    .await;
    assert_eq!(reply["reply_to_id"], hello_id.as_str());
    let threaded = send(
        two,
        &b,
        &room,
        json!({"content": "in the thread", "thread_id": hello_id}),
    )
    .await;
    assert_eq!(threaded["reply_to_id"], hello_id.as_str());
    for id in [&reply["message_id"], &threaded["message_id"]] {
        let event = a_ws.expect_type("message", WAIT).await.unwrap();
        assert_eq!(&event["message"]["message_id"], id, "{event}");
    }

    // Paging: oldest first, `total`, `has_more`, `before_message_id`.
    let (status, page) = one
        .get(&format!("{D}/rooms/{room}/messages?limit=2"), tok(&a))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 3, "{page}");
    assert_eq!(page["has_more"], true);
    assert_eq!(page["messages"][0]["content"], "Hi!");
    assert_eq!(page["messages"][1]["content"], "in the thread");
    assert_eq!(page["messages"][1]["message_type"], "text");
    assert_eq!(page["messages"][1]["is_edited"], false);
    assert_eq!(page["messages"][1]["is_deleted"], false);
    assert_eq!(page["messages"][1]["attachments"], Value::Null);
    let oldest = page["messages"][0]["message_id"].as_str().unwrap();
    let (_, older) = two
        .get(
            &format!("{P}/rooms/{room}/messages?limit=2&before_message_id={oldest}"),
            tok(&b),
        )
        .await;
    assert_eq!(
        older["messages"].as_array().map(Vec::len),
        Some(1),
        "{older}"
    );
    assert_eq!(older["messages"][0]["message_id"], hello_id.as_str());
    assert_eq!(
        (older["total"].clone(), older["has_more"].clone()),
        (json!(3), json!(false))
    );

    // Edit: the answer and message_updated.
    let hello_path = format!("{P}/rooms/{room}/messages/{hello_id}");
    let (status, edited) = one
        .patch_json(&hello_path, tok(&a), &json!({"content": "Updated message"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["message_id"], hello_id.as_str());
    assert_eq!(edited["content"], "Updated message");
    assert_eq!(edited["is_edited"], true);
    assert!(is_time(&edited["updated_at"]), "{edited}");
    let updated = b_ws.expect_type("message_updated", WAIT).await.unwrap();
    assert_eq!(updated["message"]["message_id"], hello_id.as_str());
    assert_eq!(updated["message"]["content"], "Updated message");
    assert_eq!(updated["message"]["is_edited"], true);
    a_ws.expect_type("message_updated", WAIT).await.unwrap();

    // Reactions: add (twice is once), another's, remove.
    let react = format!(
        "{D}/rooms/{room}/messages/{hello_id}/react?emoji={}",
        enc("👍")
    );
    for _ in 0..2 {
        let (status, added) = two.post(&react, tok(&b), &json!({})).await;
        assert_eq!(status, StatusCode::OK, "{added}");
        assert_eq!(added["message"], "Reaction added");
        assert_eq!(
            added["reactions"],
            json!([{"emoji": "👍", "users": [sid(&b)], "count": 1}])
        );
    }
    // Every member sees who reacted, in the order they did.
    let (_, both) = one.post(&react, tok(&a), &json!({})).await;
    let reacted = json!([{"emoji": "👍", "users": [sid(&b), sid(&a)], "count": 2}]);
    assert_eq!(both["reactions"], reacted, "{both}");
    let (_, listed) = two
        .get(&format!("{P}/rooms/{room}/messages"), tok(&b))
        .await;
    assert_eq!(listed["messages"][0]["reactions"], reacted, "{listed}");
    let (status, removed) = two.delete(&react, tok(&b)).await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(removed["message"], "Reaction removed");
    assert_eq!(
        removed["reactions"],
        json!([{"emoji": "👍", "users": [sid(&a)], "count": 1}])
    );

    // Read; the list then shows nothing unread for B; search.
    let (status, read) = two
        .post(&format!("{D}/rooms/{room}/read"), tok(&b), &json!({}))
        .await;
    assert_eq!(
        (status, read),
        (StatusCode::OK, json!({"message": "Marked as read"}))
    );
    // The room list, its filter, and B's unread count after reading.
    let (status, rooms) = two
        .get(&format!("{D}/rooms?room_type=direct"), tok(&b))
        .await;
    assert_eq!(status, StatusCode::OK, "{rooms}");
    assert_eq!(rooms["total"], 1, "{rooms}");
    let listed = &rooms["rooms"][0];
    assert_eq!(listed["room_id"], room.as_str());
    assert_eq!(listed["room_type"], "direct");
    assert_eq!(listed["display_mode"], "open");
    assert_eq!(listed["is_active"], true);
    assert_eq!(listed["unread_count"], 0, "{listed}");
    assert!(is_time(&listed["last_message_at"]), "{listed}");

    let (status, found) = one
        .get(&format!("{P}/rooms/{room}/search?q=thread"), tok(&a))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(
        found["messages"].as_array().map(Vec::len),
        Some(1),
        "{found}"
    );
    assert_eq!(found["messages"][0]["message_id"], threaded["message_id"]);
    assert_eq!(
        (found["total"].clone(), found["has_more"].clone()),
        (json!(1), json!(false))
    );

    // Reactions and reads have no seed 000 event: A's next frame is the
    // next message.
    let after = send(two, &b, &room, json!({"content": "after"})).await;
    let next = a_ws.next_json(WAIT).await.unwrap();
    assert_eq!(next["type"], "message", "{next}");
    assert_eq!(next["message"]["message_id"], after["message_id"]);

    // Delete: a tombstone, message_deleted.
    let (status, deleted) = one.delete(&hello_path, tok(&a)).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["message_id"], hello_id.as_str());
    assert_eq!(deleted["is_deleted"], true);
    assert!(is_time(&deleted["deleted_at"]), "{deleted}");
    let gone = b_ws.expect_type("message_deleted", WAIT).await.unwrap();
    assert_eq!(
        (gone["message_id"].clone(), gone["room_id"].clone()),
        (json!(hello_id), json!(room))
    );
    let (_, listed) = one
        .get(&format!("{D}/rooms/{room}/messages"), tok(&a))
        .await;
    assert_eq!(listed["messages"][0]["is_deleted"], true, "{listed}");
    assert_eq!(listed["messages"][0]["content"], "");

    // Team rooms: created, listed, read; joined / left as members come
    // and go.
    let (status, team) = one
        .post(
            &format!("{D}/rooms/team"),
            tok(&a),
            &json!({"team_id": uuid::Uuid::new_v4(), "room_name": "General",
                    "description": "Team general channel", "is_private": false}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    assert_eq!(team["room_type"], "team");
    assert_eq!(team["room_name"], "General");
    assert_eq!(team["member_count"], 1);
    let team_id = team["room_id"].as_str().unwrap().to_owned();
    let (status, detail) = one.get(&format!("{P}/rooms/{team_id}"), tok(&a)).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["description"], "Team general channel");
    assert_eq!(detail["metadata"]["type"], "team");
    let (_, teams) = one.get(&format!("{P}/rooms?room_type=team"), tok(&a)).await;
    assert_eq!(teams["total"], 1, "{teams}");
    assert_eq!(teams["rooms"][0]["room_id"], team_id.as_str());
    let (_, all) = one.get(&format!("{P}/rooms"), tok(&a)).await;
    assert_eq!(all["total"], 2, "{all}");
    let (_, none) = one
        .get(&format!("{P}/rooms?room_type=matching"), tok(&a))
        .await;
    assert_eq!(none, json!({"total": 0, "rooms": []}));
    // The document has no member management: the native API adds B.
    let chat_id = parley_id(&team_id);
    let (status, _) = one
        .post(
            &format!("/api/v1/chats/{chat_id}/members"),
            tok(&a),
            &json!({"user_id": b.id}),
        )
        .await;
    assert!(status.is_success(), "{status}");
    for ws in [&mut a_ws, &mut b_ws] {
        let joined = ws.expect_type("joined", WAIT).await.unwrap();
        assert_eq!(
            (joined["room_id"].clone(), joined["user_id"].clone()),
            (json!(team_id), json!(sid(&b)))
        );
    }
    join(&mut b_ws, &team_id, &b).await;
    b_ws.send_json(&json!({"type": "leave_room", "room_id": team_id}))
        .await
        .unwrap();
    let left = b_ws.expect_type("left", WAIT).await.unwrap();
    let who = |event: &Value| (event["room_id"].clone(), event["user_id"].clone());
    assert_eq!(who(&left), (json!(team_id), json!(sid(&b))));
    let (status, _) = two
        .post(
            &format!("/api/v1/chats/{chat_id}/leave"),
            tok(&b),
            &json!({}),
        )
        .await;
    assert!(status.is_success(), "{status}");
    let left = a_ws.expect_type("left", WAIT).await.unwrap();
    assert_eq!(who(&left), (json!(team_id), json!(sid(&b))));
}
