//! `parley-worker` (ARCHITECTURE §4): jobs pushed while the worker is idle
//! are picked up promptly, a job that runs twice sends once, and a job
//! staged in the outbox survives a Redis outage.

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use parley_shared::infra::jobs::{EmailKind, JobQueue, SendEmail};
use parley_shared::infra::schema::email_deliveries;
use parley_tests::{RedisServer, TestApp, redis_url};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

async fn deliveries(app: &TestApp, job_id: Uuid) -> i64 {
    let mut conn = app.db.connect().await.unwrap();
    email_deliveries::table
        .filter(email_deliveries::job_id.eq(job_id))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_worker_picks_up_jobs_promptly_and_runs_each_once() {
    let app = TestApp::spawn().await;
    let user = app.api.register_and_login("wanda").await;
    let worker = app.start_worker();
    let conn = parley_shared::infra::connect_redis(&redis_url())
        .await
        .unwrap();
    let queue = JobQueue::new(conn, &app.prefix);

    // Several jobs, each pushed after the worker went idle again. apalis'
    // own interval poller could miss one and sleep until its 30 s heartbeat.
    for _ in 0..5 {
        let job = SendEmail {
            job_id: Uuid::new_v4(),
            user_id: user.id,
            kind: EmailKind::Welcome,
        };
        queue.push_send_email(job.clone()).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while deliveries(&app, job.job_id).await == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "job not picked up within 5 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The same job again (a retry): recorded once, no second email.
        let files_before = std::fs::read_dir(app.data_dir.join("mail"))
            .unwrap()
            .count();
        queue.push_send_email(job.clone()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(deliveries(&app, job.job_id).await, 1);
        let files_after = std::fs::read_dir(app.data_dir.join("mail"))
            .unwrap()
            .count();
        assert_eq!(
            files_before, files_after,
            "a job that runs twice sends once"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    worker.stop().await;
}

/// Issue 6, item 7: the welcome email of a user who registered while Redis
/// was down is staged in the outbox with the user, and sent once Redis is
/// back and a worker relays it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_welcome_email_staged_while_redis_is_down_is_sent_when_it_returns() {
    let (app, mut redis) = TestApp::spawn_with_redis().await;
    redis.stop();

    let (status, created) = app
        .api
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"email": "otto@example.com", "name": "Otto", "username": "otto",
                    "password": "otto-password"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let user_id = created["user"]["id"].as_i64().unwrap();

    let _redis = RedisServer::start_on(redis.port).await.unwrap();
    let worker = app.start_worker();
    let sent = || async {
        let mut conn = app.db.connect().await.unwrap();
        email_deliveries::table
            .filter(email_deliveries::user_id.eq(user_id))
            .count()
            .get_result::<i64>(&mut conn)
            .await
            .unwrap()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while sent().await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the staged welcome email was not sent within 15 s of Redis returning"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mail = std::fs::read_dir(app.data_dir.join("mail"))
        .unwrap()
        .count();
    assert_eq!(mail, 1, "exactly one welcome email");
    worker.stop().await;
}
