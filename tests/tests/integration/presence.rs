//! Presence (ARCHITECTURE §3): online while a socket is open on any
//! replica; offline by itself within the TTL when a replica dies;
//! `last_seen_at` on disconnect; last-seen privacy (seed 004 §3.7). And the
//! contacts and profile endpoints it relies on (seed 004 §6).

use std::time::Duration;

use parley_tests::{
    Api, TestApp, TestDatabase, TestUser, redis_prefix, spawn_api_process, temp_dir,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);

async fn chat_with(api: &Api, viewer: &TestUser, other: &TestUser) -> Value {
    let (_, list) = api.get("/api/v1/chats", Some(&viewer.access_token)).await;
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["counterpart_user_id"] == other.id)
        .cloned()
        .expect("the private chat")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_crosses_replicas_and_records_last_seen() {
    let app = TestApp::spawn().await;
    let replica = app.replica().await;
    let (a, b, _) = app.api.pair("abby", "bert").await;
    let mut ws_a = app.api.connect_ws(&a.access_token).await;

    let ws_b = replica.api.connect_ws(&b.access_token).await;
    let online = ws_a.expect_type("presence", WAIT).await.unwrap();
    assert_eq!(
        online,
        json!({"type": "presence", "user_id": b.id, "is_online": true, "last_seen_at": null})
    );
    let chat = chat_with(&app.api, &a, &b).await;
    assert_eq!(chat["counterpart_is_online"], true);
    assert_eq!(chat["online_count"], 2);

    drop(ws_b);
    let offline = ws_a.expect_type("presence", WAIT).await.unwrap();
    assert_eq!(offline["is_online"], false);
    let seen = offline["last_seen_at"].as_str().expect("last_seen_at");
    let chat = chat_with(&app.api, &a, &b).await;
    assert_eq!(chat["counterpart_is_online"], false);
    assert_eq!(
        chat["counterpart_last_seen_at"].as_str().unwrap()[..19],
        seen[..19]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replicas_users_go_offline_within_the_ttl() {
    let db = TestDatabase::create().await.unwrap();
    let dir = temp_dir();
    let mut env = parley_tests::base_env(&db, &redis_prefix(), &dir);
    env.insert("PRESENCE_TTL_SECS".into(), "3".into());
    let (_r1_process, r1) = spawn_api_process(&env, &dir).await.unwrap();
    let (mut r2_process, r2) = spawn_api_process(&env, &dir).await.unwrap();
    let (a, b, _) = r1.pair("cleo", "dean").await;
    let mut ws_a = r1.connect_ws(&a.access_token).await;
    let _ws_b = r2.connect_ws(&b.access_token).await;
    let online = ws_a.expect_type("presence", WAIT).await.unwrap();
    assert_eq!(online["is_online"], true);

    // B's replica dies without a goodbye; B's socket stays "open" on the
    // client side, but nobody renews it.
    r2_process.kill().await;
    let offline = ws_a
        .expect_type("presence", Duration::from_secs(3 + 2 + 3))
        .await
        .unwrap();
    assert_eq!(offline["user_id"], b.id);
    assert_eq!(offline["is_online"], false);
    assert!(offline["last_seen_at"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_seen_privacy_is_applied() {
    let app = TestApp::spawn().await;
    let target = app.api.register_and_login("erik").await;
    // The stranger registers before the friend: a lower id, so an
    // announcement (which goes to its audience in id order) that wrongly
    // included the stranger would reach them before the friend.
    let stranger = app.api.register_and_login("gabe").await;
    let friend = app.api.register_and_login("faye").await;
    let stranger_chat = app.api.private_chat(&stranger, &target).await;
    app.api.private_chat(&friend, &target).await;
    // Someone whose presence the friend sees, to show what the friend does
    // not see.
    let witness = app.api.register_and_login("hugo").await;
    app.api.private_chat(&witness, &friend).await;

    // contacts: only users in the target's contacts see it.
    let (status, _) = app
        .api
        .post(
            &format!("/api/v1/users/{}/contacts", friend.id),
            Some(&target.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, me) = app
        .api
        .put(
            "/api/v1/users/profile",
            Some(&target.access_token),
            &json!({"privacy_last_seen": "contacts"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["privacy_last_seen"], "contacts");

    let mut ws_friend = app.api.connect_ws(&friend.access_token).await;
    let mut ws_stranger = app.api.connect_ws(&stranger.access_token).await;
    let ws_target = app.api.connect_ws(&target.access_token).await;
    let seen = ws_friend.expect_type("presence", WAIT).await.unwrap();
    assert_eq!(seen["user_id"], target.id);
    // Not a contact: the stranger's next frame, presence included, is a
    // message sent after the announcement reached the friend.
    let later = app.api.send_text(&target, stranger_chat, "hello").await;
    let next = ws_stranger.next_any(WAIT).await.unwrap();
    assert_eq!(next["type"], "message_created", "not a contact: {next}");
    assert_eq!(next["message"]["id"], later["id"]);
    assert_eq!(
        chat_with(&app.api, &friend, &target).await["counterpart_is_online"],
        true
    );
    let hidden = chat_with(&app.api, &stranger, &target).await;
    assert_eq!(hidden["counterpart_is_online"], Value::Null);
    assert_eq!(hidden["counterpart_last_seen_at"], Value::Null);
    drop(ws_target);
    assert_eq!(
        ws_friend.expect_type("presence", WAIT).await.unwrap()["is_online"],
        false
    );

    // nobody: nobody sees it.
    let (status, _) = app
        .api
        .put(
            "/api/v1/users/profile",
            Some(&target.access_token),
            &json!({"privacy_last_seen": "nobody"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let _ws_target = app.api.connect_ws(&target.access_token).await;
    // The friend's next presence frame is the witness coming online, who
    // connects after the target.
    let _ws_witness = app.api.connect_ws(&witness.access_token).await;
    let next = ws_friend.expect_type("presence", WAIT).await.unwrap();
    assert_eq!(
        next,
        json!({"type": "presence", "user_id": witness.id, "is_online": true, "last_seen_at": null}),
        "nobody sees the target"
    );
    assert_eq!(
        chat_with(&app.api, &friend, &target).await["counterpart_is_online"],
        Value::Null
    );

    // everyone: the stranger sees it too.
    let (status, _) = app
        .api
        .put(
            "/api/v1/users/profile",
            Some(&target.access_token),
            &json!({"privacy_last_seen": "everyone"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        chat_with(&app.api, &stranger, &target).await["counterpart_is_online"],
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_and_profile_endpoints() {
    let app = TestApp::spawn().await;
    let me = app.api.register_and_login("hedy").await;
    let other = app.api.register_and_login("ivan").await;
    let token = Some(me.access_token.as_str());
    let (status, err) = app
        .api
        .post(
            &format!("/api/v1/users/{}/contacts", me.id),
            token,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let (status, err) = app
        .api
        .post("/api/v1/users/999999/contacts", token, &json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["code"], "user_not_found");
    let (status, _) = app
        .api
        .post(
            "/api/v1/users/contacts/by-email",
            token,
            &json!({"email": "IVAN@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .api
        .post(
            &format!("/api/v1/users/{}/contacts", other.id),
            token,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "adding twice is fine");
    let (_, list) = app.api.get("/api/v1/users/contacts", token).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], other.id);
    let (status, _) = app
        .api
        .delete(&format!("/api/v1/users/{}/contacts", other.id), token)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = app.api.get("/api/v1/users/contacts", token).await;
    assert_eq!(list, json!([]));

    let (status, err) = app
        .api
        .put(
            "/api/v1/users/profile",
            token,
            &json!({"privacy_last_seen": "friends"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "privacy_last_seen");
    let (status, err) = app
        .api
        .put("/api/v1/users/profile", token, &json!({"name": ""}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "name");
    let (status, user) = app
        .api
        .put(
            "/api/v1/users/profile",
            token,
            &json!({"name": "Hedy L.", "bio": "inventor"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (user["name"].as_str(), user["bio"].as_str()),
        (Some("Hedy L."), Some("inventor"))
    );
    let (_, me_again) = app.api.get("/api/v1/users/me", token).await;
    assert_eq!(me_again, user);
}
