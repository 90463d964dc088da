//! Seed 001's refusals: 401, 403 for someone else's room on every
//! endpoint, 404 for an unknown room or a message of another room, 400
//! for a body that is neither JSON nor a form, 422 for bad input; each
//! `{"detail": "..."}`, and nothing written.

use parley_tests::{TestApp, tok};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{P, create_room, is_detail, page, send};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campus_client_is_refused_what_it_may_not_do() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let a = api.register_and_login("refparkjh").await;
    let b = api.register_and_login("refkimcs").await;
    let outsider = api.register_and_login("refoutsider").await;
    let (_, direct) = create_room(
        api,
        &a,
        json!({"room_type": "direct", "participant_ids": [b.id]}),
    )
    .await;
    let room = direct["room_id"].as_i64().unwrap();
    let (_, group) = create_room(
        api,
        &a,
        json!({"room_name": "다른 방", "room_type": "group", "participant_ids": [b.id]}),
    )
    .await;
    let group_id = group["room_id"].as_i64().unwrap();
    let elsewhere = send(api, &a, group_id, "다른 방의 메시지").await;

    // 401 without a token.
    let (status, err) = api.get(&format!("{P}/chat/rooms/"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(is_detail(&err), "{err}");

    // 403 for someone else's room, on every endpoint.
    for path in [
        format!("{P}/chat/rooms/{room}/"),
        format!("{P}/chat/rooms/{room}/participants/"),
        format!("{P}/chat/rooms/{room}/messages/"),
        format!("/chat/rooms/{room}/search/?query=hello"),
        format!("/chat/rooms/{room}/settings/"),
        format!("/chat/rooms/{room}/online-status/"),
    ] {
        let (status, err) = api.get(&path, tok(&outsider)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {err}");
        assert!(is_detail(&err), "{path}: {err}");
    }
    for path in [
        format!("{P}/chat/rooms/{room}/messages/"),
        format!("{P}/chat/rooms/{room}/read/"),
    ] {
        let (status, err) = api
            .post(
                &path,
                tok(&outsider),
                &json!({"message_content": "끼어들기"}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {err}");
    }

    // 404 for a room that does not exist, or a message of another room.
    for path in [
        format!("{P}/chat/rooms/999999999/"),
        "/chat/rooms/999999999/messages/".to_string(),
        "/chat/rooms/abc/".to_owned(),
    ] {
        let (status, err) = api.get(&path, tok(&a)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {err}");
        assert!(err["detail"].is_string(), "{path}: {err}");
    }
    let (status, err) = api
        .put(
            &format!(
                "{P}/chat/rooms/{room}/messages/{}/",
                elsewhere["message_id"]
            ),
            tok(&a),
            &json!({"message_content": "방이 다릅니다"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
    assert!(is_detail(&err), "{err}");

    // 400 for a body that is not JSON or not a form.
    let (status, err) = api
        .post_raw(
            &format!("{P}/chat/rooms/"),
            tok(&a),
            "application/json",
            b"{oops".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert!(is_detail(&err), "{err}");
    let (status, err) = api
        .post_raw(
            &format!("{P}/chat/rooms/{room}/messages/"),
            tok(&a),
            "multipart/form-data",
            b"--x--".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no boundary: {err}");

    // 422 for bad input.
    let unprocessable: Vec<(&str, String, Value)> = vec![
        (
            "room_type",
            format!("{P}/chat/rooms/"),
            json!({"room_type": "channel", "participant_ids": [b.id]}),
        ),
        (
            "a group without a name",
            format!("{P}/chat/rooms/"),
            json!({"room_type": "group", "participant_ids": [b.id]}),
        ),
        (
            "a direct room of three",
            format!("{P}/chat/rooms/"),
            json!({"room_type": "direct", "participant_ids": [b.id, outsider.id]}),
        ),
        (
            "participant_ids",
            format!("{P}/chat/rooms/"),
            json!({"room_type": "group", "room_name": "x", "participant_ids": "b"}),
        ),
        (
            "empty content",
            format!("{P}/chat/rooms/{room}/messages/"),
            json!({"message_content": "", "message_type": "text"}),
        ),
        (
            "no content",
            format!("{P}/chat/rooms/{room}/messages/"),
            json!({"message_type": "text"}),
        ),
        (
            "location",
            format!("{P}/chat/rooms/{room}/messages/"),
            json!({"message_content": "여기", "message_type": "location"}),
        ),
        (
            "a reply to another room",
            format!("{P}/chat/rooms/{room}/messages/"),
            json!({"message_content": "답장", "reply_to_message_id": elsewhere["message_id"]}),
        ),
    ];
    for (what, path, body) in unprocessable {
        let (status, err) = api.post(&path, tok(&a), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {err}");
        assert!(is_detail(&err), "{what}: {err}");
    }
    for query in ["?page=0", "?size=101", "?size=0"] {
        let (status, err) = page(api, &a, room, query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {err}");
        assert!(is_detail(&err), "{query}: {err}");
    }
    let (status, err) = api
        .get(&format!("/chat/rooms/{room}/search/"), tok(&a))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "search needs a query: {err}"
    );
    let (status, err) = api
        .put(
            &format!("/chat/rooms/{room}/settings/"),
            tok(&a),
            &json!({"auto_delete_enabled": true, "message_retention_days": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert!(is_detail(&err), "{err}");

    // Nothing was written by the refusals.
    let (_, rooms) = api.get("/chat/rooms/", tok(&a)).await;
    assert_eq!(rooms["total_count"], 2, "{rooms}");
    let (_, messages) = page(api, &a, room, "").await;
    assert_eq!(messages["total_count"], 0, "{messages}");
    let (_, settings) = api
        .get(&format!("/chat/rooms/{room}/settings/"), tok(&a))
        .await;
    assert_eq!(settings["auto_delete_enabled"], false);
}
