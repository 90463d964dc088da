//! Deleting a chat (seed 004 §7, `DELETE /chats/{id}?for_all=`) and the
//! chat's settings (`GET / PUT /chats/{id}/settings`, seed 001's room
//! settings): who may, what every member then sees over REST, sockets on
//! another replica, SSE and catch-up, and that a refusal changes nothing.

use std::time::Duration;

use parley_tests::{SseClient, TestApp, TestUser, assert_refused as refused, tok};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);

/// The ids in `user`'s chat list.
async fn listed(app: &TestApp, user: &TestUser) -> Vec<i64> {
    let (status, body) = app.api.get("/api/v1/chats", tok(user)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

async fn set_role(app: &TestApp, owner: &TestUser, chat: i64, user: &TestUser, role: &str) {
    let (status, body) = app
        .api
        .patch_json(
            &format!("/api/v1/chats/{chat}/members/{}/role", user.id),
            tok(owner),
            &json!({ "role": role }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owner_deletes_a_group_for_everyone_and_every_member_hears_it_last() {
    let app = TestApp::spawn().await;
    let other_replica = app.replica().await;
    let owner = app.api.register_and_login("delowner").await;
    let admin = app.api.register_and_login("deladmin").await;
    let member = app.api.register_and_login("delmember").await;
    let outsider = app.api.register_and_login("deloutsider").await;
    let (status, created) = app
        .api
        .post(
            "/api/v1/chats",
            tok(&owner),
            &json!({"type": "group", "title": "Doomed", "handle": "doomed_club",
                    "is_public": true, "member_ids": [admin.id, member.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let chat = created["id"].as_i64().unwrap();
    set_role(&app, &owner, chat, &admin, "admin").await;
    let (status, link) = app
        .api
        .post(
            &format!("/api/v1/chats/{chat}/invite-link"),
            tok(&owner),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let other_chat = app.api.private_chat(&owner, &member).await;
    let (_, before) = app.api.get("/api/v1/updates", tok(&member)).await;
    let said = app.api.send_text(&owner, chat, "last words").await;

    // Refusals first: nothing changes.
    let path = format!("/api/v1/chats/{chat}?for_all=true");
    refused(
        "anonymous",
        app.api.delete(&path, None).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    );
    refused(
        "outsider",
        app.api.delete(&path, tok(&outsider)).await,
        StatusCode::FORBIDDEN,
        "not_a_member",
    );
    for who in [&admin, &member] {
        refused(
            &who.email,
            app.api.delete(&path, tok(who)).await,
            StatusCode::FORBIDDEN,
            "not_chat_owner",
        );
    }
    refused(
        "no such chat",
        app.api
            .delete("/api/v1/chats/999999999?for_all=true", tok(&owner))
            .await,
        StatusCode::NOT_FOUND,
        "chat_not_found",
    );
    assert!(listed(&app, &member).await.contains(&chat));

    // The member's socket is on the other replica; an SSE stream on this one.
    let mut socket = other_replica.api.connect_ws(&member.access_token).await;
    let mut sse = SseClient::connect(&app.api, &admin.access_token, None)
        .await
        .unwrap();
    let ready = sse.next_event(WAIT).await.unwrap();
    assert_eq!(ready.event.as_deref(), Some("ready"));
    let (status, body) = app.api.delete(&path, tok(&owner)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let frame = socket.expect_type("chat_deleted", WAIT).await.unwrap();
    assert_eq!(frame["chat_id"], chat);
    assert_eq!(frame["user_id"], owner.id);
    let deleted_seq = frame["seq"].as_i64().unwrap();
    assert!(deleted_seq > 0, "{frame}");
    let streamed = loop {
        let event = sse.next_event(WAIT).await.unwrap();
        if event.event.as_deref() == Some("chat_deleted") {
            break event;
        }
    };
    assert_eq!(streamed.data["seq"], deleted_seq);
    // Nothing of the chat after it: the next frame is a later message in
    // another chat.
    let later = app.api.send_text(&owner, other_chat, "elsewhere").await;
    socket.expect_next_message(&later, WAIT).await;

    for who in [&owner, &admin, &member] {
        assert!(!listed(&app, who).await.contains(&chat), "{}", who.email);
        refused(
            "the deleted chat",
            app.api
                .get(&format!("/api/v1/chats/{chat}"), tok(who))
                .await,
            StatusCode::NOT_FOUND,
            "chat_not_found",
        );
    }
    refused(
        "a message to it",
        app.api
            .post(
                "/api/v1/messages",
                tok(&owner),
                &json!({"chat_id": chat, "text": "anyone?", "client_message_id": "gone-1"}),
            )
            .await,
        StatusCode::NOT_FOUND,
        "chat_not_found",
    );
    refused(
        "deleting it again",
        app.api.delete(&path, tok(&owner)).await,
        StatusCode::NOT_FOUND,
        "chat_not_found",
    );
    // Its invite link and public listing are gone; its handle is free.
    let (status, _) = app
        .api
        .post(
            "/api/v1/chats/join-by-invite",
            tok(&outsider),
            &json!({"token": link["token"]}),
        )
        .await;
    assert!(status.is_client_error(), "{status}");
    let (_, found) = app
        .api
        .get("/api/v1/chats/discover?query=doomed", tok(&outsider))
        .await;
    assert_eq!(found, json!([]));
    let (status, again) = app
        .api
        .post(
            "/api/v1/chats",
            tok(&outsider),
            &json!({"type": "group", "title": "Reborn", "handle": "doomed_club", "is_public": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");

    // Catch-up: the member's updates name it among the chats they left.
    let since = before["token"].as_str().unwrap();
    let (_, updates) = app
        .api
        .get(&format!("/api/v1/updates?since={since}"), tok(&member))
        .await;
    assert_eq!(updates["left_chat_ids"], json!([chat]), "{updates}");
    assert!(said["id"].is_i64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn either_member_deletes_a_private_chat_for_both_and_the_pair_can_start_again() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("privdela", "privdelb").await;
    app.api.send_text(&a, chat, "hello").await;
    let mut socket_a = app.api.connect_ws(&a.access_token).await;
    let (status, body) = app
        .api
        .delete(&format!("/api/v1/chats/{chat}?for_all=true"), tok(&b))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let frame = socket_a.expect_type("chat_deleted", WAIT).await.unwrap();
    assert_eq!(
        (frame["chat_id"].as_i64(), frame["user_id"].as_i64()),
        (Some(chat), Some(b.id))
    );
    assert!(!listed(&app, &a).await.contains(&chat));

    let fresh = app.api.private_chat(&a, &b).await;
    assert_ne!(fresh, chat);
    let (_, page) = app
        .api
        .get(&format!("/api/v1/messages/{fresh}"), tok(&a))
        .await;
    assert_eq!(page, json!([]));
    // The new chat is followed live.
    let first = app.api.send_text(&b, fresh, "again").await;
    let frame = socket_a.expect_type("message_created", WAIT).await.unwrap();
    assert_eq!(frame["message"]["id"], first["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_private_chat_for_me_hides_it_until_a_new_message_and_leaves_the_other_alone() {
    let app = TestApp::spawn().await;
    let (me, other, chat) = app.api.pair("forme", "keeper").await;
    app.api.send_text(&other, chat, "one").await;
    app.api.send_text(&me, chat, "two").await;
    let mut my_other_device = app.api.connect_ws(&me.access_token).await;

    let (status, body) = app
        .api
        .delete(&format!("/api/v1/chats/{chat}"), tok(&me))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let frame = my_other_device
        .expect_type("chat_settings_updated", WAIT)
        .await
        .unwrap();
    assert_eq!(
        (frame["chat_id"].as_i64(), frame["hidden"].as_bool()),
        (Some(chat), Some(true))
    );
    assert!(!listed(&app, &me).await.contains(&chat));
    let (_, mine) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), tok(&me))
        .await;
    assert_eq!(mine, json!([]));
    // The other member keeps the chat and its history.
    assert!(listed(&app, &other).await.contains(&chat));
    let (_, theirs) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), tok(&other))
        .await;
    assert_eq!(theirs.as_array().unwrap().len(), 2);

    // A new message brings it back, with only that message.
    let back = app.api.send_text(&other, chat, "three").await;
    my_other_device.expect_next_message(&back, WAIT).await;
    assert!(listed(&app, &me).await.contains(&chat));
    let (_, mine) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), tok(&me))
        .await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["id"], back["id"]);

    // Opening the chat again (POST /chats) also brings it back at once.
    let (status, _) = app
        .api
        .delete(&format!("/api/v1/chats/{chat}?for_all=false"), tok(&me))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!listed(&app, &me).await.contains(&chat));
    assert_eq!(app.api.private_chat(&me, &other).await, chat);
    assert!(listed(&app, &me).await.contains(&chat));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_group_for_me_is_leaving_it() {
    let app = TestApp::spawn().await;
    let owner = app.api.register_and_login("leaveowner").await;
    let member = app.api.register_and_login("leavemember").await;
    let chat = app.api.group(&owner, &[&member]).await;
    let mut socket = app.api.connect_ws(&member.access_token).await;
    let (status, body) = app
        .api
        .delete(&format!("/api/v1/chats/{chat}"), tok(&owner))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let left = socket.expect_type("member_left", WAIT).await.unwrap();
    assert_eq!(left["user_id"], owner.id);
    // The chat lives on, handed to the remaining member.
    let promoted = socket.expect_type("member_updated", WAIT).await.unwrap();
    assert_eq!(promoted["member"]["role"], "owner");
    assert!(!listed(&app, &owner).await.contains(&chat));
    assert!(listed(&app, &member).await.contains(&chat));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_settings_are_read_by_members_and_changed_by_owner_and_admins() {
    let app = TestApp::spawn().await;
    let owner = app.api.register_and_login("setowner").await;
    let admin = app.api.register_and_login("setadmin").await;
    let member = app.api.register_and_login("setmember").await;
    let outsider = app.api.register_and_login("setoutsider").await;
    let chat = app.api.group(&owner, &[&admin, &member]).await;
    set_role(&app, &owner, chat, &admin, "admin").await;
    let path = format!("/api/v1/chats/{chat}/settings");

    let (status, settings) = app.api.get(&path, tok(&member)).await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert_eq!(
        settings,
        json!({"chat_id": chat, "retention_days": null, "read_receipts_enabled": true})
    );
    refused(
        "outsider reads",
        app.api.get(&path, tok(&outsider)).await,
        StatusCode::FORBIDDEN,
        "not_a_member",
    );
    refused(
        "anonymous reads",
        app.api.get(&path, None).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    );
    refused(
        "member changes",
        app.api
            .put(&path, tok(&member), &json!({"retention_days": 7}))
            .await,
        StatusCode::FORBIDDEN,
        "not_chat_admin",
    );
    for bad in [
        json!({"retention_days": 0}),
        json!({"retention_days": 4000}),
    ] {
        refused(
            "bad retention",
            app.api.put(&path, tok(&owner), &bad).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        );
    }
    let (_, unchanged) = app.api.get(&path, tok(&owner)).await;
    assert_eq!(unchanged, settings);

    let mut socket = app.api.connect_ws(&member.access_token).await;
    let (status, changed) = app
        .api
        .put(
            &path,
            tok(&admin),
            &json!({"retention_days": 30, "read_receipts_enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        changed,
        json!({"chat_id": chat, "retention_days": 30, "read_receipts_enabled": false})
    );
    let frame = socket.expect_type("chat_updated", WAIT).await.unwrap();
    assert_eq!(frame["chat"]["retention_days"], 30);
    assert_eq!(frame["chat"]["read_receipts_enabled"], false);
    // `null` keeps messages again; an absent field stays as it is.
    let (_, cleared) = app
        .api
        .put(&path, tok(&owner), &json!({"retention_days": null}))
        .await;
    assert_eq!(
        cleared,
        json!({"chat_id": chat, "retention_days": null, "read_receipts_enabled": false})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_read_receipts_off_no_one_learns_who_read() {
    let app = TestApp::spawn().await;
    let (sender, reader, chat) = app.api.pair("rrsender", "rrreader").await;
    // Either member of a private chat sets it.
    let (status, body) = app
        .api
        .put(
            &format!("/api/v1/chats/{chat}/settings"),
            tok(&reader),
            &json!({"read_receipts_enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let message = app.api.send_text(&sender, chat, "did you read it?").await;
    let mut senders_socket = app.api.connect_ws(&sender.access_token).await;
    let mut readers_other_device = app.api.connect_ws(&reader.access_token).await;
    let (status, body) = app
        .api
        .post(
            "/api/v1/messages/status",
            tok(&reader),
            &json!({"chat_id": chat, "message_id": message["id"], "status": "message_read"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The reader's own devices hear it; the sender does not.
    let own = readers_other_device
        .expect_type("message_read", WAIT)
        .await
        .unwrap();
    assert_eq!(own["message_id"], message["id"]);
    let reply = app.api.send_text(&reader, chat, "maybe").await;
    senders_socket.expect_next_message(&reply, WAIT).await;
    let (_, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), tok(&sender))
        .await;
    let mine = page
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == message["id"])
        .unwrap();
    assert_eq!(mine["delivery_status"], "delivered", "{mine}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_messages_past_the_chats_retention_days_for_everyone() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn_with(|env| {
        env.insert("RETENTION_INTERVAL_SECS".into(), "1".into());
    })
    .await;
    let (a, b, chat) = app.api.pair("keeper1", "keeper2").await;
    let other_chat = app.api.group(&a, &[&b]).await;
    let old = app.api.send_text(&a, chat, "an old message").await;
    let kept = app.api.send_text(&a, other_chat, "no retention here").await;
    let recent = app.api.send_text(&b, chat, "a recent message").await;
    let mut conn = app.db.connect().await.unwrap();
    // Two days ago, in both chats.
    diesel::sql_query(format!(
        "UPDATE messages SET created_at = now() - interval '2 days' WHERE id IN ({}, {})",
        old["id"], kept["id"]
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let (status, _) = app
        .api
        .put(
            &format!("/api/v1/chats/{chat}/settings"),
            tok(&a),
            &json!({"retention_days": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut socket = app.api.connect_ws(&b.access_token).await;
    let worker = app.start_worker();
    let frame = socket.expect_type("message_deleted", WAIT).await.unwrap();
    assert_eq!(frame["message_id"], old["id"]);
    assert_eq!(frame["for_all"], true);
    worker.stop().await;
    let (_, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), tok(&b))
        .await;
    let texts: Vec<&Value> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["text"])
        .collect();
    assert_eq!(texts, [&Value::Null, &json!("a recent message")], "{page}");
    assert_eq!(page[1]["id"], recent["id"]);
    let (_, other) = app
        .api
        .get(&format!("/api/v1/messages/{other_chat}"), tok(&b))
        .await;
    assert_eq!(other[0]["text"], "no retention here");
}
