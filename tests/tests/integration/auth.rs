//! `/api/v1/auth` (seed 004 §5): register, login, refresh rotation and reuse
//! detection, `me`, email verification.

use parley_tests::TestApp;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_login_and_me() {
    let app = TestApp::spawn().await;
    let user = app.api.register_and_login("alice").await;
    let (status, me) = app
        .api
        .get("/api/v1/auth/me", Some(&user.access_token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["id"], user.id);
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email_verified"], false);
    assert!(
        me.get("password_hash").is_none(),
        "never expose the hash: {me}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_normalises_email_and_refuses_duplicates() {
    let app = TestApp::spawn().await;
    let body = json!({"email": " Bob@Example.COM ", "name": "Bob", "username": "bob", "password": "password123"});
    let (status, created) = app.api.post("/api/v1/auth/register", None, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["user"]["email"], "bob@example.com");

    let same_email = json!({"email": "BOB@example.com", "name": "B", "username": "bob2", "password": "password123"});
    let (status, err) = app
        .api
        .post("/api/v1/auth/register", None, &same_email)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["code"], "email_taken");

    let same_username = json!({"email": "other@example.com", "name": "B", "username": "BOB", "password": "password123"});
    let (status, err) = app
        .api
        .post("/api/v1/auth/register", None, &same_username)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["code"], "username_taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_validates_each_field() {
    let app = TestApp::spawn().await;
    let good = json!({"email": "c@example.com", "name": "C", "username": "carol", "password": "password123"});
    for (field, value) in [
        ("email", json!("not-an-email")),
        ("name", json!("   ")),
        ("username", json!("no spaces")),
        ("password", json!("short")),
    ] {
        let mut body = good.clone();
        body[field] = value;
        let (status, err) = app.api.post("/api/v1/auth/register", None, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {err}");
        assert_eq!(err["field"], field, "{err}");
        assert_eq!(err["code"], "validation_error");
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("password");
    let (status, err) = app.api.post("/api/v1/auth/register", None, &missing).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "password", "{err}");
    // Nothing was written by the refused requests.
    let (status, _) = app.api.post("/api/v1/auth/register", None, &good).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_email_get_the_same_401() {
    let app = TestApp::spawn().await;
    let user = app.api.register_and_login("dave").await;
    for (email, password) in [
        (user.email.as_str(), "wrong-password"),
        ("nobody@example.com", "whatever1"),
    ] {
        let (status, err) = app
            .api
            .post(
                "/api/v1/auth/login",
                None,
                &json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(err["code"], "invalid_credentials");
        assert_eq!(err["detail"], "Incorrect email or password.");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let app = TestApp::spawn().await;
    let user = app.api.register_and_login("erin").await;

    let (status, rotated) = app
        .api
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": user.refresh_token}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_refresh = rotated["refresh_token"].as_str().unwrap().to_owned();
    let new_access = rotated["access_token"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, user.refresh_token);
    let (status, _) = app.api.get("/api/v1/auth/me", Some(&new_access)).await;
    assert_eq!(status, StatusCode::OK);

    // The old refresh token again: theft. The whole session is revoked.
    let (status, err) = app
        .api
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": user.refresh_token}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["code"], "refresh_token_reused");

    for token in [&user.access_token, &new_access] {
        let (status, err) = app.api.get("/api/v1/auth/me", Some(token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(err["code"], "session_revoked");
    }
    let (status, err) = app
        .api
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": new_refresh}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["code"], "session_revoked");

    // Another login (another session) is unaffected.
    let tokens = app.api.login(&user.email, &user.password).await;
    let (status, _) = app
        .api
        .get(
            "/api/v1/auth/me",
            Some(tokens["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_checked() {
    let app = TestApp::spawn().await;
    let user = app.api.register_and_login("frank").await;
    let (status, err) = app.api.get("/api/v1/auth/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["code"], "not_authenticated");
    let (status, err) = app.api.get("/api/v1/auth/me", Some("not.a.jwt")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["code"], "invalid_token");
    // A refresh token is not an access token.
    let (status, err) = app
        .api
        .get("/api/v1/auth/me", Some(&user.refresh_token))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["code"], "invalid_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_access_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.api.register_and_login("gina").await;
    // The session's own access token, signed again with an `exp` that has
    // passed (rather than waiting for a short-lived one to expire).
    let now = chrono::Utc::now().timestamp();
    let expired = app.resign_access_token(&user.access_token, |claims| {
        claims.iat = now - 120;
        claims.exp = now - 60;
    });
    let (status, err) = app.api.get("/api/v1/auth/me", Some(&expired)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["code"], "token_expired");
    // The same claims with an `exp` ahead are accepted: only the expiry
    // was refused.
    let fresh = app.resign_access_token(&user.access_token, |claims| claims.exp = now + 60);
    let (status, me) = app.api.get("/api/v1/auth/me", Some(&fresh)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["id"], user.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_email_token_verifies_once() {
    // No Redis: the API sends the welcome email itself, into the file mailer.
    let app = TestApp::spawn_with(|env| {
        env.insert("REDIS_URL".into(), String::new());
        env.insert("REDIS_CLUSTER_URLS".into(), String::new());
    })
    .await;
    let user = app.api.register_and_login("hank").await;
    let mail_dir = app.data_dir.join("mail");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let eml = loop {
        let found = std::fs::read_dir(&mail_dir)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| e.path());
        if let Some(path) = found {
            break std::fs::read(path).unwrap();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no email in {mail_dir:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let parsed = mail_parser::MessageParser::default()
        .parse(&eml)
        .expect("an email");
    let to = parsed
        .to()
        .and_then(|to| to.first())
        .and_then(|a| a.address())
        .unwrap_or_default();
    assert_eq!(to, "hank@example.com");
    let text = parsed.body_text(0).expect("a text part").into_owned();
    let token = text
        .split("verify-email?token=")
        .nth(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
        })
        .expect("token in email");
    assert_eq!(token.len(), 43);

    let (status, err) = app
        .api
        .post(
            "/api/v1/auth/verify-email",
            None,
            &json!({"token": "wrong"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["code"], "invalid_token");

    let (status, _) = app
        .api
        .post("/api/v1/auth/verify-email", None, &json!({"token": token}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, me) = app
        .api
        .get("/api/v1/auth/me", Some(&user.access_token))
        .await;
    assert_eq!(me["email_verified"], true);

    let (status, _) = app
        .api
        .post("/api/v1/auth/verify-email", None, &json!({"token": token}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a token works once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_can_require_a_verified_email() {
    let app = TestApp::spawn_with(|env| {
        env.insert("AUTH_REQUIRE_VERIFIED_EMAIL".into(), "true".into());
    })
    .await;
    let body = json!({"email": "ivy@example.com", "name": "Ivy", "username": "ivy", "password": "password123"});
    let (status, _) = app.api.post("/api/v1/auth/register", None, &body).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, err) = app
        .api
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": "ivy@example.com", "password": "password123"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "email_not_verified");
}
