//! `/api/v1/messages` (seed 004 §8): send (idempotent), list with cursors,
//! edit with history, delete for me and for all, and the refusals.

use parley_tests::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn ids(page: &Value) -> Vec<i64> {
    page.as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_and_list_in_order() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("alan", "bodo").await;
    let first = app.api.send_text(&a, chat, "hello").await;
    assert_eq!(first["chat_id"], chat);
    assert_eq!(first["sender_id"], a.id);
    assert_eq!(first["text"], "hello");
    assert_eq!(first["type"], "text");
    assert_eq!(first["deleted"], false);
    assert_eq!(first["seq"], 2, "seq 1 is the chat's creation");
    let mut sent = vec![first["id"].as_i64().unwrap()];
    for i in 0..9 {
        let m = app
            .api
            .send_text(if i % 2 == 0 { &b } else { &a }, chat, &format!("m{i}"))
            .await;
        sent.push(m["id"].as_i64().unwrap());
    }

    let (status, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), Some(&b.access_token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&page), sent, "oldest first");
    let seqs: Vec<i64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (2..12).collect::<Vec<_>>());

    let (_, latest) = app
        .api
        .get(
            &format!("/api/v1/messages/{chat}?limit=3"),
            Some(&a.access_token),
        )
        .await;
    assert_eq!(ids(&latest), sent[7..]);
    let (_, before) = app
        .api
        .get(
            &format!("/api/v1/messages/{chat}?limit=3&before_id={}", sent[7]),
            Some(&a.access_token),
        )
        .await;
    assert_eq!(ids(&before), sent[4..7]);
    let (_, after) = app
        .api
        .get(
            &format!("/api/v1/messages/{chat}?limit=4&after_id={}", sent[1]),
            Some(&a.access_token),
        )
        .await;
    assert_eq!(ids(&after), sent[2..6]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_refusals() {
    let app = TestApp::spawn().await;
    let (a, _b, chat) = app.api.pair("cyra", "dina").await;
    let outsider = app.api.register_and_login("eddy").await;
    for limit in ["0", "101", "-1"] {
        let (status, err) = app
            .api
            .get(
                &format!("/api/v1/messages/{chat}?limit={limit}"),
                Some(&a.access_token),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "limit={limit}");
        assert_eq!(err["field"], "limit");
    }
    let (status, _) = app
        .api
        .get(
            &format!("/api/v1/messages/{chat}?before_id=5&after_id=1"),
            Some(&a.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, err) = app
        .api
        .get(
            &format!("/api/v1/messages/{chat}"),
            Some(&outsider.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "not_a_member");
    let (status, err) = app
        .api
        .get("/api/v1/messages/55555", Some(&a.access_token))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["code"], "chat_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_refusals_write_nothing() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("fay", "gil").await;
    let outsider = app.api.register_and_login("hal").await;
    let other_chat = app.api.private_chat(&b, &outsider).await;
    let foreign = app.api.send_text(&b, other_chat, "elsewhere").await;
    let token = Some(a.access_token.as_str());
    let cases = [
        (
            json!({"chat_id": chat, "text": "   "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "text",
        ),
        (
            json!({"chat_id": chat, "text": "x".repeat(4097)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "text",
        ),
        (
            json!({"chat_id": chat}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "text",
        ),
        (
            json!({"text": "hi"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "chat_id",
        ),
        (
            json!({"chat_id": chat, "text": "hi", "type": "sticker"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "type",
        ),
        (
            json!({"chat_id": chat, "text": "hi", "client_message_id": "x".repeat(65)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "client_message_id",
        ),
        (
            json!({"chat_id": chat, "text": "hi", "reply_to_message_id": foreign["id"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "reply_to_message_id",
        ),
    ];
    for (body, want, field) in cases {
        let (status, err) = app.api.post("/api/v1/messages", token, &body).await;
        assert_eq!(status, want, "{body} -> {err}");
        assert_eq!(err["field"], field, "{err}");
    }
    let (status, err) = app
        .api
        .post(
            "/api/v1/messages",
            Some(&outsider.access_token),
            &json!({"chat_id": chat, "text": "let me in"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "not_a_member");
    let (status, err) = app
        .api
        .post(
            "/api/v1/messages",
            token,
            &json!({"chat_id": 99999, "text": "hi"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["code"], "chat_not_found");

    let (_, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), token)
        .await;
    assert_eq!(page, json!([]));
    // The refused sends took no seq: the next message follows the creation.
    let next = app.api.send_text(&a, chat, "finally").await;
    assert_eq!(next["seq"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_client_message_id_returns_the_same_message() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("ida", "jon").await;
    let body = json!({"chat_id": chat, "text": "once", "client_message_id": "cm-1"});
    let (status, first) = app
        .api
        .post("/api/v1/messages", Some(&a.access_token), &body)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, again) = app
        .api
        .post("/api/v1/messages", Some(&a.access_token), &body)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["seq"], first["seq"]);

    // Concurrent retries: still one message.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let api = app.api.clone();
        let token = a.access_token.clone();
        let body = json!({"chat_id": chat, "text": "burst", "client_message_id": "cm-2"});
        tasks.push(tokio::spawn(async move {
            api.post("/api/v1/messages", Some(&token), &body).await
        }));
    }
    let mut created = 0;
    let mut message_ids = std::collections::HashSet::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status} {body}"
        );
        created += usize::from(status == StatusCode::CREATED);
        message_ids.insert(body["id"].as_i64().unwrap());
    }
    assert_eq!(created, 1);
    assert_eq!(message_ids.len(), 1);

    // The same client id from another sender is another message.
    let (status, other) = app
        .api
        .post(
            "/api/v1/messages",
            Some(&b.access_token),
            &json!({"chat_id": chat, "text": "mine", "client_message_id": "cm-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(other["id"], first["id"]);

    let (_, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), Some(&a.access_token))
        .await;
    assert_eq!(page.as_array().unwrap().len(), 3);
    let seqs: Vec<i64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![2, 3, 4], "no seq was burnt by the retries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_own_message_keeps_history() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("kim", "lou").await;
    let m = app.api.send_text(&a, chat, "first draft").await;
    let id = m["id"].as_i64().unwrap();
    let (status, edited) = app
        .api
        .put(
            &format!("/api/v1/messages/{id}"),
            Some(&a.access_token),
            &json!({"text": "final"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["text"], "final");
    assert!(edited["edited_at"].is_string());
    assert_eq!(edited["seq"], m["seq"], "a message keeps its creation seq");

    let (status, err) = app
        .api
        .put(
            &format!("/api/v1/messages/{id}"),
            Some(&b.access_token),
            &json!({"text": "hijack"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "not_message_sender");
    let (status, _) = app
        .api
        .put(
            &format!("/api/v1/messages/{id}"),
            Some(&a.access_token),
            &json!({"text": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .api
        .put(
            "/api/v1/messages/424242",
            Some(&a.access_token),
            &json!({"text": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, edits) = app
        .api
        .get(
            &format!("/api/v1/messages/{id}/edits"),
            Some(&b.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(edits.as_array().unwrap().len(), 1);
    assert_eq!(edits[0]["old_text"], "first draft");
    let (_, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), Some(&b.access_token))
        .await;
    assert_eq!(page[0]["text"], "final");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_for_me_and_for_all() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("max", "ned").await;
    let m1 = app.api.send_text(&a, chat, "one").await;
    let m2 = app.api.send_text(&a, chat, "two").await;

    // b hides m1 for themself only.
    let (status, _) = app
        .api
        .delete(
            &format!("/api/v1/messages/{}", m1["id"]),
            Some(&b.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, b_page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), Some(&b.access_token))
        .await;
    assert_eq!(ids(&b_page), vec![m2["id"].as_i64().unwrap()]);
    let (_, a_page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), Some(&a.access_token))
        .await;
    assert_eq!(a_page.as_array().unwrap().len(), 2);

    // b may not delete a's message for everyone.
    let (status, err) = app
        .api
        .delete(
            &format!("/api/v1/messages/{}?for_all=true", m2["id"]),
            Some(&b.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "cannot_delete_for_all");

    // a may; it leaves a tombstone; twice is fine.
    for _ in 0..2 {
        let (status, _) = app
            .api
            .delete(
                &format!("/api/v1/messages/{}?for_all=true", m2["id"]),
                Some(&a.access_token),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let (_, b_page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), Some(&b.access_token))
        .await;
    assert_eq!(b_page[0]["deleted"], true);
    assert_eq!(b_page[0]["text"], Value::Null);
    let (status, _) = app
        .api
        .put(
            &format!("/api/v1/messages/{}", m2["id"]),
            Some(&a.access_token),
            &json!({"text": "revive"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a deleted message cannot be edited"
    );

    let outsider = app.api.register_and_login("ozzy").await;
    let (status, _) = app
        .api
        .delete(
            &format!("/api/v1/messages/{}", m1["id"]),
            Some(&outsider.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_point_inside_the_chat() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("pia", "rex").await;
    let m = app.api.send_text(&a, chat, "question?").await;
    let (status, reply) = app
        .api
        .post(
            "/api/v1/messages",
            Some(&b.access_token),
            &json!({"chat_id": chat, "text": "answer", "reply_to_message_id": m["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(reply["reply_to_message_id"], m["id"]);
}
