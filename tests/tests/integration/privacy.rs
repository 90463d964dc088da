//! Profile privacy (seed 004 §3.7): who sees a user's avatar and who may
//! add them to groups and channels; another user's profile.

use parley_tests::TestApp;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_avatar_shows_only_to_whom_privacy_avatar_allows() {
    let app = TestApp::spawn().await;
    let (owner, viewer, chat) = app.api.pair("avaowner", "avaviewer").await;
    let owner_token = Some(owner.access_token.as_str());
    let viewer_token = Some(viewer.access_token.as_str());
    let (status, me) = app
        .api
        .put(
            "/api/v1/users/profile",
            owner_token,
            &json!({"avatar_url": "https://img.example/a.png", "privacy_avatar": "contacts"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["privacy_avatar"], "contacts");
    assert_eq!(me["privacy_group_invites"], "everyone");
    assert_eq!(
        me["avatar_url"], "https://img.example/a.png",
        "one's own, always"
    );

    let profile = format!("/api/v1/users/{}", owner.id);
    let (status, seen) = app.api.get(&profile, viewer_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen["username"], "avaowner");
    assert!(seen["avatar_url"].is_null(), "{seen}");
    assert!(seen["email"].is_null(), "privacy_email defaults to nobody");
    assert!(seen["twofa_enabled"].is_null());
    let (_, found) = app
        .api
        .get("/api/v1/users/search?query=avaowner", viewer_token)
        .await;
    assert!(found[0]["avatar_url"].is_null(), "{found}");
    let (_, listed) = app
        .api
        .get(&format!("/api/v1/chats/{chat}"), viewer_token)
        .await;
    assert!(listed["counterpart_avatar_url"].is_null(), "{listed}");
    assert!(listed["avatar_url"].is_null());

    // Kept as a contact, the viewer sees it everywhere.
    let (status, _) = app
        .api
        .post(
            &format!("/api/v1/users/{}/contacts", viewer.id),
            owner_token,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, seen) = app.api.get(&profile, viewer_token).await;
    assert_eq!(seen["avatar_url"], "https://img.example/a.png");
    let (_, listed) = app
        .api
        .get(&format!("/api/v1/chats/{chat}"), viewer_token)
        .await;
    assert_eq!(
        listed["counterpart_avatar_url"],
        "https://img.example/a.png"
    );

    let (status, err) = app.api.get("/api/v1/users/999999", viewer_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["code"], "user_not_found");
    let (status, err) = app
        .api
        .put(
            "/api/v1/users/profile",
            owner_token,
            &json!({"privacy_avatar": "friends"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let (_, me) = app.api.get("/api/v1/users/me", owner_token).await;
    assert_eq!(
        me["privacy_avatar"], "contacts",
        "a refused update changes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_invites_follow_privacy_group_invites() {
    let app = TestApp::spawn().await;
    let admin = app.api.register_and_login("inviter").await;
    let closed = app.api.register_and_login("closedoor").await;
    let picky = app.api.register_and_login("pickyone").await;
    let admin_token = Some(admin.access_token.as_str());
    for (user, setting) in [(&closed, "nobody"), (&picky, "contacts")] {
        let (status, _) = app
            .api
            .put(
                "/api/v1/users/profile",
                Some(&user.access_token),
                &json!({"privacy_group_invites": setting}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }

    let (status, err) = app
        .api
        .post(
            "/api/v1/chats",
            admin_token,
            &json!({"type": "group", "title": "Club", "member_ids": [closed.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    assert_eq!(err["code"], "group_invites_restricted");
    let (_, list) = app.api.get("/api/v1/chats", admin_token).await;
    assert_eq!(list, json!([]), "the refused create made no chat");

    let (status, group) = app
        .api
        .post(
            "/api/v1/chats",
            admin_token,
            &json!({"type": "group", "title": "Club"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let chat = group["id"].as_i64().unwrap_or_default();
    let add = |user_id: i64| json!({"user_id": user_id});
    let members = format!("/api/v1/chats/{chat}/members");
    for user in [&closed, &picky] {
        let (status, err) = app.api.post(&members, admin_token, &add(user.id)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
        assert_eq!(err["code"], "group_invites_restricted");
    }
    // `contacts`: once the picky user keeps the inviter, the add goes through.
    app.api
        .post(
            &format!("/api/v1/users/{}/contacts", admin.id),
            Some(&picky.access_token),
            &json!({}),
        )
        .await;
    let (status, added) = app.api.post(&members, admin_token, &add(picky.id)).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let (_, list) = app.api.get(&members, admin_token).await;
    let ids: Vec<i64> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["user_id"].as_i64())
        .collect();
    assert_eq!(ids, [admin.id, picky.id]);
}
