//! Seed 003 (chat rooms) as its client speaks it, against two replicas:
//! §1 rooms and participants, §2 messages, with string ids, the
//! `jwt_token` cookie, `{"error", "message"}` refusals, and the rule that
//! a body's `userId` is the caller.

use parley_tests::{TestApp, TestUser, tok};
use reqwest::StatusCode;
use serde_json::{Value, json};

const P: &str = "/compat/chatrooms";

fn sid(user: &TestUser) -> String {
    user.id.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chatrooms_client_manages_rooms_and_messages_across_two_replicas() {
    let app = TestApp::spawn().await;
    let second = app.replica().await;
    let (one, two) = (&app.api, &second.api);
    let a = one.register_and_login("roomcreator").await;
    let b = two.register_and_login("roomguest").await;
    let c = one.register_and_login("roomthird").await;
    let d = one.register_and_login("roomfourth").await;

    // §1.1: three participants, the creator is admin.
    let (status, room) = one
        .post(
            &format!("{P}/api/chatrooms"),
            tok(&a),
            &json!({"creatorId": sid(&a), "targetUserIds": [sid(&b), sid(&c)],
                    "name": "Study Group", "createdAt": "2025-07-15T13:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{room}");
    let room_id = room["roomId"].as_str().unwrap().to_owned();
    assert_eq!(room["name"], "Study Group");
    assert_eq!(room["userCount"], 3);
    let role_of = |room: &Value, user: &TestUser| {
        room["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["userId"] == sid(user))
            .map(|p| p["role"].clone())
    };
    assert_eq!(role_of(&room, &a), Some(json!("admin")));
    assert_eq!(role_of(&room, &b), Some(json!("member")));
    assert!(room["createdAt"].as_str().unwrap().ends_with('Z'));

    // §1.2 rename, §1.3 add with a role, §1.5 role, §1.5.1 own name.
    let (status, renamed) = one
        .patch_json(
            &format!("{P}/api/chatrooms/{room_id}/name"),
            tok(&a),
            &json!({"name": "New Name"}),
        )
        .await;
    assert_eq!(
        (status, renamed["name"].clone()),
        (StatusCode::OK, json!("New Name"))
    );
    let (status, added) = one
        .post(
            &format!("/api/chatrooms/{room_id}/participants"),
            tok(&a),
            &json!({"userId": sid(&d), "role": "sub-admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(role_of(&added, &d), Some(json!("sub-admin")));
    let (status, promoted) = one
        .patch_json(
            &format!("{P}/api/chatrooms/{room_id}/participants/{}/role", b.id),
            tok(&a),
            &json!({"role": "admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{promoted}");
    assert_eq!(role_of(&promoted, &b), Some(json!("admin")));
    let (status, named) = two
        .patch_json(
            &format!("{P}/api/chatrooms/{room_id}/participants/{}/name", b.id),
            tok(&b),
            &json!({"edited_name": "스터디장"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{named}");
    let mine = named["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["userId"] == sid(&b))
        .cloned();
    assert_eq!(
        mine.map(|p| p["edited_name"].clone()),
        Some(json!("스터디장"))
    );

    // §2.1 on one replica, §2.3 edit, §2.5 react and §2.4 read on the other.
    let (status, sent) = one
        .post(
            &format!("{P}/api/chatrooms/{room_id}/messages"),
            tok(&a),
            &json!({"userId": sid(&a), "content": "안녕하세요!"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["roomId"], room_id.as_str());
    assert_eq!(sent["userId"], sid(&a));
    let message_id = sent["messageId"].as_str().unwrap().to_owned();
    let message_path = format!("{P}/api/chatrooms/{room_id}/messages/{message_id}");
    let (status, edited) = one
        .patch_json(
            &message_path,
            tok(&a),
            &json!({"userId": sid(&a), "newContent": "수정된 메시지 내용"}),
        )
        .await;
    assert_eq!(
        (status, edited["content"].clone()),
        (StatusCode::OK, json!("수정된 메시지 내용"))
    );
    let (status, reacted) = two
        .post(
            &format!("{message_path}/reactions"),
            tok(&b),
            &json!({"userId": sid(&b), "reactionType": "like"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reacted}");
    assert_eq!(reacted["reacted"], true);
    let (_, native) = two
        .get(&format!("/api/v1/messages/{message_id}/reactions"), tok(&b))
        .await;
    assert!(
        native.to_string().contains("👍"),
        "the native API sees it: {native}"
    );
    let (status, _) = two
        .post(
            &format!("{message_path}/read"),
            tok(&b),
            &json!({"userId": sid(&b)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, chats) = two.get("/api/v1/chats", tok(&b)).await;
    let listed = chats
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"].as_i64().map(|id| id.to_string()) == Some(room_id.clone()))
        .cloned()
        .unwrap();
    assert_eq!(listed["unread_count"], 0, "{listed}");

    // The jwt_token cookie authenticates as well as the header.
    let cookie_client = reqwest::Client::new();
    let response = cookie_client
        .post(format!("{}{P}/api/chatrooms/{room_id}/messages", one.base))
        .header("cookie", format!("jwt_token={}", c.access_token))
        .json(&json!({"userId": sid(&c), "content": "쿠키로 보냅니다"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // §2.2 by its sender; §1.4 remove and leave; §1.6 delete.
    let (status, _) = one.delete(&message_path, tok(&a)).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "no body: it must name who deletes"
    );
    let response = cookie_client
        .delete(format!("{}{message_path}", one.base))
        .bearer_auth(&a.access_token)
        .json(&json!({"userId": sid(&a)}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, _) = one
        .delete(
            &format!("{P}/api/chatrooms/{room_id}/participants/{}", d.id),
            tok(&a),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = one
        .delete(
            &format!("{P}/api/chatrooms/{room_id}/participants/{}", c.id),
            tok(&c),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "leaving");
    let (status, _) = one
        .delete(&format!("{P}/api/chatrooms/{room_id}"), tok(&a))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = two.get(&format!("/api/v1/chats/{room_id}"), tok(&b)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // §1.1 with one target: a two-person room.
    let (status, pair) = one
        .post(
            &format!("{P}/api/chatrooms"),
            tok(&a),
            &json!({"creatorId": sid(&a), "targetUserIds": [sid(&b)]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    assert_eq!(pair["userCount"], 2);
    assert_eq!(
        role_of(&pair, &a),
        Some(json!("member")),
        "no admin under three"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chatrooms_client_is_refused_in_its_own_error_body() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let a = api.register_and_login("refroom").await;
    let b = api.register_and_login("refguest").await;
    let c = api.register_and_login("refthird").await;
    let outsider = api.register_and_login("refoutside").await;
    let (_, room) = api
        .post(
            &format!("{P}/api/chatrooms"),
            tok(&a),
            &json!({"creatorId": sid(&a), "targetUserIds": [sid(&b), sid(&c)], "name": "Refusals"}),
        )
        .await;
    let room_id = room["roomId"].as_str().unwrap().to_owned();
    let is_error = |body: &Value, code: &str| body["error"] == code && body["message"].is_string();

    let (status, body) = api
        .post(&format!("{P}/api/chatrooms"), None, &json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(is_error(&body, "invalid_token"), "{body}");
    let (status, body) = api
        .post(&format!("{P}/api/chatrooms"), Some("not-a-jwt"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        body["error"].is_string() && body["message"].is_string(),
        "{body}"
    );

    // Someone else's userId.
    let (status, body) = api
        .post(
            &format!("{P}/api/chatrooms/{room_id}/messages"),
            tok(&b),
            &json!({"userId": sid(&a), "content": "사칭"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(is_error(&body, "user_mismatch"), "{body}");
    // Not a participant; not an admin; another's message.
    let (status, body) = api
        .post(
            &format!("{P}/api/chatrooms/{room_id}/messages"),
            tok(&outsider),
            &json!({"userId": sid(&outsider), "content": "끼어들기"}),
        )
        .await;
    assert_eq!(
        (status, is_error(&body, "not_a_member")),
        (StatusCode::FORBIDDEN, true),
        "{body}"
    );
    let (status, body) = api
        .patch_json(
            &format!("{P}/api/chatrooms/{room_id}/name"),
            tok(&b),
            &json!({"name": "Mine"}),
        )
        .await;
    assert_eq!(
        (status, is_error(&body, "not_chat_admin")),
        (StatusCode::FORBIDDEN, true),
        "{body}"
    );
    let (_, sent) = api
        .post(
            &format!("{P}/api/chatrooms/{room_id}/messages"),
            tok(&a),
            &json!({"userId": sid(&a), "content": "원본"}),
        )
        .await;
    let message_path = format!(
        "{P}/api/chatrooms/{room_id}/messages/{}",
        sent["messageId"].as_str().unwrap()
    );
    let (status, body) = api
        .patch_json(
            &message_path,
            tok(&b),
            &json!({"userId": sid(&b), "newContent": "바꿈"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].is_string(), "{body}");
    // A message under another room; bad ids; bad input.
    let (_, other) = api
        .post(
            &format!("{P}/api/chatrooms"),
            tok(&a),
            &json!({"creatorId": sid(&a), "targetUserIds": [sid(&b), sid(&c)], "name": "Other"}),
        )
        .await;
    let wrong = message_path.replace(&room_id, other["roomId"].as_str().unwrap());
    let (status, body) = api
        .post(
            &format!("{wrong}/read"),
            tok(&a),
            &json!({"userId": sid(&a)}),
        )
        .await;
    assert_eq!(
        (status, is_error(&body, "message_not_found")),
        (StatusCode::NOT_FOUND, true),
        "{body}"
    );
    let (status, body) = api
        .patch_json(
            &format!("{P}/api/chatrooms/room001/name"),
            tok(&a),
            &json!({"name": "x"}),
        )
        .await;
    assert_eq!(
        (status, is_error(&body, "chat_not_found")),
        (StatusCode::NOT_FOUND, true),
        "{body}"
    );
    let (status, body) = api
        .post(
            &format!("{message_path}/reactions"),
            tok(&a),
            &json!({"userId": sid(&a), "reactionType": "meh"}),
        )
        .await;
    assert_eq!(
        (status, is_error(&body, "validation_error")),
        (StatusCode::UNPROCESSABLE_ENTITY, true),
        "{body}"
    );
    let (status, body) = api
        .patch_json(
            &format!("{P}/api/chatrooms/{room_id}/participants/{}/role", b.id),
            tok(&a),
            &json!({"role": "owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = api
        .patch_json(
            &format!("{P}/api/chatrooms/{room_id}/participants/{}/name", a.id),
            tok(&b),
            &json!({"edited_name": "남의 이름"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another's name in the room");
    // An admin may add participants but only the owner gives roles: an
    // add with a role is refused whole, and adds nobody.
    let (status, body) = api
        .patch_json(
            &format!("{P}/api/chatrooms/{room_id}/participants/{}/role", c.id),
            tok(&a),
            &json!({"role": "admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api
        .post(
            &format!("{P}/api/chatrooms/{room_id}/participants"),
            tok(&c),
            &json!({"userId": sid(&outsider), "role": "sub-admin"}),
        )
        .await;
    assert_eq!(
        (status, is_error(&body, "not_chat_admin")),
        (StatusCode::FORBIDDEN, true),
        "{body}"
    );
    let (_, members) = api
        .get(&format!("/api/v1/chats/{room_id}/members"), tok(&a))
        .await;
    let ids: Vec<&Value> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["user_id"])
        .collect();
    assert!(!ids.contains(&&json!(outsider.id)), "{members}");
    assert_eq!(ids.len(), 3, "{members}");
    // Nothing changed: the room keeps its name and one message.
    let (_, detail) = api.get(&format!("/api/v1/chats/{room_id}"), tok(&a)).await;
    assert_eq!(detail["title"], "Refusals", "{detail}");
    let (_, page) = api
        .get(&format!("/api/v1/messages/{room_id}"), tok(&a))
        .await;
    assert_eq!(page.as_array().map(Vec::len), Some(1), "{page}");
}
