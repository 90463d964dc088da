//! Seed 001 (the campus chat guide, a Flutter client) as its client speaks
//! it, against two replicas: rooms, participants, page/size messages,
//! text, reply and multipart file messages, edit, delete, read, search,
//! room settings and the online list under `/compat/campus` and at the
//! document's own `/chat/…` paths; the per-room socket
//! `/chat/ws/{room_id}?token=` ([`socket`]); the refusals, each
//! `{"detail": "..."}` ([`refusals`]).

use std::time::Duration;

use parley_tests::{Api, TestApp, TestUser, free_port, tok, wait_until};
use reqwest::StatusCode;
use serde_json::{Value, json};

mod refusals;
mod socket;

const P: &str = "/compat/campus";
const WAIT: Duration = Duration::from_secs(10);

/// `yyyy-MM-ddTHH:mm:ss`, as the document writes times.
fn is_local_time(value: &Value) -> bool {
    let text = value.as_str().unwrap_or_default();
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").is_ok()
}

/// The document's error body: `{"detail": "..."}` and nothing else.
fn is_detail(body: &Value) -> bool {
    body.as_object()
        .is_some_and(|o| o.len() == 1 && o["detail"].is_string())
}

/// An app whose `PUBLIC_URL` is its own address, so that a file's download
/// redirect leads back to it.
async fn spawn() -> TestApp {
    let port = free_port();
    TestApp::spawn_with(move |env| {
        env.insert("PARLEY_BIND".into(), format!("127.0.0.1:{port}"));
        env.insert("PUBLIC_URL".into(), format!("http://127.0.0.1:{port}"));
    })
    .await
}

/// Creates a room as `user`; returns `(status, room)`.
async fn create_room(api: &Api, user: &TestUser, body: Value) -> (StatusCode, Value) {
    api.post(&format!("{P}/chat/rooms/"), tok(user), &body)
        .await
}

/// Sends a text message as the document's client does; returns it.
async fn send(api: &Api, user: &TestUser, room: i64, content: &str) -> Value {
    let (status, sent) = api
        .post(
            &format!("{P}/chat/rooms/{room}/messages/"),
            tok(user),
            &json!({"message_content": content, "message_type": "text"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    sent
}

const BOUNDARY: &str = "dart-http-boundary-campus01";

/// A `multipart/form-data` body as Dart's `http.MultipartRequest` writes
/// it: text fields, then the file (`application/octet-stream`, as
/// `MultipartFile.fromPath` sends it).
fn form(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\ncontent-type: text/plain; charset=utf-8\r\n\
                 content-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((file_name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\ncontent-type: application/octet-stream\r\n\
                 content-disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn form_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// The messages of a page, `(status, page)`.
/// `of`'s `last_read_at` in `room`'s participants, as `user` sees it.
async fn last_read(api: &Api, user: &TestUser, room: i64, of: &TestUser) -> Value {
    let (status, people) = api
        .get(&format!("{P}/chat/rooms/{room}/participants/"), tok(user))
        .await;
    assert_eq!(status, StatusCode::OK, "{people}");
    people["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == of.id)
        .unwrap_or_else(|| panic!("{} in {people}", of.id))["last_read_at"]
        .clone()
}

async fn page(api: &Api, user: &TestUser, room: i64, query: &str) -> (StatusCode, Value) {
    api.get(
        &format!("{P}/chat/rooms/{room}/messages/{query}"),
        tok(user),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campus_client_uses_every_endpoint_across_two_replicas() {
    let app = spawn().await;
    let second = app.replica().await;
    let (one, two) = (&app.api, &second.api);
    let a = one.register_and_login("parkjh").await;
    let b = two.register_and_login("kimcs").await;
    let c = one.register_and_login("leeyh").await;

    // 채팅방 2: a direct room (201), the same room from the other side (200).
    let (status, direct) = create_room(
        one,
        &a,
        json!({"room_name": "김철수", "room_type": "direct", "participant_ids": [b.id]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{direct}");
    let direct_id = direct["room_id"].as_i64().unwrap();
    assert_eq!(
        direct["room_name"], "kimcs",
        "a direct room shows the other"
    );
    assert_eq!(direct["room_type"], "direct");
    assert_eq!(direct["created_by"], a.id);
    assert_eq!(direct["is_active"], true);
    assert_eq!(direct["participant_count"], 2);
    assert_eq!(direct["last_message"], Value::Null);
    assert_eq!(direct["unread_count"], 0);
    assert!(is_local_time(&direct["created_at"]), "{direct}");
    assert!(is_local_time(&direct["updated_at"]), "{direct}");
    let (status, again) = two
        .post(
            "/chat/rooms/",
            tok(&b),
            &json!({"room_type": "direct", "participant_ids": [b.id, a.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["room_id"], direct_id);
    assert_eq!(again["room_name"], "parkjh");

    // A group, as the document's request shows it.
    let (status, group) = create_room(
        one,
        &a,
        json!({"room_name": "캡스톤 스터디", "room_type": "group",
               "room_description": "수요일 7시", "participant_ids": [b.id, c.id]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let group_id = group["room_id"].as_i64().unwrap();
    assert_eq!(group["room_name"], "캡스톤 스터디");
    assert_eq!(group["room_type"], "group");
    assert_eq!(group["created_by"], a.id);
    assert_eq!(group["participant_count"], 3);

    // 채팅방 3: the room's information.
    let (status, detail) = two.get(&format!("/chat/rooms/{group_id}/"), tok(&b)).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["room_id"], group_id);
    assert_eq!(detail["room_description"], "수요일 7시");
    assert_eq!(detail["max_participants"], Value::Null);
    assert_eq!(detail["created_by"], a.id);
    assert_eq!(detail["is_active"], true);
    assert!(is_local_time(&detail["updated_at"]));

    // 채팅방 4: participants.
    let (status, people) = two
        .get(&format!("{P}/chat/rooms/{group_id}/participants/"), tok(&b))
        .await;
    assert_eq!(status, StatusCode::OK, "{people}");
    assert_eq!(people["total_count"], 3);
    for (user, name) in [(&a, "parkjh"), (&b, "kimcs"), (&c, "leeyh")] {
        let entry = people["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["user_id"] == user.id)
            .unwrap_or_else(|| panic!("{name} in {people}"));
        assert_eq!(entry["user_name"], name);
        assert_eq!(entry["room_id"], group_id);
        assert_eq!(entry["is_active"], true);
        assert_eq!(entry["last_read_at"], Value::Null);
        assert!(entry["id"].is_i64());
        assert!(is_local_time(&entry["joined_at"]), "{entry}");
    }

    // 메시지 2: a text, then a reply on the other replica.
    let hello = send(one, &a, direct_id, "안녕하세요! 반갑습니다 😊").await;
    assert_eq!(hello["room_id"], direct_id);
    assert_eq!(hello["sender_id"], a.id);
    assert_eq!(hello["sender_name"], "parkjh");
    assert_eq!(hello["message_content"], "안녕하세요! 반갑습니다 😊");
    assert_eq!(hello["message_type"], "text");
    for field in [
        "file_url",
        "file_name",
        "file_size",
        "reply_to_message_id",
        "edited_at",
    ] {
        assert_eq!(hello[field], Value::Null, "{field}: {hello}");
    }
    assert_eq!(hello["is_edited"], false);
    assert_eq!(hello["is_deleted"], false);
    assert!(is_local_time(&hello["created_at"]) && is_local_time(&hello["updated_at"]));
    let (status, reply) = two
        .post(
            &format!("/chat/rooms/{direct_id}/messages/"),
            tok(&b),
            &json!({"message_content": "답장입니다!", "message_type": "text",
                    "reply_to_message_id": hello["message_id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["reply_to_message_id"], hello["message_id"]);
    assert_eq!(reply["sender_name"], "kimcs");

    // 채팅방 1: A's rooms, the same at the document's own path.
    let (status, list) = one.get(&format!("{P}/chat/rooms/"), tok(&a)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total_count"], 2);
    let entry = list["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["room_id"] == direct_id)
        .unwrap_or_else(|| panic!("{list}"))
        .clone();
    assert_eq!(entry["last_message"], "답장입니다!");
    assert_eq!(entry["unread_count"], 1);
    let (_, own_path) = two.get("/chat/rooms", tok(&a)).await;
    assert_eq!(own_path, list, "the document's own path serves the same");

    // 메시지 1: page / size, newest first.
    let (status, first) = page(one, &a, direct_id, "?page=1&size=1").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["messages"][0]["message_id"], reply["message_id"]);
    assert_eq!(first["total_count"], 2);
    assert_eq!(first["has_more"], true);
    let (_, second_page) = page(one, &a, direct_id, "?page=2&size=1").await;
    assert_eq!(
        second_page["messages"][0]["message_id"],
        hello["message_id"]
    );
    assert_eq!(second_page["has_more"], false);
    let (_, past_the_end) = page(two, &b, direct_id, "?page=3&size=1").await;
    assert_eq!(past_the_end["messages"], json!([]));
    assert_eq!(past_the_end["total_count"], 2);
    let (_, whole) = page(two, &b, direct_id, "").await;
    assert_eq!(
        whole["messages"].as_array().map(Vec::len),
        Some(2),
        "{whole}"
    );

    // 메시지 3: the sender edits; nobody else does.
    let edit_path = format!(
        "{P}/chat/rooms/{direct_id}/messages/{}/",
        hello["message_id"]
    );
    let (status, edited) = one
        .put(
            &edit_path,
            tok(&a),
            &json!({"message_content": "수정된 메시지입니다"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["message_content"], "수정된 메시지입니다");
    assert_eq!(edited["is_edited"], true);
    assert!(is_local_time(&edited["edited_at"]), "{edited}");
    let (status, err) = two
        .put(
            &edit_path,
            tok(&b),
            &json!({"message_content": "남의 메시지"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    assert!(is_detail(&err), "{err}");

    // 메시지 2, multipart: a photo whose part says octet-stream, as Flutter
    // sends it; the members download it.
    let photo = b"\x89PNG\r\n\x1a\nnot really a picture".to_vec();
    let body = form(
        &[
            ("message_content", "사진을 보내드려요"),
            ("message_type", "image"),
        ],
        Some(("photo.png", photo.as_slice())),
    );
    let (status, sent) = two
        .post_raw(
            &format!("{P}/chat/rooms/{group_id}/messages/"),
            tok(&b),
            &form_type(),
            body,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["message_type"], "image");
    assert_eq!(sent["message_content"], "사진을 보내드려요");
    assert_eq!(sent["file_name"], "photo.png");
    assert_eq!(sent["file_size"], photo.len());
    let file_url = sent["file_url"].as_str().unwrap().to_owned();
    let response = one
        .client
        .get(format!("{}{file_url}", one.base))
        .bearer_auth(&c.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap().to_vec(), photo);
    let (_, listed) = page(one, &a, group_id, "").await;
    assert_eq!(listed["messages"][0]["message_id"], sent["message_id"]);
    assert_eq!(listed["messages"][0]["file_url"], file_url.as_str());
    assert_eq!(listed["messages"][0]["file_size"], photo.len());
    // A file type Parley does not take: refused, nothing sent.
    let body = form(
        &[("message_content", "웹페이지")],
        Some(("page.html", b"<p>".as_slice())),
    );
    let (status, err) = one
        .post_raw(
            &format!("/chat/rooms/{group_id}/messages/"),
            tok(&a),
            &form_type(),
            body,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let (_, listed) = page(one, &a, group_id, "").await;
    assert_eq!(listed["total_count"], 1, "{listed}");
    assert_eq!(listed["messages"][0]["file_name"], "photo.png", "{listed}");

    // 메시지 5: A reads the direct room.
    let (status, read) = one
        .post(
            &format!("{P}/chat/rooms/{direct_id}/read/"),
            tok(&a),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["last_read_message_id"], reply["message_id"]);
    let (_, list) = one.get("/chat/rooms/", tok(&a)).await;
    let entry = list["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["room_id"] == direct_id)
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(entry["unread_count"], 0, "{list}");
    // Everything up to the reply's time is read, as B sees it.
    assert_eq!(last_read(two, &b, direct_id, &a).await, reply["created_at"]);

    // 고급 1: search, with the matched words as `highlight`.
    let greeting = send(one, &a, group_id, "안녕하세요! 반갑습니다").await;
    let (status, found) = two
        .get(
            &format!("{P}/chat/rooms/{group_id}/search/?query=안녕하세요"),
            tok(&b),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["total_count"], 1);
    assert_eq!(found["has_more"], false);
    assert_eq!(
        found["messages"][0],
        json!({"message_id": greeting["message_id"], "sender_name": "parkjh",
               "message_content": "안녕하세요! 반갑습니다",
               "created_at": greeting["created_at"], "highlight": "안녕하세요"})
    );
    let (_, beyond) = two
        .get(
            &format!("/chat/rooms/{group_id}/search/?query=안녕하세요&page=2&size=20"),
            tok(&b),
        )
        .await;
    assert_eq!(beyond["messages"], json!([]));

    // 고급 2–3: settings; the room's for its owner, notifications each
    // member's own.
    let settings = format!("{P}/chat/rooms/{group_id}/settings/");
    let (status, defaults) = two.get(&settings, tok(&b)).await;
    assert_eq!(status, StatusCode::OK, "{defaults}");
    assert_eq!(
        defaults,
        json!({"room_id": group_id, "notification_enabled": true, "message_retention_days": 365,
               "auto_delete_enabled": false, "read_receipt_enabled": true})
    );
    let (status, changed) = one
        .put(
            &settings,
            tok(&a),
            &json!({"auto_delete_enabled": true, "message_retention_days": 30,
                    "read_receipt_enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["message_retention_days"], 30);
    assert_eq!(changed["auto_delete_enabled"], true);
    assert_eq!(changed["read_receipt_enabled"], false);
    let (_, native) = one
        .get(&format!("/api/v1/chats/{group_id}/settings"), tok(&a))
        .await;
    assert_eq!(native["retention_days"], 30);
    assert_eq!(native["read_receipts_enabled"], false);
    // B sends the whole form back with notifications off: only that
    // changes.
    let (status, muted) = two
        .put(
            &format!("/chat/rooms/{group_id}/settings"),
            tok(&b),
            &json!({"notification_enabled": false, "message_retention_days": 30,
                    "auto_delete_enabled": true, "read_receipt_enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{muted}");
    assert_eq!(muted["notification_enabled"], false);
    assert_eq!(muted["message_retention_days"], 30);
    let (_, for_a) = one.get(&settings, tok(&a)).await;
    assert_eq!(for_a["notification_enabled"], true, "mute is B's own");
    // With read receipts off, C's reading shows to C alone.
    let (status, read) = one
        .post(
            &format!("/chat/rooms/{group_id}/read/"),
            tok(&c),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert!(is_local_time(&last_read(one, &c, group_id, &c).await));
    assert_eq!(last_read(two, &a, group_id, &c).await, Value::Null);
    let (status, err) = two
        .put(&settings, tok(&b), &json!({"read_receipt_enabled": true}))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a member changes no room setting: {err}"
    );
    assert!(is_detail(&err), "{err}");

    // 고급 4: the online list of the direct room; B online while a socket
    // of theirs is open, then seen.
    let status_path = format!("{P}/chat/rooms/{direct_id}/online-status/");
    let of = |list: &Value, user: &TestUser| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|e| e["user_id"] == user.id)
            .cloned()
            .unwrap_or_else(|| panic!("{} in {list}", user.id))
    };
    let (status, online) = one.get(&status_path, tok(&a)).await;
    assert_eq!(status, StatusCode::OK, "{online}");
    assert_eq!(online.as_array().map(Vec::len), Some(2));
    assert_eq!(of(&online, &b)["user_name"], "kimcs");
    assert_eq!(of(&online, &b)["is_online"], false);
    let mut socket = two.connect_ws(&b.access_token).await;
    let (_, online) = one.get(&status_path, tok(&a)).await;
    assert_eq!(of(&online, &b)["is_online"], true, "{online}");
    assert!(is_local_time(&of(&online, &b)["last_seen"]));
    // In the group, C (who shares no direct room with B) sees B online too;
    // C has no socket open.
    let group_status = format!("/chat/rooms/{group_id}/online-status/");
    let (_, in_group) = one.get(&group_status, tok(&c)).await;
    assert_eq!(in_group.as_array().map(Vec::len), Some(3), "{in_group}");
    assert_eq!(of(&in_group, &b)["is_online"], true, "{in_group}");
    assert_eq!(of(&in_group, &c)["is_online"], false, "{in_group}");
    socket.stream.close(None).await.unwrap();
    wait_until("B shows offline, last seen", WAIT, || async {
        let (_, online) = one.get(&status_path, tok(&a)).await;
        let entry = of(&online, &b);
        entry["is_online"] == false && is_local_time(&entry["last_seen"])
    })
    .await;

    // 메시지 4: the sender deletes for everyone; the other may not.
    let delete_path = format!("/chat/rooms/{direct_id}/messages/{}/", hello["message_id"]);
    let (status, err) = two.delete(&delete_path, tok(&b)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    let (status, deleted) = one.delete(&delete_path, tok(&a)).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(
        deleted,
        json!({"message_id": hello["message_id"], "room_id": direct_id, "is_deleted": true})
    );
    let (_, after) = page(two, &b, direct_id, "?page=2&size=1").await;
    assert_eq!(after["messages"][0]["message_id"], hello["message_id"]);
    assert_eq!(after["messages"][0]["is_deleted"], true);
    assert_eq!(after["messages"][0]["message_content"], "");
}
