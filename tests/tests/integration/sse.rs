//! `GET /api/v1/sse/subscribe` (seed 002 §12): the same events as the
//! socket, `Last-Event-ID` resume, heartbeats.

use std::time::Duration;

use parley_tests::{SseClient, TestApp};
use reqwest::StatusCode;

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_arrive_and_last_event_id_resumes_exactly() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("nadia", "oscar").await;
    let mut sse = SseClient::connect(&app.api, &b.access_token, None)
        .await
        .unwrap();
    let ready = sse.next_event(WAIT).await.unwrap();
    assert_eq!(ready.event.as_deref(), Some("ready"));
    assert_eq!(ready.data["user_id"], b.id);
    assert!(ready.id.is_some(), "ready carries a resume id");

    let first = app.api.send_text(&a, chat, "first").await;
    let event = sse.next_event(WAIT).await.unwrap();
    assert_eq!(event.event.as_deref(), Some("message_created"));
    assert_eq!(event.data["message"]["id"], first["id"]);
    let last_id = event.id.expect("chat events carry an id");
    drop(sse);

    // Missed while away.
    let mut missed = Vec::new();
    for i in 0..3 {
        missed.push(app.api.send_text(&a, chat, &format!("missed {i}")).await["id"].clone());
    }
    let mut sse = SseClient::connect(&app.api, &b.access_token, Some(&last_id))
        .await
        .unwrap();
    assert_eq!(
        sse.next_event(WAIT).await.unwrap().event.as_deref(),
        Some("ready")
    );
    for id in &missed {
        let event = sse.next_event(WAIT).await.unwrap();
        assert_eq!(event.event.as_deref(), Some("message_created"));
        assert_eq!(
            &event.data["message"]["id"], id,
            "in order, no duplicate of the first"
        );
    }
    // Then live.
    let live = app.api.send_text(&a, chat, "live").await;
    assert_eq!(
        sse.next_event(WAIT).await.unwrap().data["message"]["id"],
        live["id"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_keep_the_stream_alive() {
    let app = TestApp::spawn_with(|env| {
        env.insert("SSE_HEARTBEAT_INTERVAL_MS".into(), "300".into());
    })
    .await;
    let user = app.api.register_and_login("paula").await;
    let mut sse = SseClient::connect(&app.api, &user.access_token, None)
        .await
        .unwrap();
    assert_eq!(
        sse.next(WAIT).await.unwrap().event.as_deref(),
        Some("ready")
    );
    for _ in 0..3 {
        let beat = sse.next(Duration::from_secs(2)).await.unwrap();
        assert_eq!(beat.comment.as_deref(), Some("heartbeat"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_before_the_stream() {
    let app = TestApp::spawn().await;
    let user = app.api.register_and_login("quincy").await;
    let (status, body) = app.api.get("/api/v1/sse/subscribe", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "not_authenticated");
    let resp = app
        .api
        .client
        .get(format!("{}/api/v1/sse/subscribe", app.api.base))
        .bearer_auth(&user.access_token)
        .header("last-event-id", "nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The token may come in the query string, as EventSource cannot set headers.
    let resp = app
        .api
        .client
        .get(format!(
            "{}/api/v1/sse/subscribe?token={}",
            app.api.base, user.access_token
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
}
