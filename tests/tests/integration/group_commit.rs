//! Group commit (issue 13, item 2): sends written together each get their
//! own answer, refusals write nothing, and every chat's log stays
//! contiguous. The batches here are written with
//! `group_commit::write_together` (a context of its own on the test app's
//! database and Redis, so its events reach the replica's sockets); the
//! REST and socket tests cover the queue the server uses.

use std::collections::HashMap;
use std::time::Duration;

use parley_shared::config::Settings;
use parley_shared::domain::context::AppContext;
use parley_shared::domain::error::AppError;
use parley_shared::domain::group_commit::{NewPost, write_together};
use parley_shared::domain::models::MessageType;
use parley_tests::{Api, TestApp, TestUser};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

fn text(chat_id: i64, text: &str) -> NewPost {
    NewPost {
        chat_id,
        message_type: MessageType::Text,
        text: text.to_owned(),
        reply_to_message_id: None,
        client_message_id: None,
    }
}

fn code(outcome: &Result<impl std::fmt::Debug, AppError>) -> String {
    match outcome {
        Ok(_) => "ok".to_owned(),
        Err(AppError::Forbidden { code, .. })
        | Err(AppError::NotFound { code, .. })
        | Err(AppError::Conflict { code, .. }) => code.to_string(),
        Err(AppError::Validation { field, .. }) => format!("validation:{field}"),
        Err(other) => format!("{other:?}"),
    }
}

/// The chat's log from the start: `(seq, type, text)`.
async fn log(api: &Api, user: &TestUser, chat: i64) -> Vec<(i64, String, Option<String>)> {
    let (status, page) = api
        .get(
            &format!("/api/v1/chats/{chat}/events?after_seq=0&limit=100"),
            Some(&user.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["type"].as_str().unwrap().to_owned(),
                e["message"]["text"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

async fn context(app: &TestApp) -> AppContext {
    let settings = Settings::from_map(app.env.clone()).unwrap();
    AppContext::build(settings, None).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_send_of_a_batch_gets_its_own_answer_and_refusals_write_nothing() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let (ann, bo, private) = api.pair("gc_ann", "gc_bo").await;
    let cy = api.register_and_login("gc_cy").await;
    let (dee, eli, blocked_chat) = api.pair("gc_dee", "gc_eli").await;
    let group = api.group(&ann, &[&bo]).await;
    let (status, channel) = api
        .post(
            "/api/v1/chats",
            Some(&ann.access_token),
            &json!({"type": "channel", "title": "news", "member_ids": [bo.id]}),
        )
        .await;
    assert!(status.is_success(), "{status} {channel}");
    let channel = channel["id"].as_i64().unwrap();
    let (status, body) = api
        .post(
            &format!("/api/v1/users/{}/block", eli.id),
            Some(&dee.access_token),
            &json!({}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let elsewhere = api.send_text(&ann, private, "in the private chat").await;
    // Each chat's log length and last seq before the batch.
    let mut before: HashMap<i64, (usize, i64)> = HashMap::new();
    for chat in [group, private] {
        let events = log(api, &ann, chat).await;
        before.insert(chat, (events.len(), events.last().unwrap().0));
    }
    let mut socket = api.connect_ws(&bo.access_token).await;
    // Live events flow once the client spoke (API.md).
    socket.send_json(&json!({"type": "ping"})).await.unwrap();
    socket.expect_type("pong", WAIT).await.unwrap();

    let ctx = context(&app).await;
    let mut reply = text(group, "a reply to another chat's message");
    reply.reply_to_message_id = elsewhere["id"].as_i64();
    let outcomes = write_together(
        &ctx,
        vec![
            (ann.id, text(group, "g1")),
            (cy.id, text(group, "from a stranger")),
            (bo.id, text(group, "g2")),
            (bo.id, text(channel, "a reader posts")),
            (eli.id, text(blocked_chat, "through a block")),
            (ann.id, reply),
            (ann.id, text(i64::MAX, "nowhere")),
            (ann.id, text(private, "p1")),
            (bo.id, text(group, "g3")),
        ],
    )
    .await;
    let codes: Vec<String> = outcomes.iter().map(code).collect();
    assert_eq!(
        codes,
        [
            "ok",
            "not_a_member",
            "ok",
            "cannot_post",
            "blocked",
            "validation:reply_to_message_id",
            "chat_not_found",
            "ok",
            "ok"
        ]
    );
    // Each accepted send answered with its own message, at its chat's
    // next seqs in batch order.
    let sent: Vec<(i64, i64, String)> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok())
        .map(|(event, view)| {
            assert_eq!(view.message.seq, event.seq);
            (event.chat_id, event.seq, view.message.text.clone().unwrap())
        })
        .collect();
    let (g, p) = (before[&group].1, before[&private].1);
    assert_eq!(
        sent,
        [
            (group, g + 1, "g1".to_owned()),
            (group, g + 2, "g2".to_owned()),
            (private, p + 1, "p1".to_owned()),
            (group, g + 3, "g3".to_owned()),
        ]
    );
    // The logs: contiguous, holding only the accepted sends.
    for (chat, texts) in [(group, vec!["g1", "g2", "g3"]), (private, vec!["p1"])] {
        let events = log(api, &ann, chat).await;
        let seqs: Vec<i64> = events.iter().map(|e| e.0).collect();
        let contiguous: Vec<i64> = (seqs[0]..seqs[0] + seqs.len() as i64).collect();
        assert_eq!(seqs, contiguous, "chat {chat}");
        let new: Vec<Option<String>> = events[before[&chat].0..]
            .iter()
            .map(|e| e.2.clone())
            .collect();
        assert_eq!(
            new,
            texts
                .iter()
                .map(|t| Some((*t).to_owned()))
                .collect::<Vec<_>>()
        );
    }
    for (user, chat) in [(&bo, channel), (&eli, blocked_chat)] {
        let events = log(api, user, chat).await;
        assert!(
            events.iter().all(|e| e.1 != "message_created"),
            "chat {chat} has a message: {events:?}"
        );
    }
    // Bo's socket receives the batch's events in each chat's order.
    let mut received: Vec<(i64, String)> = Vec::new();
    while received.len() < 4 {
        let frame: Value = socket.expect_type("message_created", WAIT).await.unwrap();
        received.push((
            frame["chat_id"].as_i64().unwrap(),
            frame["message"]["text"].as_str().unwrap().to_owned(),
        ));
    }
    let in_group: Vec<&str> = received
        .iter()
        .filter(|(chat, _)| *chat == group)
        .map(|(_, t)| t.as_str())
        .collect();
    assert_eq!(in_group, ["g1", "g2", "g3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_message_id_twice_in_one_batch_writes_one_message() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let (ann, _bo, chat) = api.pair("gd_ann", "gd_bo").await;
    let ctx = context(&app).await;
    let keyed = |t: &str, key: &str| NewPost {
        client_message_id: Some(key.to_owned()),
        ..text(chat, t)
    };
    let outcomes = write_together(
        &ctx,
        vec![
            (ann.id, keyed("first", "k-1")),
            (ann.id, keyed("first", "k-1")),
            (ann.id, keyed("second", "k-2")),
        ],
    )
    .await;
    // The second is told its key is taken (the send path then answers
    // with the first message); the batch is written, the third with it.
    let codes: Vec<String> = outcomes.iter().map(code).collect();
    assert_eq!(codes, ["ok", "duplicate_client_message_id", "ok"]);

    // A retry of a written send, batched with a new one: the retry takes
    // no seq, the new one is written.
    let outcomes = write_together(
        &ctx,
        vec![
            (ann.id, keyed("second", "k-2")),
            (ann.id, keyed("third", "k-3")),
        ],
    )
    .await;
    let codes: Vec<String> = outcomes.iter().map(code).collect();
    assert_eq!(codes, ["duplicate_client_message_id", "ok"]);
    let created: Vec<(i64, Option<String>)> = log(api, &ann, chat)
        .await
        .into_iter()
        .filter(|e| e.1 == "message_created")
        .map(|e| (e.0, e.2))
        .collect();
    let texts: Vec<Option<String>> = created.iter().map(|e| e.1.clone()).collect();
    assert_eq!(
        texts,
        [
            Some("first".into()),
            Some("second".into()),
            Some("third".into())
        ]
    );
    let seqs: Vec<i64> = created.iter().map(|e| e.0).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "contiguous seqs: {seqs:?}"
    );

    // Through the send path, the retry is answered with its message.
    let (status, again) = api
        .post(
            "/api/v1/messages",
            Some(&ann.access_token),
            &json!({"chat_id": chat, "text": "second", "client_message_id": "k-2"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["text"], "second");
}
