//! `parley-worker` (ARCHITECTURE §4): jobs pushed while the worker is idle
//! are picked up promptly, a job that runs twice sends once, and a job
//! staged in the outbox survives a Redis outage.

use std::collections::HashMap;
use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use parley_shared::domain::jobs::Job;
use parley_shared::domain::jobs::send_email::{EmailKind, SendEmail};
use parley_shared::infra::jobs::{JobQueue, queue_name};
use parley_shared::infra::schema::email_deliveries;
use parley_tests::{RedisServer, TestApp, redis_url, wait_until};
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
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

/// The deliveries recorded for `user_id`, whatever the job.
async fn deliveries_to(app: &TestApp, user_id: i64) -> i64 {
    let mut conn = app.db.connect().await.unwrap();
    email_deliveries::table
        .filter(email_deliveries::user_id.eq(user_id))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

/// The tasks of the apalis queue `queue` that carry `job_id`: how many
/// there are, and how many of them have finished (apalis recorded their
/// result: `done_at` in the task's meta hash, whatever the outcome).
async fn tasks_of_job(redis: &mut ConnectionManager, queue: &str, job_id: Uuid) -> (usize, usize) {
    let data: HashMap<String, String> = redis.hgetall(format!("{queue}:data")).await.unwrap();
    let mut tasks = 0;
    let mut finished = 0;
    for (task_id, args) in data {
        let args: serde_json::Value = serde_json::from_str(&args).unwrap_or_default();
        if args["job_id"] != job_id.to_string() {
            continue;
        }
        tasks += 1;
        let done_at: Option<String> = redis
            .hget(format!("{queue}:meta:{task_id}"), "done_at")
            .await
            .unwrap();
        if done_at.is_some() {
            finished += 1;
        }
    }
    (tasks, finished)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_worker_picks_up_jobs_promptly_and_runs_each_once() {
    let app = TestApp::spawn().await;
    let user = app.api.register_and_login("wanda").await;
    let worker = app.start_worker();
    let redis = parley_shared::infra::connect_redis(&redis_url())
        .await
        .unwrap();
    let queue = JobQueue::new(redis.clone(), &app.prefix);
    let email_queue = queue_name(&app.prefix, SendEmail::NAME);

    // The welcome email of the registration (relayed from the outbox) goes
    // first, so that the mail files counted below are this test's jobs'.
    wait_until(
        "the welcome email is sent",
        Duration::from_secs(5),
        || async { deliveries_to(&app, user.id).await > 0 },
    )
    .await;

    // Several jobs, each pushed after the worker went idle again. apalis'
    // own interval poller could miss one and sleep until its 30 s heartbeat.
    for _ in 0..5 {
        let job = SendEmail {
            job_id: Uuid::new_v4(),
            user_id: user.id,
            kind: EmailKind::Welcome,
        };
        queue.push(SendEmail::NAME, job.clone()).await.unwrap();
        wait_until("the job is picked up", Duration::from_secs(5), || async {
            deliveries(&app, job.job_id).await > 0
        })
        .await;
        // The same job again (a retry): recorded once, no second email.
        let files_before = std::fs::read_dir(app.data_dir.join("mail"))
            .unwrap()
            .count();
        queue.push(SendEmail::NAME, job.clone()).await.unwrap();
        // Until the worker has run both tasks of the job (the retry too).
        wait_until(
            "the job and its retry have run",
            Duration::from_secs(5),
            || {
                let mut redis = redis.clone();
                let queue = email_queue.clone();
                async move {
                    let (tasks, finished) = tasks_of_job(&mut redis, &queue, job.job_id).await;
                    assert_eq!(tasks, 2, "the job and its retry are queued");
                    finished == tasks
                }
            },
        )
        .await;
        assert_eq!(deliveries(&app, job.job_id).await, 1);
        let files_after = std::fs::read_dir(app.data_dir.join("mail"))
            .unwrap()
            .count();
        assert_eq!(
            files_before, files_after,
            "a job that runs twice sends once"
        );
        // Part of the scenario, not a wait for a result: the next job is
        // pushed once the idle worker's poll timer (200 ms) has fired on an
        // empty queue at least once.
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
    wait_until(
        "the staged welcome email is sent once Redis is back",
        Duration::from_secs(15),
        || async { sent().await > 0 },
    )
    .await;
    let mail = std::fs::read_dir(app.data_dir.join("mail"))
        .unwrap()
        .count();
    assert_eq!(mail, 1, "exactly one welcome email");
    worker.stop().await;
}
