//! `GET /metrics` (issue 12) on a real `parley-api` process and a real
//! `parley-worker` process (each recorder is its process's own): behind
//! `METRICS_TOKEN`, and scraped after traffic, every number moved as the
//! traffic says.

use std::time::Duration;

use parley_tests::metrics::{scrape, value};
use parley_tests::{
    Api, SseClient, TestDatabase, base_env, free_port, redis_prefix, spawn_api_process,
    spawn_process, temp_dir, wait_until,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);
const TOKEN: &str = "scrape-secret";

async fn send(api: &Api, token: &str, chat: i64, text: &str) -> (StatusCode, Value) {
    api.post(
        "/api/v1/messages",
        Some(token),
        &json!({"chat_id": chat, "text": text, "client_message_id": Uuid::new_v4().to_string()}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_connections_frames_and_refusals() {
    let db = TestDatabase::create().await.unwrap();
    let dir = temp_dir();
    let mut env = base_env(&db, &redis_prefix(), &dir);
    env.insert("METRICS_TOKEN".into(), TOKEN.into());
    env.insert("MESSAGE_RATE_LIMIT_PER_MINUTE".into(), "2".into());
    // A stream learns that its client left when it next writes.
    env.insert("SSE_HEARTBEAT_INTERVAL_MS".into(), "300".into());
    let (_process, api) = spawn_api_process(&env, &dir).await.unwrap();

    // Only with the token.
    for token in [None, Some("wrong")] {
        let (status, body) = scrape(&api, token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["code"], "not_authenticated", "{body}");
    }
    let (status, before) = scrape(&api, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    let sends = [("method", "POST"), ("route", "/api/v1/messages")];
    assert_eq!(value(&before, "parley_http_requests_total", &sends), 0.0);
    assert!(
        before.contains("# TYPE parley_http_requests_total counter"),
        "{before}"
    );

    // Traffic: a socket and a stream, two sends and a refused third, a
    // path that is no route.
    let (a, b, chat) = api.pair("metricsann", "metricsbob").await;
    let mut socket = api.connect_ws(&b.access_token).await;
    let mut stream = SseClient::connect(&api, &a.access_token, None)
        .await
        .unwrap();
    assert_eq!(
        stream.next_event(WAIT).await.unwrap().event.as_deref(),
        Some("ready")
    );
    let mut sent = Vec::new();
    for text in ["one", "two"] {
        let (status, message) = send(&api, &a.access_token, chat, text).await;
        assert_eq!(status, StatusCode::CREATED, "{message}");
        sent.push(message);
    }
    let (status, refused) = send(&api, &a.access_token, chat, "three").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{refused}");
    for message in &sent {
        socket.expect_next_message(message, WAIT).await;
    }
    let (status, _) = api.get("/no/such/route", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, after) = scrape(&api, Some(TOKEN)).await;
    let with = |extra: (&'static str, &'static str)| {
        let mut labels = sends.to_vec();
        labels.push(extra);
        labels
    };
    assert_eq!(
        value(
            &after,
            "parley_http_requests_total",
            &with(("status", "201"))
        ),
        2.0,
        "{after}"
    );
    assert_eq!(
        value(
            &after,
            "parley_http_requests_total",
            &with(("status", "429"))
        ),
        1.0
    );
    assert_eq!(
        value(&after, "parley_http_request_duration_seconds_count", &sends),
        3.0
    );
    assert_eq!(
        value(
            &after,
            "parley_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "parley_rate_limit_refusals_total",
            &[("limit", "message")]
        ),
        1.0
    );
    let open = |text: &str, transport: &'static str| {
        value(
            text,
            "parley_realtime_connections",
            &[("transport", transport)],
        )
    };
    assert_eq!(open(&after, "websocket"), 1.0);
    assert_eq!(open(&after, "sse"), 1.0);
    // Each connection got `ready` and both messages.
    assert!(
        value(&after, "parley_frames_sent_total", &[]) >= 6.0,
        "{after}"
    );
    assert!(value(&after, "parley_bus_published_total", &[("result", "ok")]) >= 2.0);
    assert!(value(&after, "parley_bus_received_total", &[]) >= 2.0);
    // Every event received from Redis carried its publish time (the lag is
    // taken as it arrives, before the hub's queue counts it received).
    assert!(
        value(&after, "parley_bus_lag_seconds_count", &[])
            >= value(&after, "parley_bus_received_total", &[]),
        "{after}"
    );
    assert_eq!(
        value(&after, "parley_hub_rooms", &[("state", "active")]),
        1.0
    );
    assert!(
        after.contains("parley_db_pool_connections{state=\"idle\"}"),
        "{after}"
    );
    assert!(after.contains("parley_db_pool_waiting 0"), "{after}");

    // Closed connections are counted down.
    socket.stream.close(None).await.unwrap();
    drop(stream);
    wait_until("both connections counted down", WAIT, || async {
        let (_, now) = scrape(&api, Some(TOKEN)).await;
        open(&now, "websocket") == 0.0 && open(&now, "sse") == 0.0
    })
    .await;
}

/// Whether `text` has a sample `name` with exactly these `labels`' values
/// among its own.
fn has(text: &str, name: &str, labels: &[(&str, &str)]) -> bool {
    let wanted: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    text.lines().any(|line| {
        line.starts_with(&format!("{name}{{")) && wanted.iter().all(|w| line.contains(w.as_str()))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_counts_jobs_by_kind_and_result_and_its_queues() {
    let db = TestDatabase::create().await.unwrap();
    let dir = temp_dir();
    let mut env = base_env(&db, &redis_prefix(), &dir);
    env.insert("METRICS_TOKEN".into(), TOKEN.into());
    let port = free_port();
    env.insert("WORKER_METRICS_BIND".into(), format!("127.0.0.1:{port}"));
    let (_api_process, api) = spawn_api_process(&env, &dir).await.unwrap();
    let _worker = spawn_process("parley-worker", &[], &env, &dir);
    let worker = Api::new(format!("http://127.0.0.1:{port}"));
    wait_until("the worker serves its metrics", WAIT, || async {
        let response = worker
            .client
            .get(format!("{}/metrics", worker.base))
            .bearer_auth(TOKEN)
            .send()
            .await;
        response.is_ok_and(|r| r.status() == StatusCode::OK)
    })
    .await;
    let (status, body) = scrape(&worker, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("not_authenticated"), "{body}");

    // A registration sends a verification email: one `send_email` job.
    api.register_and_login("metricsworker").await;
    let email_runs = [("kind", "send_email"), ("result", "succeeded")];
    let email_queue = |state| [("kind", "send_email"), ("state", state)];
    // The run is counted when it returns, the queue's `done` just after.
    wait_until("the email job ran and is done", WAIT, || async {
        let (_, text) = scrape(&worker, Some(TOKEN)).await;
        value(&text, "parley_jobs_total", &email_runs) >= 1.0
            && value(&text, "parley_job_queue", &email_queue("done")) >= 1.0
    })
    .await;
    let (_, text) = scrape(&worker, Some(TOKEN)).await;
    assert_eq!(
        value(&text, "parley_jobs_total", &email_runs),
        1.0,
        "{text}"
    );
    assert_eq!(
        value(&text, "parley_jobs_total", &[("result", "failed")]),
        0.0
    );
    assert_eq!(
        value(
            &text,
            "parley_job_duration_seconds_count",
            &[("kind", "send_email")]
        ),
        1.0
    );
    // Every kind's queue, every state, read at the scrape.
    for kind in ["send_email", "bulk_send"] {
        for state in ["pending", "retrying", "running", "failed", "done"] {
            let labels = [("kind", kind), ("state", state)];
            assert!(
                has(&text, "parley_job_queue", &labels),
                "{kind} {state}: {text}"
            );
        }
    }
    let email_queue = |state| [("kind", "send_email"), ("state", state)];
    assert_eq!(
        value(&text, "parley_job_queue", &email_queue("pending")),
        0.0
    );
    assert_eq!(value(&text, "parley_job_queue", &email_queue("done")), 1.0);
    assert!(has(
        &text,
        "parley_db_pool_connections",
        &[("state", "idle")]
    ));
}
