//! Regressions for the defects found by hostile testing (issue 6)
//!
//! Each test names the behaviour it pins down: deadlocks never answer 500
//! (item 2), membership races keep exactly one owner and one event (item 3),
//! NUL characters are a 422 naming the field (item 4), a removed and
//! re-added member keeps the chat on resume (item 5), emails are private by
//! default (item 6), text deleted for everyone is never replayed (item 1),
//! the chat list's cursor must be the caller's (item 8), a reused
//! `client_message_id` must match its chat and text (item 9), and trailing
//! data after a JSON body is malformed (item 10).
//!
//! Race tests fire their requests together (released by a barrier) and
//! spread them over two replicas of one app.

mod inputs;
mod races;
mod replays;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use parley_tests::{Api, SseClient, TestApp, TestUser, WsClient};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

/// Rounds of each race test.
const ROUNDS: usize = 10;

fn tok(user: &TestUser) -> Option<&str> {
    Some(user.access_token.as_str())
}

/// Adds `user` to `chat` as `by`; asserts 201.
async fn add_member(api: &Api, by: &TestUser, chat: i64, user: &TestUser) {
    let (status, body) = api
        .post(
            &format!("/api/v1/chats/{chat}/members"),
            tok(by),
            &json!({"user_id": user.id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "add member: {body}");
}

/// Every event of `chat` from the start, as `reader` may see them (pages
/// through `GET /chats/{id}/events`).
async fn events(api: &Api, reader: &TestUser, chat: i64) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = 0;
    for _ in 0..100 {
        let (status, page) = api
            .get(
                &format!("/api/v1/chats/{chat}/events?after_seq={after}&limit=1000"),
                tok(reader),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "events of chat {chat}: {page}");
        all.extend(page["events"].as_array().unwrap().iter().cloned());
        after = page["next_after_seq"].as_i64().unwrap();
        if page["has_more"] != true {
            return all;
        }
    }
    panic!("the events of chat {chat} never ended");
}

/// The members of `chat` as `(user_id, role)`, read by `reader`.
async fn members(api: &Api, reader: &TestUser, chat: i64) -> Vec<(i64, String)> {
    let (status, detail) = api.get(&format!("/api/v1/chats/{chat}"), tok(reader)).await;
    assert_eq!(status, StatusCode::OK, "chat {chat}: {detail}");
    detail["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user_id"].as_i64().unwrap(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The owners of `chat`, read by `reader`.
async fn owners(api: &Api, reader: &TestUser, chat: i64) -> Vec<i64> {
    members(api, reader, chat)
        .await
        .into_iter()
        .filter(|(_, role)| role == "owner")
        .map(|(id, _)| id)
        .collect()
}

/// The chat's `last_seq`, read by `reader`.
async fn last_seq(api: &Api, reader: &TestUser, chat: i64) -> i64 {
    let (status, detail) = api.get(&format!("/api/v1/chats/{chat}"), tok(reader)).await;
    assert_eq!(status, StatusCode::OK, "chat {chat}: {detail}");
    detail["last_seq"].as_i64().unwrap()
}

/// How many events of `kind` are about `user_id`.
fn count_of(events: &[Value], kind: &str, user_id: i64) -> usize {
    events
        .iter()
        .filter(|e| e["type"] == kind && e["user_id"] == user_id)
        .count()
}

/// One request of a race.
enum Call {
    Post(String, Value),
    Put(String, Value),
    Delete(String),
}

/// Sends every call at once (each in its own task, released together) and
/// returns the answers in the order of `calls`.
async fn fire(calls: Vec<(Api, String, Call)>) -> Vec<(StatusCode, Value)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(calls.len()));
    let tasks = calls.into_iter().map(|(api, token, call)| {
        let barrier = Arc::clone(&barrier);
        tokio::spawn(async move {
            barrier.wait().await;
            match call {
                Call::Post(path, body) => api.post(&path, Some(&token), &body).await,
                Call::Put(path, body) => api.put(&path, Some(&token), &body).await,
                Call::Delete(path) => api.delete(&path, Some(&token)).await,
            }
        })
    });
    join_all(tasks)
        .await
        .into_iter()
        .map(|answer| answer.expect("request task"))
        .collect()
}

fn successes(answers: &[(StatusCode, Value)], want: StatusCode) -> usize {
    answers.iter().filter(|(status, _)| *status == want).count()
}

/// Asserts that `(status, body)` is one of `allowed` (`(status, code)`; an
/// empty code allows any code with that status).
fn assert_one_of(status: StatusCode, body: &Value, allowed: &[(StatusCode, &str)], what: &str) {
    assert!(
        !status.is_server_error(),
        "{what}: a server error: {status} {body}"
    );
    assert!(
        allowed
            .iter()
            .any(|(s, code)| *s == status && (code.is_empty() || body["code"] == *code)),
        "{what}: unexpected {status} {body}"
    );
}

/// Asserts a 422 whose `field` is `field`.
fn assert_422(status: StatusCode, err: &Value, field: &str, what: &str) {
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{what}: want 422, got {status} {err}"
    );
    assert_eq!(err["field"], field, "{what}: {err}");
}

/// Sends `resume` for one chat from `from`; returns the frames before
/// `resumed`, and `resumed`.
async fn resume(ws: &mut WsClient, chat: i64, from: i64) -> (Vec<Value>, Value) {
    ws.send_json(&json!({"type": "resume", "ref": "rs", "chats": {chat.to_string(): from}}))
        .await
        .unwrap();
    let mut frames = Vec::new();
    loop {
        let frame = ws.next_json(WAIT).await.unwrap();
        if frame["type"] == "resumed" {
            return (frames, frame);
        }
        assert_ne!(frame["type"], "error", "resume refused: {frame}");
        frames.push(frame);
    }
}
