//! Invite links (seed 004 §7, §13).

use std::time::Duration;

use parley_tests::TestApp;
use reqwest::StatusCode;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_link_lets_anyone_join_until_it_is_used_up_or_revoked() {
    let app = TestApp::spawn().await;
    let owner = app.api.register_and_login("host").await;
    let member = app.api.register_and_login("plain").await;
    let guest = app.api.register_and_login("guest").await;
    let late = app.api.register_and_login("latecomer").await;
    let owner_token = Some(owner.access_token.as_str());
    let (_, group) = app
        .api
        .post(
            "/api/v1/chats",
            owner_token,
            &json!({"type": "group", "title": "Closed", "member_ids": [member.id]}),
        )
        .await;
    let chat = group["id"].as_i64().unwrap_or_default();
    let link_path = format!("/api/v1/chats/{chat}/invite-link");

    let (status, err) = app
        .api
        .post(&link_path, Some(&member.access_token), &json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a plain member makes no links"
    );
    assert_eq!(err["code"], "not_chat_admin");
    let (status, err) = app
        .api
        .post(
            &format!("{link_path}?usage_limit=0"),
            owner_token,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "usage_limit");

    let (status, invite) = app
        .api
        .post(
            &format!("{link_path}?usage_limit=1"),
            owner_token,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{invite}");
    assert_eq!(invite["chat_id"], chat);
    let token = invite["token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(token.len(), 32);
    assert!(
        invite["invite_url"]
            .as_str()
            .unwrap_or_default()
            .ends_with(&format!("/join?token={token}")),
        "{invite}"
    );

    let mut owner_socket = app.api.connect_ws(&owner.access_token).await;
    let join = |token: &str| json!({"token": token});
    let (status, joined) = app
        .api
        .post(
            "/api/v1/chats/join-by-invite",
            Some(&guest.access_token),
            &join(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!(joined["id"], chat);
    assert_eq!(joined["my_role"], "member");
    let heard = owner_socket
        .expect_type("member_joined", WAIT)
        .await
        .unwrap();
    assert_eq!(heard["user_id"], guest.id);
    // Following it again as a member uses nothing.
    let (status, _) = app
        .api
        .post(
            "/api/v1/chats/join-by-invite",
            Some(&guest.access_token),
            &join(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, err) = app
        .api
        .post(
            "/api/v1/chats/join-by-invite",
            Some(&late.access_token),
            &join(&token),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
    assert_eq!(err["code"], "invite_used_up");

    let (_, links) = app
        .api
        .get(&format!("/api/v1/chats/{chat}/invite-links"), owner_token)
        .await;
    assert_eq!(links.as_array().map(Vec::len), Some(1), "{links}");
    assert_eq!(links[0]["used_count"], 1);
    assert_eq!(links[0]["usage_limit"], 1);
    assert_eq!(links[0]["revoked"], false);
    assert!(links[0].get("token").is_none(), "the token is shown once");

    // A revoked link admits nobody.
    let (_, open) = app.api.post(&link_path, owner_token, &json!({})).await;
    let open_token = open["token"].as_str().unwrap_or_default().to_owned();
    let open_id = open["id"].as_i64().unwrap_or_default();
    let (status, _) = app
        .api
        .delete(
            &format!("/api/v1/chats/{chat}/invite-links/{open_id}"),
            owner_token,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, err) = app
        .api
        .post(
            "/api/v1/chats/join-by-invite",
            Some(&late.access_token),
            &join(&open_token),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["code"], "invite_not_found");
    let (status, _) = app
        .api
        .get(&format!("/api/v1/chats/{chat}"), Some(&late.access_token))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "still outside");
    let (status, err) = app
        .api
        .post(
            "/api/v1/chats/join-by-invite",
            Some(&late.access_token),
            &join("nonsense"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["code"], "invite_not_found");

    // Private chats have no invite links.
    let private = app.api.private_chat(&owner, &member).await;
    let (status, err) = app
        .api
        .post(
            &format!("/api/v1/chats/{private}/invite-link"),
            owner_token,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "private_chat");
}
