//! Receipts (seed 004 §8 `POST /messages/status`, socket `read` /
//! `delivered`): positions only move forward and unread counts follow them.

use std::time::Duration;

use parley_tests::{Api, TestApp, TestUser};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);

async fn status(
    api: &Api,
    user: &TestUser,
    chat: i64,
    message: &Value,
    kind: &str,
) -> (StatusCode, Value) {
    api.post(
        "/api/v1/messages/status",
        Some(&user.access_token),
        &json!({"chat_id": chat, "message_id": message["id"], "status": kind}),
    )
    .await
}

async fn unread(api: &Api, user: &TestUser, chat: i64) -> i64 {
    let (_, list) = api.get("/api/v1/chats", Some(&user.access_token)).await;
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == chat)
        .map(|c| c["unread_count"].as_i64().unwrap())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_only_move_forward_and_unread_counts_follow() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("rosa", "saul").await;
    let mut sent = Vec::new();
    for i in 0..6 {
        sent.push(app.api.send_text(&a, chat, &format!("m{i}")).await);
    }
    app.api
        .send_text(&b, chat, "mine, never unread for me")
        .await;
    assert_eq!(unread(&app.api, &b, chat).await, 6);

    let (code, pos) = status(&app.api, &b, chat, &sent[3], "message_read").await;
    assert_eq!(code, StatusCode::OK, "{pos}");
    assert_eq!(
        pos,
        json!({"last_delivered_message_id": sent[3]["id"], "last_read_message_id": sent[3]["id"]})
    );
    assert_eq!(unread(&app.api, &b, chat).await, 2);

    // Backwards: nothing moves.
    let (_, pos) = status(&app.api, &b, chat, &sent[1], "message_read").await;
    assert_eq!(pos["last_read_message_id"], sent[3]["id"]);
    // Delivered ahead of read moves only delivered.
    let (_, pos) = status(&app.api, &b, chat, &sent[5], "message_delivered").await;
    assert_eq!(
        pos,
        json!({"last_delivered_message_id": sent[5]["id"], "last_read_message_id": sent[3]["id"]})
    );
    assert_eq!(unread(&app.api, &b, chat).await, 2);

    // Edits change nothing; a deleted unread message is no longer unread.
    let (code, _) = app
        .api
        .put(
            &format!("/api/v1/messages/{}", sent[4]["id"]),
            Some(&a.access_token),
            &json!({"text": "m4!"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(unread(&app.api, &b, chat).await, 2);
    let (code, _) = app
        .api
        .delete(
            &format!("/api/v1/messages/{}?for_all=true", sent[4]["id"]),
            Some(&a.access_token),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    assert_eq!(unread(&app.api, &b, chat).await, 1);
    // Hidden for me: not unread either.
    let (code, _) = app
        .api
        .delete(
            &format!("/api/v1/messages/{}", sent[5]["id"]),
            Some(&b.access_token),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    assert_eq!(unread(&app.api, &b, chat).await, 0);

    // The sender's list shows how far the other side got.
    let (_, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), Some(&a.access_token))
        .await;
    let statuses: Vec<&str> = page.as_array().unwrap()[..4]
        .iter()
        .map(|m| m["delivery_status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["read"; 4]);
    assert_eq!(page[5]["delivery_status"], "delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_refusals() {
    let app = TestApp::spawn().await;
    let a = app.api.register_and_login("tara").await;
    let b = app.api.register_and_login("ugo").await;
    let c = app.api.register_and_login("vera").await;
    let ab = app.api.private_chat(&a, &b).await;
    let bc = app.api.private_chat(&b, &c).await;
    let in_ab = app.api.send_text(&a, ab, "x").await;
    let in_bc = app.api.send_text(&c, bc, "y").await;
    let (code, err) = status(&app.api, &a, ab, &in_bc, "message_read").await;
    assert_eq!(code, StatusCode::NOT_FOUND, "a message of another chat");
    assert_eq!(err["code"], "message_not_found");
    let (code, err) = status(&app.api, &c, ab, &in_ab, "message_read").await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "not_a_member");
    let (code, err) = status(&app.api, &b, ab, &in_ab, "message_seen").await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_reach_the_other_members_once() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("walt", "xena").await;
    let m = app.api.send_text(&a, chat, "did you read this?").await;
    let mut ws_a = app.api.connect_ws(&a.access_token).await;
    let mut ws_b = app.api.connect_ws(&b.access_token).await;

    ws_b.send_json(&json!({"type": "delivered", "chat_id": chat, "message_id": m["id"]}))
        .await
        .unwrap();
    let delivered = ws_a.next_json(WAIT).await.unwrap();
    assert_eq!(
        delivered,
        json!({"type": "message_delivered", "chat_id": chat, "user_id": b.id, "message_id": m["id"]})
    );
    ws_b.send_json(&json!({"type": "read", "ref": "r", "chat_id": chat, "message_id": m["id"]}))
        .await
        .unwrap();
    let ack = ws_b.expect_type("ack", WAIT).await.unwrap();
    assert_eq!(ack["ref"], "r");
    let read = ws_a.next_json(WAIT).await.unwrap();
    assert_eq!(
        read,
        json!({"type": "message_read", "chat_id": chat, "user_id": b.id, "message_id": m["id"]})
    );
    // Reading it again moves nothing and says nothing: once it is
    // acknowledged, A's next frame is the next message.
    ws_b.send_json(&json!({"type": "read", "ref": "r2", "chat_id": chat, "message_id": m["id"]}))
        .await
        .unwrap();
    let ack = ws_b.expect_type("ack", WAIT).await.unwrap();
    assert_eq!(ack["ref"], "r2");
    let later = app.api.send_text(&b, chat, "yes, just now").await;
    ws_a.expect_next_message(&later, WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_mentions_follow_reads_deletes_and_hides() {
    let app = TestApp::spawn().await;
    let a = app.api.register_and_login("mona").await;
    let b = app.api.register_and_login("nico").await;
    let stranger = app.api.register_and_login("omar").await;
    let (created, chat) = app
        .api
        .post(
            "/api/v1/chats",
            Some(&a.access_token),
            &json!({"type": "group", "title": "mentions", "member_ids": [b.id]}),
        )
        .await;
    assert_eq!(created, StatusCode::OK);
    let chat = chat["id"].as_i64().unwrap();
    let mut ws_b = app.api.connect_ws(&b.access_token).await;
    let m1 = app
        .api
        .send_text(&a, chat, "hey @NICO, and @omar (not here), and me @mona")
        .await;
    assert_eq!(
        m1["mentions"],
        json!([b.id]),
        "members only, never the sender"
    );
    let live = ws_b.expect_type("message_created", WAIT).await.unwrap();
    assert_eq!(live["message"]["mentions"], json!([b.id]));
    let m2 = app.api.send_text(&a, chat, "@nico again").await;
    let m3 = app.api.send_text(&a, chat, "@nico once more").await;
    app.api.send_text(&a, chat, "no mention").await;

    let mentions = |user: &TestUser| {
        let (api, token) = (app.api.clone(), user.access_token.clone());
        async move {
            let (_, list) = api.get("/api/v1/chats", Some(&token)).await;
            list[0]["unread_mentions_count"].as_i64().unwrap()
        }
    };
    assert_eq!(mentions(&b).await, 3);
    assert_eq!(unread(&app.api, &b, chat).await, 4);
    let (_, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), Some(&b.access_token))
        .await;
    assert_eq!(
        page[0]["mentions"],
        json!([b.id]),
        "the history carries mentions too"
    );

    let (code, _) = status(&app.api, &b, chat, &m1, "message_read").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(mentions(&b).await, 2);
    let (code, _) = app
        .api
        .delete(
            &format!("/api/v1/messages/{}?for_all=true", m2["id"]),
            Some(&a.access_token),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    assert_eq!(mentions(&b).await, 1);
    let (code, _) = app
        .api
        .delete(
            &format!("/api/v1/messages/{}", m3["id"]),
            Some(&b.access_token),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    assert_eq!(mentions(&b).await, 0);
    assert_eq!(mentions(&a).await, 0);
    // The stranger was named but is not a member: nothing for them.
    let (_, theirs) = app
        .api
        .get("/api/v1/chats", Some(&stranger.access_token))
        .await;
    assert_eq!(theirs, json!([]));
}
