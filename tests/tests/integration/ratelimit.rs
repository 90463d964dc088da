//! Rate limits (seed 004 §12) and the realtime `Origin` allow-list.

use std::time::Duration;

use parley_tests::TestApp;
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_over_the_limit_get_429_with_retry_after() {
    let app = TestApp::spawn_with(|env| {
        env.insert("MESSAGE_RATE_LIMIT_PER_MINUTE".into(), "5".into());
    })
    .await;
    let (a, _b, chat) = app.api.pair("rudi", "sana").await;
    for i in 0..5 {
        let (status, _) = app
            .api
            .post("/api/v1/messages", Some(&a.access_token), &json!({"chat_id": chat, "text": format!("m{i}"), "client_message_id": format!("c{i}")}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let resp = app
        .api
        .client
        .post(format!("{}/api/v1/messages", app.api.base))
        .bearer_auth(&a.access_token)
        .json(&json!({"chat_id": chat, "text": "one too many"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(
        body["detail"],
        format!("Rate limit exceeded. Retry in {retry_after} seconds.")
    );

    // A retry of an acknowledged send is still answered.
    let (status, again) = app
        .api
        .post(
            "/api/v1/messages",
            Some(&a.access_token),
            &json!({"chat_id": chat, "text": "m0", "client_message_id": "c0"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    // The socket's send obeys the same limit.
    let mut ws = app.api.connect_ws(&a.access_token).await;
    ws.send_json(&json!({"type": "send", "ref": "x", "chat_id": chat, "text": "via socket"}))
        .await
        .unwrap();
    let err = ws
        .expect_type("error", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(err["code"], "rate_limited");
    assert_eq!(err["ref"], "x");
    let (_, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), Some(&a.access_token))
        .await;
    assert_eq!(
        page.as_array().unwrap().len(),
        5,
        "refused sends wrote nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_text_again_waits_for_the_cooldown() {
    let app = TestApp::spawn_with(|env| {
        env.insert("DUPLICATE_MESSAGE_COOLDOWN_SECONDS".into(), "60".into());
    })
    .await;
    let (a, _b, chat) = app.api.pair("tobi", "ulla").await;
    app.api.send_text(&a, chat, "same").await;
    let (status, err) = app
        .api
        .post(
            "/api/v1/messages",
            Some(&a.access_token),
            &json!({"chat_id": chat, "text": "same"}),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(err["code"], "rate_limited");
    app.api.send_text(&a, chat, "different").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_are_limited_per_client() {
    let app = TestApp::spawn_with(|env| {
        env.insert("LOGIN_RATE_LIMIT_PER_MINUTE".into(), "3".into());
    })
    .await;
    let user = app.api.register_and_login("vlad").await; // one login
    for _ in 0..2 {
        app.api.login(&user.email, &user.password).await;
    }
    let (status, err) = app
        .api
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": user.email, "password": user.password}),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(err["code"], "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_holds_across_replicas() {
    // 4 sends per minute per sender, counted in Redis: two replicas admit
    // 4 in all, not 4 each.
    let app = TestApp::spawn_with(|env| {
        env.insert("MESSAGE_RATE_LIMIT_PER_MINUTE".into(), "4".into());
    })
    .await;
    let other = app.replica().await;
    let (a, _b, chat) = app.api.pair("ulla", "vera").await;
    let mut admitted = 0;
    let mut refused = 0;
    for i in 0..8 {
        let api = if i % 2 == 0 { &app.api } else { &other.api };
        let (status, body) = api
            .post(
                "/api/v1/messages",
                Some(&a.access_token),
                &json!({"chat_id": chat, "text": format!("m{i}")}),
            )
            .await;
        match status {
            StatusCode::CREATED => admitted += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(body["code"], "rate_limited");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((admitted, refused), (4, 4));
    let (_, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), Some(&a.access_token))
        .await;
    assert_eq!(
        page.as_array().map(Vec::len),
        Some(4),
        "refused sends wrote nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_allowed_origins_open_realtime_connections() {
    let app = TestApp::spawn_with(|env| {
        env.insert(
            "WS_ALLOWED_ORIGINS".into(),
            "https://app.example, https://admin.example/".into(),
        );
    })
    .await;
    let user = app.api.register_and_login("wim").await;
    let connect = |origin: Option<&'static str>| {
        let mut request = app.api.ws_url().into_client_request().unwrap();
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {}", user.access_token)).unwrap(),
        );
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", HeaderValue::from_static(origin));
        }
        tokio_tungstenite::connect_async(request)
    };
    assert!(connect(Some("https://app.example")).await.is_ok());
    assert!(connect(Some("https://admin.example")).await.is_ok());
    assert!(connect(None).await.is_ok(), "native clients send no Origin");
    match connect(Some("https://evil.example")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 403);
            let body: serde_json::Value =
                serde_json::from_slice(resp.body().as_deref().unwrap_or_default()).unwrap();
            assert_eq!(body["code"], "origin_not_allowed");
        }
        other => panic!("expected a 403, got {other:?}"),
    }
    let resp = app
        .api
        .client
        .get(format!("{}/api/v1/sse/subscribe", app.api.base))
        .bearer_auth(&user.access_token)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}
