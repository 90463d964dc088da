//! Seed 000's refusals as its client meets them, each in the
//! document's `{"detail"}` body.

use parley_tests::{Api, TestApp, TestUser, tok};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{D, P, WAIT, direct, enc, join, send, sid, socket};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_focus_mate_client_is_refused_with_a_detail() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let a = api.register_and_login("fmrefa").await;
    let b = api.register_and_login("fmrefb").await;
    let c = api.register_and_login("fmrefc").await;
    let room = direct(api, &a, json!(sid(&b))).await["room_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = direct(api, &a, json!(sid(&c))).await["room_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sent = send(api, &a, &room, json!({"content": "원본"})).await;
    let message = sent["message_id"].as_str().unwrap().to_owned();
    let is = |answer: (StatusCode, Value), status: StatusCode, detail: Option<&str>| {
        assert_eq!(answer.0, status, "{}", answer.1);
        assert!(answer.1["detail"].is_string(), "{}", answer.1);
        if let Some(detail) = detail {
            assert_eq!(answer.1["detail"], detail, "{}", answer.1);
        }
    };

    // 401.
    let unauthorized = api.get(&format!("{P}/rooms"), None).await;
    is(
        unauthorized,
        StatusCode::UNAUTHORIZED,
        Some("Authentication required"),
    );
    is(
        api.get(&format!("{D}/rooms"), Some("nope")).await,
        StatusCode::UNAUTHORIZED,
        None,
    );
    let url = format!("{}{D}/ws", api.base.replacen("http", "ws", 1));
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 401);
        }
        other => panic!("a socket without a token: {:?}", other.map(|_| ())),
    }

    // 403: not a member of the room, whatever the endpoint.
    let member = Some("Not a member of this room");
    is(
        api.get(&format!("{P}/rooms/{room}"), tok(&c)).await,
        StatusCode::FORBIDDEN,
        member,
    );
    let messages = format!("{D}/rooms/{room}/messages");
    is(
        api.get(&messages, tok(&c)).await,
        StatusCode::FORBIDDEN,
        member,
    );
    let body = json!({"content": "끼어들기"});
    is(
        api.post(&messages, tok(&c), &body).await,
        StatusCode::FORBIDDEN,
        member,
    );
    let react = format!("{messages}/{message}/react?emoji={}", enc("👍"));
    is(
        api.post(&react, tok(&c), &json!({})).await,
        StatusCode::FORBIDDEN,
        member,
    );
    let search = format!("{P}/rooms/{room}/search?q=x");
    is(
        api.get(&search, tok(&c)).await,
        StatusCode::FORBIDDEN,
        member,
    );
    let read = format!("{P}/rooms/{room}/read");
    is(
        api.post(&read, tok(&c), &json!({})).await,
        StatusCode::FORBIDDEN,
        member,
    );
    // Another's message.
    let edit = json!({"content": "바꿈"});
    let theirs = format!("{messages}/{message}");
    is(
        api.patch_json(&theirs, tok(&b), &edit).await,
        StatusCode::FORBIDDEN,
        None,
    );

    // 404: unknown rooms, another kind's UUID, a message of another room.
    let nowhere = Some("Room not found");
    for id in [
        uuid::Uuid::new_v4().to_string(),
        message.clone(),
        "room001".into(),
    ] {
        is(
            api.get(&format!("{P}/rooms/{id}"), tok(&a)).await,
            StatusCode::NOT_FOUND,
            nowhere,
        );
        let send_to = format!("{D}/rooms/{id}/messages");
        is(
            api.post(&send_to, tok(&a), &body).await,
            StatusCode::NOT_FOUND,
            nowhere,
        );
    }
    let elsewhere = format!("{P}/rooms/{other}/messages/{message}");
    let not_here = Some("Message not found");
    is(
        api.patch_json(&elsewhere, tok(&a), &edit).await,
        StatusCode::NOT_FOUND,
        not_here,
    );
    let as_message = format!("{P}/rooms/{room}/messages/{room}");
    is(
        api.delete(&as_message, tok(&a)).await,
        StatusCode::NOT_FOUND,
        not_here,
    );
    let stranger = direct_refused(api, &a, json!("999999")).await;
    is(stranger, StatusCode::NOT_FOUND, Some("User not found"));

    // 400 / 422: bad input.
    let raw = api
        .post_raw(
            &messages,
            tok(&a),
            "application/json",
            b"{not json".to_vec(),
        )
        .await;
    is(raw, StatusCode::BAD_REQUEST, None);
    let team = format!("{P}/rooms/team");
    let unprocessable = [
        api.post(&messages, tok(&a), &json!({"content": "  "}))
            .await,
        api.post(&messages, tok(&a), &json!({"message_type": "text"}))
            .await,
        api.post(
            &messages,
            tok(&a),
            &json!({"content": "x", "message_type": "poll"}),
        )
        .await,
        api.post(
            &messages,
            tok(&a),
            &json!({"content": "x", "reply_to_id": "nope"}),
        )
        .await,
        api.post(
            &messages,
            tok(&a),
            &json!({"content": "x", "reply_to_id": room}),
        )
        .await,
        api.get(&format!("{messages}?limit=0"), tok(&a)).await,
        api.get(&format!("{messages}?before_message_id=x"), tok(&a))
            .await,
        api.get(&format!("{P}/rooms?room_type=group"), tok(&a))
            .await,
        api.get(&format!("{P}/rooms/{room}/search"), tok(&a)).await,
        api.post(&format!("{messages}/{message}/react"), tok(&a), &json!({}))
            .await,
        api.post(
            &format!("{messages}/{message}/react?emoji=meh"),
            tok(&a),
            &json!({}),
        )
        .await,
        direct_refused(api, &a, json!(sid(&a))).await,
        api.post(&team, tok(&a), &json!({"description": "no name"}))
            .await,
        api.post(
            &team,
            tok(&a),
            &json!({"room_name": "X", "team_id": "nope"}),
        )
        .await,
    ];
    for answer in unprocessable {
        is(answer, StatusCode::UNPROCESSABLE_ENTITY, None);
    }

    // The socket refuses in an error frame and carries on.
    let mut ws = socket(api, &format!("{P}/ws"), &c).await;
    for (frame, code) in [
        (
            json!({"type": "join_room", "room_id": room}),
            "not_a_member",
        ),
        (
            json!({"type": "join_room", "room_id": message}),
            "chat_not_found",
        ),
        (
            json!({"type": "typing", "room_id": "nope"}),
            "chat_not_found",
        ),
        (json!({"type": "join_room"}), "validation_error"),
        (json!({"type": "dance", "room_id": room}), "unknown_frame"),
    ] {
        ws.send_json(&frame).await.unwrap();
        let error = ws.expect_type("error", WAIT).await.unwrap();
        assert_eq!(error["code"], code, "{frame} → {error}");
        assert!(error["detail"].is_string(), "{error}");
    }
    join(&mut ws, &other, &c).await;

    // Nothing changed: one message, as sent.
    let (_, page) = api.get(&messages, tok(&a)).await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["messages"][0]["content"], "원본");
}

async fn direct_refused(api: &Api, user: &TestUser, recipient: Value) -> (StatusCode, Value) {
    api.post(
        &format!("{P}/rooms/direct"),
        tok(user),
        &json!({"recipient_id": recipient}),
    )
    .await
}
