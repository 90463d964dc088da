//! Health probes (seed 004 §4) and the error envelope for bad requests
//! (ARCHITECTURE §6).

use parley_tests::{RedisServer, TestApp};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_live_and_ready() {
    let app = TestApp::spawn().await;
    for path in ["/health", "/health/live"] {
        let (status, body) = app.api.get(path, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({"status": "ok"}));
    }
    let (status, body) = app.api.get("/health/ready", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ready", "db": "ok", "redis": "ok"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_503_when_the_database_is_down() {
    let port = parley_tests::free_port();
    let app = TestApp::spawn_with(|env| {
        env.insert(
            "DATABASE_URL".into(),
            format!("postgres://postgres@127.0.0.1:{port}/nothing"),
        );
    })
    .await;
    let (status, body) = app.api.get("/health/ready", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body["detail"],
        json!({"status": "not_ready", "db": false, "redis": true})
    );
    // And requests that need the database get a 503, not a 500.
    let (status, body) = app
        .api
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": "a@b.co", "password": "password1"}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "service_unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_503_when_redis_goes_down() {
    let mut redis = RedisServer::start().await.unwrap();
    let url = redis.url();
    let app = TestApp::spawn_with(|env| {
        env.insert("REDIS_URL".into(), url);
        env.insert("REDIS_CLUSTER_URLS".into(), String::new());
    })
    .await;
    let (status, _) = app.api.get("/health/ready", None).await;
    assert_eq!(status, StatusCode::OK);
    redis.stop();
    let (status, body) = app.api.get("/health/ready", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body["detail"],
        json!({"status": "not_ready", "db": true, "redis": false})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_the_envelope_never_a_500() {
    let app = TestApp::spawn().await;
    let user = app.api.register_and_login("olga").await;
    let token = Some(user.access_token.as_str());

    let (status, body) = app
        .api
        .post_raw(
            "/api/v1/messages",
            token,
            "application/json",
            b"{\"chat_id\": 1,".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "malformed_json");

    let (status, body) = app
        .api
        .post_raw("/api/v1/messages", token, "text/plain", b"{}".to_vec())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "unsupported_content_type");

    let (status, body) = app
        .api
        .post(
            "/api/v1/messages",
            token,
            &json!({"chat_id": "seven", "text": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "chat_id");

    let big = json!({"chat_id": 1, "text": "x".repeat(70 * 1024)});
    let (status, body) = app.api.post("/api/v1/messages", token, &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "payload_too_large");

    let (status, body) = app.api.get("/api/v1/messages/abc", token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");

    let (status, body) = app.api.get("/api/v1/messages/1?limit=many", token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "validation_error");

    let (status, body) = app.api.get("/api/v1/no/such/route", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "route_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_carry_a_request_id() {
    let app = TestApp::spawn().await;
    let resp = app
        .api
        .client
        .get(format!("{}/health", app.api.base))
        .send()
        .await
        .unwrap();
    let id = resp
        .headers()
        .get("x-request-id")
        .expect("x-request-id header");
    assert_eq!(id.to_str().unwrap().len(), 36, "a UUID");
}
