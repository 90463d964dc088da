//! Bulk sends (API.md "Bulk send"): one message to many receivers, each in
//! their private chat with the sender. Small ones are answered at once;
//! large ones go to the worker (`202 {job_id}`, `GET /jobs/{id}`). Nobody
//! gets a message twice: not on a retried request, not when the worker is
//! killed mid-job and started again.

use std::time::Duration;

use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use parley_tests::{TestApp, TestUser, spawn_process, tok, wait_until};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// `n` receivers written straight into the database (they need no login:
/// registering thousands through the API would only time argon2).
async fn receivers(app: &TestApp, tag: &str, n: i64) -> Vec<i64> {
    let mut conn = app.db.connect().await.unwrap();
    let rows: Vec<Id> = diesel::sql_query(format!(
        "INSERT INTO users (email, name, username, password_hash) \
         SELECT '{tag}' || g || '@example.com', 'Student ' || g, '{tag}' || g, 'x' \
           FROM generate_series(1, {n}) g RETURNING id"
    ))
    .load(&mut conn)
    .await
    .unwrap();
    rows.into_iter().map(|r| r.id).collect()
}

/// How many messages `sender` has in the private chat with each receiver,
/// as `(receivers with exactly one, messages in all)`.
async fn delivered(app: &TestApp, sender: i64) -> (i64, i64) {
    let mut conn = app.db.connect().await.unwrap();
    let once: Vec<Count> = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM (SELECT chat_id FROM messages WHERE sender_id = {sender} \
         GROUP BY chat_id HAVING count(*) = 1) c"
    ))
    .load(&mut conn)
    .await
    .unwrap();
    let all: Vec<Count> = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM messages WHERE sender_id = {sender}"
    ))
    .load(&mut conn)
    .await
    .unwrap();
    (once[0].n, all[0].n)
}

async fn job(app: &TestApp, user: &TestUser, id: &Value) -> Value {
    let (status, job) = app
        .api
        .get(&format!("/api/v1/jobs/{}", id.as_str().unwrap()), tok(user))
        .await;
    assert_eq!(status, StatusCode::OK, "{job}");
    job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_bulk_send_answers_the_messages_and_each_refusal() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let office = api.register_and_login("office").await;
    let alice = api.register_and_login("bulkalice").await;
    let bob = api.register_and_login("bulkbob").await;
    let blocker = api.register_and_login("bulkblocker").await;
    let closed = api.register_and_login("bulkclosed").await;
    let (status, _) = api
        .post(
            &format!("/api/v1/users/{}/block", office.id),
            tok(&blocker),
            &json!({}),
        )
        .await;
    assert!(status.is_success());
    let (status, body) = api
        .put(
            "/api/v1/users/profile",
            tok(&closed),
            &json!({"allow_private_messages": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let existing = api.private_chat(&office, &bob).await;
    let mut alices_socket = api.connect_ws(&alice.access_token).await;

    let body = json!({
        "receiver_ids": [alice.id, bob.id, blocker.id, closed.id, 999_999_999, office.id, alice.id],
        "text": "School is closed tomorrow.",
        "client_message_id": "notice-1",
    });
    let (status, sent) = api.post("/api/v1/messages/bulk", tok(&office), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let messages = sent["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{sent}");
    assert_eq!(messages[1]["chat_id"], existing, "Bob's chat was reused");
    let codes: Vec<(i64, &str)> = sent["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["receiver_id"].as_i64().unwrap(),
                f["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            (blocker.id, "blocked"),
            (closed.id, "private_messages_disabled"),
            (999_999_999, "user_not_found"),
            (office.id, "validation_error"),
        ]
    );
    // Alice's new chat reaches her socket, then the message.
    let created = alices_socket
        .expect_type("chat_created", WAIT)
        .await
        .unwrap();
    assert_eq!(created["chat_id"], messages[0]["chat_id"]);
    alices_socket.expect_next_message(&messages[0], WAIT).await;

    // A retry answers the same messages and sends nothing new.
    let (status, again) = api.post("/api/v1/messages/bulk", tok(&office), &body).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["messages"], sent["messages"]);
    assert_eq!(delivered(&app, office.id).await, (2, 2));

    for (what, bad) in [
        (
            "no receivers",
            json!({"receiver_ids": [], "text": "x", "client_message_id": "b"}),
        ),
        (
            "empty text",
            json!({"receiver_ids": [alice.id], "text": " ", "client_message_id": "c"}),
        ),
        (
            "no client id",
            json!({"receiver_ids": [alice.id], "text": "x", "client_message_id": ""}),
        ),
    ] {
        let (status, err) = api.post("/api/v1/messages/bulk", tok(&office), &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {err}");
        assert_eq!(err["code"], "validation_error", "{what}");
    }
    assert_eq!(delivered(&app, office.id).await, (2, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_bulk_send_is_a_job_the_worker_finishes_once() {
    let app = TestApp::spawn_with(|env| {
        env.insert("BULK_SYNC_MAX".into(), "2".into());
    })
    .await;
    let api = &app.api;
    let office = api.register_and_login("jobsoffice").await;
    let other = api.register_and_login("jobsother").await;
    let blocker = api.register_and_login("jobsblocker").await;
    let (status, _) = api
        .post(
            &format!("/api/v1/users/{}/block", office.id),
            tok(&blocker),
            &json!({}),
        )
        .await;
    assert!(status.is_success());
    let mut students = receivers(&app, "jobstudent", 250).await;
    students.push(blocker.id);
    let body = json!({"receiver_ids": students, "text": "Exams start Monday.", "client_message_id": "exam-1"});

    let (status, queued) = api.post("/api/v1/messages/bulk", tok(&office), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let id = queued["job_id"].clone();
    let first = job(&app, &office, &id).await;
    assert_eq!(first["state"], "queued");
    assert_eq!(first["total"], 251);
    // A retry finds the same job; the same id for another text is refused.
    let (status, again) = api.post("/api/v1/messages/bulk", tok(&office), &body).await;
    assert_eq!((status, &again["job_id"]), (StatusCode::ACCEPTED, &id));
    let mut changed = body.clone();
    changed["text"] = json!("Exams start Tuesday.");
    let (status, err) = api
        .post("/api/v1/messages/bulk", tok(&office), &changed)
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::CONFLICT, Some("client_message_id_conflict"))
    );
    // Someone else's job does not exist for them.
    let (status, err) = api
        .get(
            &format!("/api/v1/jobs/{}", id.as_str().unwrap()),
            tok(&other),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("job_not_found"))
    );

    let worker = app.start_worker();
    wait_until("the job is done", Duration::from_secs(120), || async {
        job(&app, &office, &id).await["state"] == "done"
    })
    .await;
    let done = job(&app, &office, &id).await;
    assert_eq!(
        (done["done"].as_i64(), done["failed"].as_i64()),
        (Some(250), Some(1)),
        "{done}"
    );
    assert_eq!(done["failures"][0]["receiver_id"], blocker.id);
    assert_eq!(done["failures"][0]["code"], "blocked");
    assert!(done["finished_at"].is_string());
    assert_eq!(delivered(&app, office.id).await, (250, 250));
    worker.stop().await;
}

/// The worker as a real process, killed (SIGKILL) in the middle of a bulk
/// send to 5,000 receivers and started again: the sweep hands the job to
/// the new process, which resumes it; every receiver ends with exactly one
/// message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_worker_mid_job_still_sends_exactly_one_message_per_receiver() {
    let app = TestApp::spawn_with(|env| {
        env.insert("JOB_LEASE_SECS".into(), "2".into());
        env.insert("JOB_SWEEP_INTERVAL_SECS".into(), "1".into());
    })
    .await;
    let office = app.api.register_and_login("killoffice").await;
    let students = receivers(&app, "killstudent", 5_000).await;
    let body =
        json!({"receiver_ids": students, "text": "Welcome back!", "client_message_id": "kill-1"});
    let (status, queued) = app
        .api
        .post("/api/v1/messages/bulk", tok(&office), &body)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let id = queued["job_id"].clone();
    let logs = parley_tests::temp_dir();

    let mut first = spawn_process("parley-worker", &[], &app.env, &logs);
    wait_until(
        "the first worker is part-way",
        Duration::from_secs(120),
        || async { job(&app, &office, &id).await["done"].as_i64().unwrap_or(0) >= 300 },
    )
    .await;
    first.kill().await;
    let at_kill = job(&app, &office, &id).await;
    assert_ne!(at_kill["state"], "done", "killed mid-job: {at_kill}");

    let mut second = spawn_process("parley-worker", &[], &app.env, &logs);
    wait_until("the job is done", Duration::from_secs(600), || async {
        job(&app, &office, &id).await["state"] == "done"
    })
    .await;
    second.kill().await;
    let done = job(&app, &office, &id).await;
    assert_eq!(
        (done["done"].as_i64(), done["failed"].as_i64()),
        (Some(5_000), Some(0)),
        "{done}"
    );
    assert_eq!(delivered(&app, office.id).await, (5_000, 5_000));
}

/// A bulk forward too large for the request is a job: two API replicas
/// and the worker as a real process; a target the caller cannot post in is
/// that target's failure, the others get their copy once, live on the
/// other replica too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_bulk_forward_is_a_job_with_per_target_failures() {
    let app = TestApp::spawn_with(|env| {
        env.insert("BULK_SYNC_MAX".into(), "2".into());
    })
    .await;
    let other_replica = app.replica().await;
    let api = &app.api;
    let me = api.register_and_login("fwdjobme").await;
    let friends = [
        api.register_and_login("fwdjobf1").await,
        api.register_and_login("fwdjobf2").await,
        api.register_and_login("fwdjobf3").await,
    ];
    let mut targets = Vec::new();
    for friend in &friends {
        targets.push(api.private_chat(&me, friend).await);
    }
    // A channel where I only read.
    let (status, channel) = api
        .post(
            "/api/v1/chats",
            tok(&friends[0]),
            &json!({"type": "channel", "title": "Read only", "member_ids": [me.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{channel}");
    let channel = channel["id"].as_i64().unwrap();
    targets.push(channel);
    let source_chat = api.group(&me, &[]).await;
    let source = api.send_text(&me, source_chat, "pass it on").await;
    let path = format!("/api/v1/messages/{}/forward-bulk", source["id"]);
    let mut socket = other_replica.api.connect_ws(&friends[2].access_token).await;

    let (status, err) = api
        .post(&path, tok(&me), &json!({"target_chat_ids": targets}))
        .await;
    assert_eq!(
        (status, err["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("client_message_id")),
        "{err}"
    );
    let body = json!({"target_chat_ids": targets, "client_message_id": "fwd-job-1"});
    let (status, queued) = api.post(&path, tok(&me), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let id = queued["job_id"].clone();
    let (status, again) = other_replica.api.post(&path, tok(&me), &body).await;
    assert_eq!((status, &again["job_id"]), (StatusCode::ACCEPTED, &id));

    let logs = parley_tests::temp_dir();
    let mut worker = spawn_process("parley-worker", &[], &app.env, &logs);
    wait_until(
        "the forward job is done",
        Duration::from_secs(60),
        || async { job(&app, &me, &id).await["state"] == "done" },
    )
    .await;
    worker.kill().await;
    let done = job(&app, &me, &id).await;
    assert_eq!(done["kind"], "forward_bulk");
    assert_eq!(
        (done["done"].as_i64(), done["failed"].as_i64()),
        (Some(3), Some(1)),
        "{done}"
    );
    assert_eq!(done["failures"][0]["receiver_id"], channel);
    assert_eq!(done["failures"][0]["code"], "cannot_post");
    let frame = socket.expect_type("message_created", WAIT).await.unwrap();
    assert_eq!(frame["chat_id"], targets[2]);
    assert_eq!(frame["message"]["forwarded_from_message_id"], source["id"]);
    for (friend, chat) in friends.iter().zip(&targets) {
        let (_, page) = api
            .get(&format!("/api/v1/messages/{chat}"), tok(friend))
            .await;
        assert_eq!(
            page.as_array().unwrap().len(),
            1,
            "one copy in {chat}: {page}"
        );
    }
}
