//! Items 1 and 5: deleted text is never replayed; a re-joined member
//! keeps the chat on resume.

use super::*;

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
    let g = app.api.group(&owner, &[&member]).await;
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
    let g = app.api.group(&owner, &[&member]).await;
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
