//! Sessions (seed 004 §5): list and revoke; a revoked session's tokens stop
//! working and its sockets get `session_revoked` and close (4001) within
//! 5 s, as do sockets whose access token expires.

use std::time::Duration;

use parley_tests::{TestApp, TestUser};
use reqwest::StatusCode;
use serde_json::json;

const CLOSE_WITHIN: Duration = Duration::from_secs(5);

/// Revokes `user`'s session `jti` (`DELETE /auth/sessions/{jti}`).
async fn revoke(app: &TestApp, user: &TestUser, jti: &str) {
    let (status, body) = app
        .api
        .delete(
            &format!("/api/v1/auth/sessions/{jti}"),
            Some(&user.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_session_stops_its_tokens_and_closes_its_sockets() {
    let app = TestApp::spawn().await;
    let phone = app.api.register_and_login("hugo").await;
    let laptop_tokens = app.api.login(&phone.email, &phone.password).await;
    let laptop = laptop_tokens["access_token"].as_str().unwrap().to_owned();

    let (status, sessions) = app
        .api
        .get("/api/v1/auth/sessions", Some(&phone.access_token))
        .await;
    assert_eq!(status, StatusCode::OK);
    let sessions = sessions.as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2);
    let current: Vec<bool> = sessions
        .iter()
        .map(|s| s["current"].as_bool().unwrap())
        .collect();
    assert_eq!(
        current,
        vec![false, true],
        "newest first; the phone's is current"
    );
    let laptop_jti = sessions[0]["jti"].as_str().unwrap().to_owned();

    let mut phone_ws = app.api.connect_ws(&phone.access_token).await;
    let mut laptop_ws = app.api.connect_ws(&laptop).await;
    revoke(&app, &phone, &laptop_jti).await;

    let (code, frames) = laptop_ws.expect_close(CLOSE_WITHIN).await.unwrap();
    assert_eq!(code, 4001);
    assert_eq!(
        frames.last().unwrap(),
        &json!({"type": "session_revoked", "session_id": laptop_jti, "reason": "revoked"})
    );
    let (status, err) = app.api.get("/api/v1/auth/me", Some(&laptop)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["code"], "session_revoked");
    // The phone's socket and token are untouched.
    phone_ws.send_json(&json!({"type": "ping"})).await.unwrap();
    assert_eq!(
        phone_ws.next_json(CLOSE_WITHIN).await.unwrap()["type"],
        "pong"
    );
    let (status, _) = app
        .api
        .get("/api/v1/auth/me", Some(&phone.access_token))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Revoking it again, or someone else's, is 404.
    let (status, err) = app
        .api
        .delete(
            &format!("/api/v1/auth/sessions/{laptop_jti}"),
            Some(&phone.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["code"], "session_not_found");
    let other = app.api.register_and_login("ines").await;
    let (_, theirs) = app
        .api
        .get("/api/v1/auth/sessions", Some(&other.access_token))
        .await;
    let their_jti = theirs[0]["jti"].as_str().unwrap();
    let (status, _) = app
        .api
        .delete(
            &format!("/api/v1/auth/sessions/{their_jti}"),
            Some(&phone.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .api
        .get("/api/v1/auth/me", Some(&other.access_token))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_everywhere_else_keeps_the_current_session() {
    let app = TestApp::spawn().await;
    let me = app.api.register_and_login("jules").await;
    let others: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..2 {
            let t = app.api.login(&me.email, &me.password).await;
            v.push(t["access_token"].as_str().unwrap().to_owned());
        }
        v
    };
    let (status, _) = app
        .api
        .delete("/api/v1/auth/sessions", Some(&me.access_token))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for token in &others {
        let (status, _) = app.api.get("/api/v1/auth/me", Some(token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (_, sessions) = app
        .api
        .get("/api/v1/auth/sessions", Some(&me.access_token))
        .await;
    assert_eq!(sessions.as_array().unwrap().len(), 1);
    assert_eq!(sessions[0]["current"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_token_reuse_closes_the_sessions_sockets() {
    let app = TestApp::spawn().await;
    let me = app.api.register_and_login("kira").await;
    let mut ws = app.api.connect_ws(&me.access_token).await;
    let body = json!({"refresh_token": me.refresh_token});
    let (status, _) = app.api.post("/api/v1/auth/refresh", None, &body).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.api.post("/api/v1/auth/refresh", None, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (code, frames) = ws.expect_close(CLOSE_WITHIN).await.unwrap();
    assert_eq!(code, 4001);
    assert_eq!(frames.last().unwrap()["reason"], "refresh_token_reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_closes_the_socket() {
    let app = TestApp::spawn_with(|env| {
        env.insert("ACCESS_TOKEN_TTL_SECS".into(), "2".into());
    })
    .await;
    let me = app.api.register_and_login("lars").await;
    let mut ws = app.api.connect_ws(&me.access_token).await;
    let (code, frames) = ws
        .expect_close(Duration::from_secs(2) + CLOSE_WITHIN)
        .await
        .unwrap();
    assert_eq!(code, 4001);
    assert_eq!(frames.last().unwrap()["type"], "session_revoked");
    assert_eq!(frames.last().unwrap()["reason"], "token_expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_get_each_their_own_session_check() {
    // Checks of concurrent requests are answered together (one query per
    // batch): each must still get the answer for its own session and user.
    let app = TestApp::spawn().await;
    let phone = app.api.register_and_login("mona").await;
    let other = app.api.register_and_login("nils").await;
    let laptop = app.api.login(&phone.email, &phone.password).await;
    let laptop = laptop["access_token"].as_str().unwrap().to_owned();
    let (_, sessions) = app
        .api
        .get("/api/v1/auth/sessions", Some(&phone.access_token))
        .await;
    revoke(&app, &phone, sessions[0]["jti"].as_str().unwrap()).await;
    // The phone's live session, claimed for another user.
    let borrowed = app.resign_access_token(&phone.access_token, |claims| {
        claims.sub = other.id.to_string();
    });

    let cases = [
        (phone.access_token.clone(), Some(phone.id)),
        (laptop.clone(), None),
        (other.access_token.clone(), Some(other.id)),
        (borrowed, None),
    ];
    let requests = (0..15).flat_map(|_| cases.iter()).map(|(token, expected)| {
        let api = app.api.clone();
        async move { (api.get("/api/v1/auth/me", Some(token)).await, *expected) }
    });
    for ((status, body), expected) in futures_util::future::join_all(requests).await {
        match expected {
            Some(id) => {
                assert_eq!(status, StatusCode::OK, "{body}");
                assert_eq!(body["id"], id, "{body}");
            }
            None => {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
                assert_eq!(body["code"], "session_revoked", "{body}");
            }
        }
    }
}
