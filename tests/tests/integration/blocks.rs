//! Blocks and user search (seed 004 §6).

use parley_tests::TestApp;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_stops_private_chats_messages_and_group_adds_both_ways() {
    let app = TestApp::spawn().await;
    let (bo, cy, chat) = app.api.pair("boris", "cyril").await;
    let dee = app.api.register_and_login("delia").await;
    let bo_token = Some(bo.access_token.as_str());
    let cy_token = Some(cy.access_token.as_str());

    let (status, _) = app
        .api
        .post(
            &format!("/api/v1/users/{}/block", cy.id),
            bo_token,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .api
        .post(
            &format!("/api/v1/users/{}/block", cy.id),
            bo_token,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "blocking twice is fine");
    let (_, blocked) = app.api.get("/api/v1/users/blocked", bo_token).await;
    assert_eq!(blocked.as_array().map(Vec::len), Some(1));
    assert_eq!(blocked[0]["id"], cy.id);

    // Neither side sends in the private chat, nor opens it again.
    for (sender, token) in [(&bo, bo_token), (&cy, cy_token)] {
        let (status, err) = app
            .api
            .post(
                "/api/v1/messages",
                token,
                &json!({"chat_id": chat, "text": "hi"}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
        assert_eq!(err["code"], "blocked");
        let other = if sender.id == bo.id { cy.id } else { bo.id };
        let (status, err) = app
            .api
            .post(
                "/api/v1/chats",
                token,
                &json!({"type": "private", "member_ids": [other]}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(err["code"], "blocked");
    }
    let (_, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), bo_token)
        .await;
    assert_eq!(page.as_array().map(Vec::len), Some(0), "nothing was sent");

    // The blocked user cannot put the blocker in a group, at creation or later.
    let (status, err) = app
        .api
        .post(
            "/api/v1/chats",
            cy_token,
            &json!({"type": "group", "title": "G", "member_ids": [bo.id, dee.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "blocked");
    let (status, group) = app
        .api
        .post(
            "/api/v1/chats",
            cy_token,
            &json!({"type": "group", "title": "G", "member_ids": [dee.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let group_id = group["id"].as_i64().unwrap_or_default();
    let (status, err) = app
        .api
        .post(
            &format!("/api/v1/chats/{group_id}/members"),
            cy_token,
            &json!({"user_id": bo.id}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "blocked");
    let (_, members) = app
        .api
        .get(&format!("/api/v1/chats/{group_id}/members"), cy_token)
        .await;
    assert_eq!(members.as_array().map(Vec::len), Some(2));

    // Unblocking restores the private chat.
    let (status, _) = app
        .api
        .delete(&format!("/api/v1/users/{}/block", cy.id), bo_token)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.api.send_text(&cy, chat, "hello again").await;
    let (_, blocked) = app.api.get("/api/v1/users/blocked", bo_token).await;
    assert_eq!(blocked, json!([]));

    let (status, err) = app
        .api
        .post(
            &format!("/api/v1/users/{}/block", bo.id),
            bo_token,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let (status, err) = app
        .api
        .post("/api/v1/users/999999/block", bo_token, &json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["code"], "user_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_by_username_or_name_and_leaves_out_blockers() {
    let app = TestApp::spawn().await;
    let me = app.api.register_and_login("seeker").await;
    let alpha = app.api.register_and_login("alphawolf").await;
    let alp = app.api.register_and_login("alp").await;
    let blocker = app.api.register_and_login("alpine").await;
    let token = Some(me.access_token.as_str());
    let search = |q: &str| format!("/api/v1/users/search?query={q}");

    let (status, found) = app.api.get(&search("%40alp"), token).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<i64> = found
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["id"].as_i64())
        .collect();
    assert_eq!(
        ids.first(),
        Some(&alp.id),
        "the exact username first: {found}"
    );
    assert!(
        ids.contains(&alpha.id) && ids.contains(&blocker.id),
        "{found}"
    );
    assert!(!ids.contains(&me.id));
    assert!(found[0]["email"].is_null(), "email follows privacy_email");

    let (_, short) = app.api.get(&search("%40a"), token).await;
    assert_eq!(short, json!([]), "shorter than 2 characters after the @");
    let (_, wild) = app.api.get(&search("%25%25"), token).await;
    assert_eq!(wild, json!([]), "% is a character, not a wildcard");

    app.api
        .post(
            &format!("/api/v1/users/{}/block", me.id),
            Some(&blocker.access_token),
            &json!({}),
        )
        .await;
    let (_, found) = app.api.get(&search("alp"), token).await;
    let ids: Vec<i64> = found
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["id"].as_i64())
        .collect();
    assert!(!ids.contains(&blocker.id), "{found}");
    assert!(ids.contains(&alpha.id));

    let (status, err) = app
        .api
        .get("/api/v1/users/search?query=alp&limit=0", token)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_hides_presence_both_ways() {
    let wait = std::time::Duration::from_secs(5);
    let app = TestApp::spawn().await;
    let target = app.api.register_and_login("tamsin").await;
    let blocked = app.api.register_and_login("blake").await;
    let friend = app.api.register_and_login("fiona").await;
    let witness = app.api.register_and_login("wendy").await;
    let blocked_chat = app.api.private_chat(&blocked, &target).await;
    app.api.private_chat(&friend, &target).await;
    let witness_chat = app.api.private_chat(&witness, &blocked).await;
    let (status, _) = app
        .api
        .post(
            &format!("/api/v1/users/{}/block", blocked.id),
            Some(&target.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let mut ws_friend = app.api.connect_ws(&friend.access_token).await;
    let mut ws_blocked = app.api.connect_ws(&blocked.access_token).await;
    let _ws_target = app.api.connect_ws(&target.access_token).await;
    let seen = ws_friend.expect_type("presence", wait).await.unwrap();
    assert_eq!(seen["user_id"], target.id);
    // The blocked user's next frame is a message sent after the
    // announcement reached the friend: no presence came before it.
    let later = app
        .api
        .send_text(&witness, witness_chat, "still here")
        .await;
    ws_blocked.expect_next_message(&later, wait).await;

    let chat_of = |token: String| {
        let api = &app.api;
        async move {
            api.get(&format!("/api/v1/chats/{blocked_chat}"), Some(&token))
                .await
                .1
        }
    };
    let blocked_view = chat_of(blocked.access_token.clone()).await;
    assert!(
        blocked_view["counterpart_is_online"].is_null(),
        "{blocked_view}"
    );
    let target_view = chat_of(target.access_token.clone()).await;
    assert!(
        target_view["counterpart_is_online"].is_null(),
        "{target_view}"
    );
}
