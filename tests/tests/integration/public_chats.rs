//! Saved messages, and public groups and channels: discovery and joining
//! (seed 004 §7).

use std::time::Duration;

use parley_tests::TestApp;
use reqwest::StatusCode;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_messages_is_one_chat_of_ones_own() {
    let app = TestApp::spawn().await;
    let me = app.api.register_and_login("saver").await;
    let other = app.api.register_and_login("other").await;
    let token = Some(me.access_token.as_str());
    let mut socket = app.api.connect_ws(&me.access_token).await;

    let requests = (0..4).map(|_| app.api.get("/api/v1/chats/saved", token));
    let answers = futures_util::future::join_all(requests).await;
    let ids: Vec<i64> = answers
        .iter()
        .map(|(status, chat)| {
            assert_eq!(*status, StatusCode::OK, "{chat}");
            chat["id"].as_i64().unwrap_or_default()
        })
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one saved chat: {ids:?}"
    );
    let saved = &answers[0].1;
    assert_eq!(saved["is_saved"], true);
    assert_eq!(saved["display_title"], "Saved Messages");
    assert_eq!(saved["members_count"], 1);
    let created = socket.expect_type("chat_created", WAIT).await.unwrap();
    assert_eq!(created["chat_id"], ids[0]);

    let note = app.api.send_text(&me, ids[0], "remember the milk").await;
    let echoed = socket.expect_type("message_created", WAIT).await.unwrap();
    assert_eq!(echoed["message"]["id"], note["id"]);
    let (_, list) = app.api.get("/api/v1/chats", token).await;
    assert_eq!(list[0]["id"], ids[0]);
    assert_eq!(list[0]["is_saved"], true);
    assert_eq!(list[0]["last_message_text"], "remember the milk");

    // Someone else's saved messages are theirs alone.
    let (status, err) = app
        .api
        .get(
            &format!("/api/v1/chats/{}", ids[0]),
            Some(&other.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "not_a_member");
    let (_, theirs) = app
        .api
        .get("/api/v1/chats/saved", Some(&other.access_token))
        .await;
    assert_ne!(theirs["id"], ids[0]);
    let (status, err) = app
        .api
        .post(
            &format!("/api/v1/chats/{}/members", ids[0]),
            token,
            &json!({"user_id": other.id}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "private_chat");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_chats_are_found_and_joined_private_ones_are_not() {
    let app = TestApp::spawn().await;
    let owner = app.api.register_and_login("founder").await;
    let reader = app.api.register_and_login("reader").await;
    let owner_token = Some(owner.access_token.as_str());
    let reader_token = Some(reader.access_token.as_str());
    let (status, channel) = app
        .api
        .post(
            "/api/v1/chats",
            owner_token,
            &json!({"type": "channel", "title": "Rust News", "handle": "rustnews", "is_public": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{channel}");
    let channel_id = channel["id"].as_i64().unwrap_or_default();
    let (status, closed) = app
        .api
        .post(
            "/api/v1/chats",
            owner_token,
            &json!({"type": "group", "title": "Rust Insiders"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let closed_id = closed["id"].as_i64().unwrap_or_default();

    let (status, found) = app
        .api
        .get("/api/v1/chats/discover?query=rust", reader_token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found[0]["id"], channel_id);
    assert_eq!(found[0]["handle"], "rustnews");
    assert_eq!(found[0]["subscribers_count"], 1);
    assert_eq!(found[0]["is_member"], false);
    let (_, by_handle) = app
        .api
        .get("/api/v1/chats/discover?query=%40rustn", reader_token)
        .await;
    assert_eq!(by_handle[0]["id"], channel_id);

    let mut owner_socket = app.api.connect_ws(&owner.access_token).await;
    let mut reader_socket = app.api.connect_ws(&reader.access_token).await;
    let (status, joined) = app
        .api
        .post(
            &format!("/api/v1/chats/{channel_id}/join"),
            reader_token,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!(joined["my_role"], "member");
    assert_eq!(joined["subscribers_count"], 2);
    let heard = owner_socket
        .expect_type("member_joined", WAIT)
        .await
        .unwrap();
    assert_eq!(heard["user_id"], reader.id);
    let told = reader_socket
        .expect_type("member_joined", WAIT)
        .await
        .unwrap();
    assert_eq!(told["chat_id"], channel_id);

    // Joining again changes nothing: no second event reaches the owner.
    let (status, _) = app
        .api
        .post(
            &format!("/api/v1/chats/{channel_id}/join"),
            reader_token,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let post = app.api.send_text(&owner, channel_id, "first post").await;
    let next = owner_socket.expect_next_message(&post, WAIT).await;
    assert_eq!(next["type"], "message_created");
    let (_, members) = app
        .api
        .get(&format!("/api/v1/chats/{channel_id}/members"), owner_token)
        .await;
    assert_eq!(members.as_array().map(Vec::len), Some(2));

    // A subscriber of a channel reads but does not post.
    let (status, err) = app
        .api
        .post(
            "/api/v1/messages",
            reader_token,
            &json!({"chat_id": channel_id, "text": "me too"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "cannot_post");

    let (status, err) = app
        .api
        .post(
            &format!("/api/v1/chats/{closed_id}/join"),
            reader_token,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "chat_not_public");
    let (status, _) = app
        .api
        .get(&format!("/api/v1/chats/{closed_id}"), reader_token)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "still not a member");
    let (status, err) = app
        .api
        .post("/api/v1/chats/999999/join", reader_token, &json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["code"], "chat_not_found");
}
