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

/// A group titled "T" owned by `owner` with `members`; returns its id.
async fn group(api: &Api, owner: &TestUser, members: &[&TestUser]) -> i64 {
    let ids: Vec<i64> = members.iter().map(|m| m.id).collect();
    let (status, chat) = api
        .post(
            "/api/v1/chats",
            tok(owner),
            &json!({"type": "group", "title": "T", "member_ids": ids}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "create group: {chat}");
    chat["id"].as_i64().unwrap()
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

// ---------------------------------------------------------------------------
// Item 2: deadlocks never answer 500.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_and_replies_to_one_message_all_succeed() {
    let app = TestApp::spawn().await;
    let r2 = app.replica().await;
    let apis = [app.api.clone(), r2.api.clone()];
    let (a, b, chat) = app.api.pair("ada", "bert").await;
    let m = app.api.send_text(&a, chat, "the original").await;
    let id = m["id"].as_i64().unwrap();
    const PER_ROUND: usize = 12;
    for round in 0..ROUNDS {
        let mut calls = Vec::new();
        for i in 0..PER_ROUND {
            calls.push((
                apis[i % 2].clone(),
                a.access_token.clone(),
                Call::Put(
                    format!("/api/v1/messages/{id}"),
                    json!({"text": format!("edit {round}.{i}")}),
                ),
            ));
            calls.push((
                apis[(i + 1) % 2].clone(),
                b.access_token.clone(),
                Call::Post(
                    "/api/v1/messages".to_owned(),
                    json!({
                        "chat_id": chat,
                        "text": format!("reply {round}.{i}"),
                        "reply_to_message_id": id,
                    }),
                ),
            ));
        }
        let answers = fire(calls).await;
        for (k, (status, body)) in answers.iter().enumerate() {
            let (want, what) = if k % 2 == 0 {
                (StatusCode::OK, "edit")
            } else {
                (StatusCode::CREATED, "reply")
            };
            assert_eq!(*status, want, "round {round}, {what} {}: {body}", k / 2);
        }
    }
    // Every success wrote exactly one event: creation, the message, then
    // one per edit and one per reply.
    let expected = 2 + (ROUNDS * PER_ROUND * 2) as i64;
    assert_eq!(last_seq(&app.api, &a, chat).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_for_all_racing_replies_answers_204_201_or_422() {
    let app = TestApp::spawn().await;
    let r2 = app.replica().await;
    let apis = [app.api.clone(), r2.api.clone()];
    let (a, b, chat) = app.api.pair("cora", "dirk").await;
    const REPLIES: usize = 8;
    for round in 0..ROUNDS {
        let m = app
            .api
            .send_text(&a, chat, &format!("target {round}"))
            .await;
        let id = m["id"].as_i64().unwrap();
        let mut calls = Vec::new();
        for i in 0..REPLIES {
            calls.push((
                apis[i % 2].clone(),
                b.access_token.clone(),
                Call::Post(
                    "/api/v1/messages".to_owned(),
                    json!({
                        "chat_id": chat,
                        "text": format!("reply {round}.{i}"),
                        "reply_to_message_id": id,
                    }),
                ),
            ));
        }
        calls.push((
            apis[round % 2].clone(),
            a.access_token.clone(),
            Call::Delete(format!("/api/v1/messages/{id}?for_all=true")),
        ));
        let answers = fire(calls).await;
        let (replies, delete) = answers.split_at(REPLIES);
        assert_eq!(
            delete[0].0,
            StatusCode::NO_CONTENT,
            "round {round}, delete: {}",
            delete[0].1
        );
        for (status, body) in replies {
            if *status == StatusCode::CREATED {
                assert_eq!(body["reply_to_message_id"], id, "{body}");
            } else if *status == StatusCode::UNPROCESSABLE_ENTITY {
                // The reply came after the delete.
                assert_eq!(body["field"], "reply_to_message_id", "{body}");
            } else {
                panic!("round {round}, reply: {status} {body}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Item 3: membership races keep exactly one owner and one event.
// ---------------------------------------------------------------------------

/// Fires `count` leaves of `leaver` from `g` at once, across both replicas:
/// exactly one succeeds, the others are refused as from a non-member.
async fn race_leaves(apis: &[Api; 2], leaver: &TestUser, g: i64, count: usize, round: usize) {
    let calls = (0..count)
        .map(|i| {
            (
                apis[(i + round) % 2].clone(),
                leaver.access_token.clone(),
                Call::Post(format!("/api/v1/chats/{g}/leave"), json!({})),
            )
        })
        .collect();
    let answers = fire(calls).await;
    exactly_one_204(
        &answers,
        &[
            (StatusCode::FORBIDDEN, "not_a_member"),
            (StatusCode::NOT_FOUND, ""),
        ],
        &format!("round {round}, leave"),
    );
}

/// Exactly one of `answers` is 204; every other one is one of `refusals`.
fn exactly_one_204(answers: &[(StatusCode, Value)], refusals: &[(StatusCode, &str)], what: &str) {
    assert_eq!(
        successes(answers, StatusCode::NO_CONTENT),
        1,
        "{what}: exactly one succeeds: {answers:?}"
    );
    for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::NO_CONTENT) {
        assert_one_of(*status, body, refusals, &format!("{what}, repeated"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_owner_leaves_keep_exactly_one_owner_and_one_event() {
    let app = TestApp::spawn().await;
    let r2 = app.replica().await;
    let apis = [app.api.clone(), r2.api.clone()];
    let owner = app.api.register_and_login("olga").await;
    let heir = app.api.register_and_login("hugo").await;
    let other = app.api.register_and_login("ines").await;
    // The heir is the longest-standing member: the lowest id of the two.
    let heir_id = heir.id.min(other.id);
    for round in 0..ROUNDS {
        let g = group(&app.api, &owner, &[&heir, &other]).await;
        race_leaves(&apis, &owner, g, 3, round).await;
        let log = events(&app.api, &other, g).await;
        assert_eq!(
            count_of(&log, "member_left", owner.id),
            1,
            "round {round}: one member_left for the owner: {log:?}"
        );
        assert_eq!(
            owners(&app.api, &other, g).await,
            vec![heir_id],
            "round {round}: exactly one owner, the heir"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_leaves_of_a_member_leave_once() {
    let app = TestApp::spawn().await;
    let r2 = app.replica().await;
    let apis = [app.api.clone(), r2.api.clone()];
    let owner = app.api.register_and_login("pavla").await;
    let leaver = app.api.register_and_login("quirin").await;
    let stays = app.api.register_and_login("romy").await;
    for round in 0..ROUNDS {
        let g = group(&app.api, &owner, &[&leaver, &stays]).await;
        let count = 2 + round % 2; // double and triple leaves
        race_leaves(&apis, &leaver, g, count, round).await;
        let log = events(&app.api, &stays, g).await;
        assert_eq!(
            count_of(&log, "member_left", leaver.id),
            1,
            "round {round}: one member_left: {log:?}"
        );
        assert_eq!(owners(&app.api, &stays, g).await, vec![owner.id]);
        let ids: Vec<i64> = members(&app.api, &stays, g)
            .await
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert!(!ids.contains(&leaver.id), "round {round}: {ids:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_removals_of_one_member_remove_once() {
    let app = TestApp::spawn().await;
    let r2 = app.replica().await;
    let apis = [app.api.clone(), r2.api.clone()];
    let owner = app.api.register_and_login("sven").await;
    let target = app.api.register_and_login("tilda").await;
    let stays = app.api.register_and_login("ulf").await;
    for round in 0..ROUNDS {
        let g = group(&app.api, &owner, &[&target, &stays]).await;
        let calls = (0..20)
            .map(|i| {
                (
                    apis[i % 2].clone(),
                    owner.access_token.clone(),
                    Call::Delete(format!("/api/v1/chats/{g}/members/{}", target.id)),
                )
            })
            .collect();
        let answers = fire(calls).await;
        exactly_one_204(
            &answers,
            &[
                (StatusCode::NOT_FOUND, "member_not_found"),
                (StatusCode::FORBIDDEN, "cannot_remove"),
            ],
            &format!("round {round}, removal"),
        );
        let log = events(&app.api, &owner, g).await;
        assert_eq!(
            count_of(&log, "member_left", target.id),
            1,
            "round {round}: one member_left: {log:?}"
        );
        assert_eq!(owners(&app.api, &owner, g).await, vec![owner.id]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_leaving_while_removing_the_heir_leaves_exactly_one_owner() {
    let app = TestApp::spawn().await;
    let r2 = app.replica().await;
    let apis = [app.api.clone(), r2.api.clone()];
    let owner = app.api.register_and_login("vera").await;
    // Registered first: the lower id, so the longest-standing member.
    let heir = app.api.register_and_login("wolf").await;
    let third = app.api.register_and_login("xenia").await;
    assert!(heir.id < third.id);
    for round in 0..ROUNDS {
        let g = group(&app.api, &owner, &[&heir, &third]).await;
        let calls = vec![
            (
                apis[round % 2].clone(),
                owner.access_token.clone(),
                Call::Post(format!("/api/v1/chats/{g}/leave"), json!({})),
            ),
            (
                apis[(round + 1) % 2].clone(),
                owner.access_token.clone(),
                Call::Delete(format!("/api/v1/chats/{g}/members/{}", heir.id)),
            ),
        ];
        let answers = fire(calls).await;
        let (leave, remove) = (&answers[0], &answers[1]);
        assert_eq!(
            leave.0,
            StatusCode::NO_CONTENT,
            "round {round}, leave: {}",
            leave.1
        );
        assert_one_of(
            remove.0,
            &remove.1,
            &[
                (StatusCode::NO_CONTENT, ""),
                (StatusCode::FORBIDDEN, ""),
                (StatusCode::NOT_FOUND, ""),
            ],
            &format!("round {round}, removing the heir"),
        );
        // The third member always remains and reads the outcome.
        let now = members(&app.api, &third, g).await;
        let owner_ids: Vec<i64> = now
            .iter()
            .filter(|(_, role)| role == "owner")
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(
            owner_ids.len(),
            1,
            "round {round}: exactly one owner: {now:?} (remove: {remove:?})"
        );
        if remove.0 == StatusCode::NO_CONTENT {
            // The removal came first: the third member inherits.
            assert_eq!(owner_ids, vec![third.id], "round {round}: {now:?}");
            assert!(
                now.iter().all(|(id, _)| *id != heir.id),
                "round {round}: {now:?}"
            );
        } else {
            // The leave came first: the heir inherits and stays.
            assert_eq!(owner_ids, vec![heir.id], "round {round}: {now:?}");
        }
        let log = events(&app.api, &third, g).await;
        assert_eq!(count_of(&log, "member_left", owner.id), 1, "{log:?}");
        assert!(count_of(&log, "member_left", heir.id) <= 1, "{log:?}");
    }
}

// ---------------------------------------------------------------------------
// Item 4: NUL characters are a 422 naming the field, and write nothing.
// ---------------------------------------------------------------------------

const NUL: &str = "a\u{0}b";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_are_refused_naming_the_field_and_write_nothing() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("nadia", "nikolai").await;
    let token = tok(&a);

    // Sending.
    for (body, field) in [
        (json!({"chat_id": chat, "text": NUL}), "text"),
        (
            json!({"chat_id": chat, "text": "fine", "client_message_id": NUL}),
            "client_message_id",
        ),
    ] {
        let (status, err) = app.api.post("/api/v1/messages", token, &body).await;
        assert_422(status, &err, field, &format!("send {body}"));
    }
    let (status, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page, json!([]), "no message was written");

    // Editing.
    let m = app.api.send_text(&a, chat, "clean").await;
    let id = m["id"].as_i64().unwrap();
    let (status, err) = app
        .api
        .put(
            &format!("/api/v1/messages/{id}"),
            token,
            &json!({"text": NUL}),
        )
        .await;
    assert_422(status, &err, "text", "edit");
    let (_, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), token)
        .await;
    assert_eq!(page[0]["text"], "clean", "the text is unchanged");
    let (status, edits) = app
        .api
        .get(&format!("/api/v1/messages/{id}/edits"), token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(edits, json!([]), "no edit was recorded");

    // Renaming a group.
    let g = group(&app.api, &a, &[&b]).await;
    let (status, err) = app
        .api
        .patch_json(
            &format!("/api/v1/chats/{g}/title"),
            token,
            &json!({"title": NUL}),
        )
        .await;
    assert_422(status, &err, "title", "rename");
    let (_, detail) = app.api.get(&format!("/api/v1/chats/{g}"), token).await;
    assert_eq!(detail["title"], "T", "the title is unchanged");

    // The profile.
    let (status, err) = app
        .api
        .put("/api/v1/users/profile", token, &json!({"bio": NUL}))
        .await;
    assert_422(status, &err, "bio", "profile");
    let (_, me) = app.api.get("/api/v1/users/me", token).await;
    assert!(me["bio"].is_null(), "the bio is unchanged: {me}");

    // Contacts by email.
    let (status, err) = app
        .api
        .post(
            "/api/v1/users/contacts/by-email",
            token,
            &json!({"email": format!("{}{NUL}", b.email)}),
        )
        .await;
    assert_422(status, &err, "email", "contact by email");
    let (_, contacts) = app.api.get("/api/v1/users/contacts", token).await;
    assert_eq!(contacts, json!([]), "no contact was added");

    // A query string.
    let (status, err) = app.api.get("/api/v1/chats?query=%00", token).await;
    assert_422(status, &err, "query", "chat search");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_in_auth_bodies_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let (status, err) = app
        .api
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": "x@y.z", "password": "a\u{0}"}),
        )
        .await;
    assert_422(status, &err, "password", "login");

    let register = |name: &str| {
        json!({
            "email": "nul@example.com",
            "name": name,
            "username": "nulname",
            "password": "password-nul",
        })
    };
    let (status, err) = app
        .api
        .post("/api/v1/auth/register", None, &register(NUL))
        .await;
    assert_422(status, &err, "name", "register");
    // Nothing was written: the same email and username are still free.
    let (status, body) = app
        .api
        .post("/api/v1/auth/register", None, &register("Nul"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_send_with_nul_is_a_validation_error_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let (a, _b, chat) = app.api.pair("olav", "petra").await;
    let mut ws = app.api.connect_ws(&a.access_token).await;
    ws.send_json(&json!({
        "type": "send",
        "ref": "r1",
        "chat_id": chat,
        "text": NUL,
        "client_message_id": "n1",
    }))
    .await
    .unwrap();
    let frame = ws.next_json(WAIT).await.unwrap();
    assert_eq!(frame["type"], "error", "{frame}");
    assert_eq!(frame["code"], "validation_error", "{frame}");
    assert_eq!(frame["ref"], "r1", "{frame}");
    let (_, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), tok(&a))
        .await;
    assert_eq!(page, json!([]), "no message was written");
    // The client id was not taken either.
    let (status, body) = app
        .api
        .post(
            "/api/v1/messages",
            tok(&a),
            &json!({"chat_id": chat, "text": "clean", "client_message_id": "n1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

// ---------------------------------------------------------------------------
// Item 8: the chat list's cursor must be one of the caller's chats.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_list_cursor_must_be_one_of_the_callers_chats() {
    let app = TestApp::spawn().await;
    let a = app.api.register_and_login("quinn").await;
    let b = app.api.register_and_login("rosa").await;
    let c = app.api.register_and_login("stig").await;
    let ab = app.api.private_chat(&a, &b).await;
    let bc = app.api.private_chat(&b, &c).await;
    let (status, err) = app
        .api
        .get(&format!("/api/v1/chats?before_id={bc}"), tok(&a))
        .await;
    assert_422(status, &err, "before_id", "a foreign cursor");
    let (status, list) = app
        .api
        .get(&format!("/api/v1/chats?before_id={ab}"), tok(&a))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(list.is_array(), "{list}");
}

// ---------------------------------------------------------------------------
// Item 9: a reused client_message_id must match its chat and text.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_client_message_id_must_match_its_chat_and_text() {
    let app = TestApp::spawn().await;
    let a = app.api.register_and_login("erik").await;
    let b = app.api.register_and_login("frida").await;
    let c = app.api.register_and_login("gustav").await;
    let ab = app.api.private_chat(&a, &b).await;
    let ac = app.api.private_chat(&a, &c).await;
    let body = json!({"chat_id": ab, "text": "hello", "client_message_id": "cm-x"});
    let (status, first) = app.api.post("/api/v1/messages", tok(&a), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = app.api.post("/api/v1/messages", tok(&a), &body).await;
    assert_eq!(status, StatusCode::OK, "a retry: {again}");
    assert_eq!(again["id"], first["id"]);

    for (other, what) in [
        (
            json!({"chat_id": ac, "text": "hello", "client_message_id": "cm-x"}),
            "another chat",
        ),
        (
            json!({"chat_id": ab, "text": "different", "client_message_id": "cm-x"}),
            "another text",
        ),
    ] {
        let (status, err) = app.api.post("/api/v1/messages", tok(&a), &other).await;
        assert_eq!(status, StatusCode::CONFLICT, "{what}: {err}");
        assert_eq!(err["code"], "client_message_id_conflict", "{what}: {err}");
    }
    let (_, in_ac) = app
        .api
        .get(&format!("/api/v1/messages/{ac}"), tok(&a))
        .await;
    assert_eq!(in_ac, json!([]), "nothing was written to the other chat");
    let (_, in_ab) = app
        .api
        .get(&format!("/api/v1/messages/{ab}"), tok(&a))
        .await;
    assert_eq!(in_ab.as_array().unwrap().len(), 1, "{in_ab}");
    assert_eq!(in_ab[0]["text"], "hello");
}

// ---------------------------------------------------------------------------
// Item 10: trailing data after a JSON body is malformed JSON.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailing_data_after_a_json_body_is_malformed_json() {
    let app = TestApp::spawn().await;
    let (a, _b, chat) = app.api.pair("hilde", "igor").await;
    for raw in [
        format!(r#"{{"chat_id":{chat},"text":"hi"}} garbage"#),
        format!(r#"{{"chat_id":{chat},"text":"hi"}}{{"b":2}}"#),
        r#"{"a":1}{"b":2}"#.to_owned(),
    ] {
        let (status, err) = app
            .api
            .post_raw(
                "/api/v1/messages",
                tok(&a),
                "application/json",
                raw.clone().into_bytes(),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw}: {err}");
        assert_eq!(err["code"], "malformed_json", "{raw}: {err}");
    }
    let (_, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), tok(&a))
        .await;
    assert_eq!(page, json!([]), "no message was written");
}

// ---------------------------------------------------------------------------
// Item 6: emails are private by default.
// ---------------------------------------------------------------------------

/// `contact_id`'s entry in `viewer`'s contact list.
async fn contact_entry(api: &Api, viewer: &TestUser, contact_id: i64) -> Value {
    let (status, list) = api.get("/api/v1/users/contacts", tok(viewer)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == contact_id)
        .cloned()
        .unwrap_or_else(|| panic!("{contact_id} is not in {list}"))
}

async fn set_privacy_email(api: &Api, user: &TestUser, value: &str) -> (StatusCode, Value) {
    api.put(
        "/api/v1/users/profile",
        tok(user),
        &json!({"privacy_email": value}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_are_private_by_default_and_follow_privacy_email() {
    let app = TestApp::spawn().await;
    let alice = app.api.register_and_login("alice").await;
    let bob = app.api.register_and_login("bob_b").await;
    let carol = app.api.register_and_login("carol").await;

    let (status, body) = app
        .api
        .post(
            &format!("/api/v1/users/{}/contacts", alice.id),
            tok(&bob),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let entry = contact_entry(&app.api, &bob, alice.id).await;
    assert!(
        entry.as_object().unwrap().contains_key("email") && entry["email"].is_null(),
        "hidden by default, the key present: {entry}"
    );

    let (status, body) = set_privacy_email(&app.api, &alice, "everyone").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entry = contact_entry(&app.api, &bob, alice.id).await;
    assert_eq!(entry["email"], alice.email.as_str(), "everyone: {entry}");

    let (status, body) = set_privacy_email(&app.api, &alice, "contacts").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entry = contact_entry(&app.api, &bob, alice.id).await;
    assert!(
        entry["email"].is_null(),
        "contacts, and Alice does not keep Bob: {entry}"
    );
    let (status, body) = app
        .api
        .post(
            &format!("/api/v1/users/{}/contacts", bob.id),
            tok(&alice),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let entry = contact_entry(&app.api, &bob, alice.id).await;
    assert_eq!(
        entry["email"],
        alice.email.as_str(),
        "contacts, and Alice keeps Bob: {entry}"
    );

    let (status, err) = set_privacy_email(&app.api, &alice, "friends").await;
    assert_422(status, &err, "privacy_email", "an unknown privacy value");

    // The caller's own email stays visible.
    let (status, me) = app.api.get("/api/v1/users/me", tok(&alice)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], alice.email.as_str());

    // Adding by email does not tell whether the address exists.
    let known = app
        .api
        .post(
            "/api/v1/users/contacts/by-email",
            tok(&carol),
            &json!({"email": alice.email}),
        )
        .await;
    let unknown = app
        .api
        .post(
            "/api/v1/users/contacts/by-email",
            tok(&carol),
            &json!({"email": "nobody-here@example.com"}),
        )
        .await;
    assert_eq!(known, (StatusCode::NO_CONTENT, Value::Null));
    assert_eq!(unknown, known, "the same answer for an unknown address");
}

// ---------------------------------------------------------------------------
// Item 1: text deleted for everyone is never replayed.
// ---------------------------------------------------------------------------

const SECRETS: [&str; 2] = ["secret v1", "secret v2"];

/// Asserts that `events` (from `source`) hold none of `secrets`, and still
/// show the deletion: a `message_deleted` for all, and the creation as a
/// deleted message without text.
fn assert_scrubbed(source: &str, events: &[Value], message_id: i64, secrets: &[&str]) {
    let text = Value::Array(events.to_vec()).to_string();
    for secret in secrets {
        assert!(
            !text.contains(*secret),
            "{source} replays {secret:?}: {text}"
        );
    }
    assert!(
        events.iter().any(|e| e["type"] == "message_deleted"
            && e["message_id"] == message_id
            && e["for_all"] == true),
        "{source}: no message_deleted for all: {text}"
    );
    let created: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "message_created" && e["message"]["id"] == message_id)
        .collect();
    assert_eq!(created.len(), 1, "{source}: one message_created: {text}");
    assert_eq!(created[0]["message"]["deleted"], true, "{source}: {text}");
    assert!(created[0]["message"]["text"].is_null(), "{source}: {text}");
}

/// Sends `texts[0]` as `user`, edits it to `texts[1]`, deletes it for
/// everyone; returns the message id.
async fn send_edit_delete(api: &Api, user: &TestUser, chat: i64, texts: [&str; 2]) -> i64 {
    let m = api.send_text(user, chat, texts[0]).await;
    let id = m["id"].as_i64().unwrap();
    let (status, body) = api
        .put(
            &format!("/api/v1/messages/{id}"),
            tok(user),
            &json!({"text": texts[1]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api
        .delete(&format!("/api/v1/messages/{id}?for_all=true"), tok(user))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_deleted_for_everyone_is_never_replayed() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("hedda", "ivar").await;
    let (status, before) = app.api.get("/api/v1/updates", tok(&b)).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    let old_token = before["token"].as_str().unwrap().to_owned();

    let id = send_edit_delete(&app.api, &a, chat, SECRETS).await;

    // The chat's log, for the sender and the other member.
    for user in [&a, &b] {
        let log = events(&app.api, user, chat).await;
        assert_scrubbed("GET /chats/{id}/events", &log, id, &SECRETS);
    }

    // GET /updates from a token taken before the message.
    let (status, page) = app
        .api
        .get(&format!("/api/v1/updates?since={old_token}"), tok(&b))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let whole = page.to_string();
    for secret in SECRETS {
        assert!(
            !whole.contains(secret),
            "updates replay {secret:?}: {whole}"
        );
    }
    let replayed: Vec<Value> = page["chats"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["chat_id"] == chat)
        .flat_map(|c| c["events"].as_array().unwrap().clone())
        .collect();
    assert_scrubbed("GET /updates", &replayed, id, &SECRETS);

    // A socket resuming from the start.
    let mut ws = app.api.connect_ws(&b.access_token).await;
    let (frames, _) = resume(&mut ws, chat, 0).await;
    assert_scrubbed("socket resume", &frames, id, &SECRETS);

    // An SSE stream resuming from an old Last-Event-ID.
    let mut sse = SseClient::connect(&app.api, &b.access_token, Some(old_token.as_str()))
        .await
        .unwrap();
    let mut streamed = Vec::new();
    loop {
        let event = sse.next_event(WAIT).await.unwrap();
        let done = event.event.as_deref() == Some("message_deleted");
        streamed.push(event.data);
        if done {
            break;
        }
    }
    assert_scrubbed("SSE Last-Event-ID", &streamed, id, &SECRETS);

    // The edit history is gone with the text.
    for user in [&a, &b] {
        let (status, edits) = app
            .api
            .get(&format!("/api/v1/messages/{id}/edits"), tok(user))
            .await;
        assert!(
            status == StatusCode::NOT_FOUND || (status == StatusCode::OK && edits == json!([])),
            "edits of a message deleted for all: {status} {edits}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_joins_later_sees_no_text_deleted_for_everyone() {
    let app = TestApp::spawn().await;
    let owner = app.api.register_and_login("jorun").await;
    let member = app.api.register_and_login("kaare").await;
    let late = app.api.register_and_login("liv").await;
    let g = group(&app.api, &owner, &[&member]).await;
    let secrets = ["secret g1", "secret g2"];
    send_edit_delete(&app.api, &owner, g, secrets).await;
    add_member(&app.api, &owner, g, &late).await;

    let (status, page) = app
        .api
        .get(&format!("/api/v1/chats/{g}/events?after_seq=0"), tok(&late))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let whole = page.to_string();
    for secret in secrets {
        assert!(
            !whole.contains(secret),
            "a later member reads {secret:?}: {whole}"
        );
    }
}

/// Item 1, cleared history: a member who cleared the chat's history up to a
/// message is replayed stubs for what came before, never the text, and a
/// later edit of such a message reaches their socket as a stub too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cleared_history_is_not_replayed() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use parley_shared::infra::schema::chat_members;

    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("maren", "nils").await;
    let old1 = app.api.send_text(&a, chat, "cleared one").await;
    let old2 = app.api.send_text(&a, chat, "cleared two").await;
    // B clears the history up to old2 (there is no endpoint for it yet).
    let mut conn = app.db.connect().await.unwrap();
    diesel::update(
        chat_members::table
            .filter(chat_members::chat_id.eq(chat))
            .filter(chat_members::user_id.eq(b.id)),
    )
    .set(chat_members::cleared_before_message_id.eq(old2["id"].as_i64().unwrap()))
    .execute(&mut conn)
    .await
    .unwrap();
    let new = app.api.send_text(&a, chat, "kept three").await;

    let (status, page) = app
        .api
        .get(&format!("/api/v1/chats/{chat}/events?after_seq=0"), tok(&b))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let whole = page.to_string();
    assert!(
        !whole.contains("cleared one") && !whole.contains("cleared two"),
        "{whole}"
    );
    assert!(whole.contains("kept three"), "{whole}");
    let stubs: Vec<&Value> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "message_hidden")
        .collect();
    assert_eq!(stubs.len(), 2, "{whole}");
    assert_eq!(stubs[0]["message_id"], old1["id"]);
    assert_eq!(stubs[1]["message_id"], old2["id"]);

    // Live: A edits a cleared message; B's socket gets a stub, then the
    // next message as usual.
    let mut ws = app.api.connect_ws(&b.access_token).await;
    let (status, body) = app
        .api
        .put(
            &format!("/api/v1/messages/{}", old1["id"]),
            tok(&a),
            &json!({"text": "cleared one, edited"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after = app.api.send_text(&a, chat, "live four").await;
    let stub = ws.next_json(WAIT).await.unwrap();
    assert_eq!(stub["type"], "message_hidden", "{stub}");
    assert_eq!(stub["message_id"], old1["id"]);
    let next = ws.next_json(WAIT).await.unwrap();
    assert_eq!(next["type"], "message_created", "{next}");
    assert_eq!(next["message"]["id"], after["id"]);
    assert_ne!(new["id"], after["id"]);
}

// ---------------------------------------------------------------------------
// Item 5: a member removed and re-added keeps the chat on resume.
// ---------------------------------------------------------------------------

/// Asserts that `frames` (from `source`) hold `user`'s removal, then their
/// return, then the "after return" message, and never "while away".
fn assert_removed_and_back(source: &str, frames: &[Value], user: i64) {
    let text = Value::Array(frames.to_vec()).to_string();
    assert!(
        !text.contains("while away"),
        "{source}: a message from while the member was away: {text}"
    );
    let left = frames
        .iter()
        .position(|f| f["type"] == "member_left" && f["user_id"] == user)
        .unwrap_or_else(|| panic!("{source}: no member_left: {text}"));
    assert_eq!(frames[left]["reason"], "removed", "{source}: {text}");
    let joined = frames
        .iter()
        .position(|f| f["type"] == "member_joined" && f["user_id"] == user)
        .unwrap_or_else(|| panic!("{source}: no member_joined: {text}"));
    let after = frames
        .iter()
        .position(|f| f["type"] == "message_created" && f["message"]["text"] == "after return")
        .unwrap_or_else(|| panic!("{source}: no \"after return\": {text}"));
    assert!(
        left < joined && joined < after,
        "{source}: in order left, joined, message: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_removed_and_re_added_keeps_the_chat_on_resume() {
    let app = TestApp::spawn().await;
    let owner = app.api.register_and_login("magnus").await;
    let member = app.api.register_and_login("maren").await;
    let g = group(&app.api, &owner, &[&member]).await;
    let s0 = last_seq(&app.api, &member, g).await;

    let (status, body) = app
        .api
        .delete(
            &format!("/api/v1/chats/{g}/members/{}", member.id),
            tok(&owner),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    app.api.send_text(&owner, g, "while away").await;
    add_member(&app.api, &owner, g, &member).await;
    app.api.send_text(&owner, g, "after return").await;
    let last = last_seq(&app.api, &owner, g).await;

    // (a) The socket resumes across the absence and keeps following.
    let mut ws = app.api.connect_ws(&member.access_token).await;
    let (frames, resumed) = resume(&mut ws, g, s0).await;
    assert_removed_and_back("socket resume", &frames, member.id);
    let key = g.to_string();
    assert_eq!(resumed["chats"][key.as_str()], last, "{resumed}");
    let live = app.api.send_text(&owner, g, "live after resume").await;
    let frame = ws.expect_type("message_created", WAIT).await.unwrap();
    assert_eq!(frame["message"]["id"], live["id"], "{frame}");

    // (b) REST pages across the absence to the end, whatever the page size.
    for limit in ["", "&limit=1"] {
        let mut after = s0;
        let mut got = Vec::new();
        let mut pages = 0;
        loop {
            pages += 1;
            assert!(pages < 100, "limit {limit:?}: paging never ends");
            let (status, page) = app
                .api
                .get(
                    &format!("/api/v1/chats/{g}/events?after_seq={after}{limit}"),
                    tok(&member),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            assert_eq!(page["resync_required"], false, "{page}");
            got.extend(page["events"].as_array().unwrap().iter().cloned());
            after = page["next_after_seq"].as_i64().unwrap();
            if page["has_more"] != true {
                break;
            }
        }
        let now_last = last_seq(&app.api, &owner, g).await;
        assert_eq!(after, now_last, "limit {limit:?}: paged to the end");
        assert_removed_and_back(&format!("REST events{limit}"), &got, member.id);
    }
}
