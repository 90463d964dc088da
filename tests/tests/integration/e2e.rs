//! End to end with the real binaries: two `parley-api` replicas and one
//! `parley-worker` on real PostgreSQL and Redis, a real SMTP server
//! (mailcrab, in this process), real HTTP and WebSocket clients.

use std::time::Duration;

use parley_tests::{
    Api, TestDatabase, WsClient, free_port, redis_prefix, spawn_api_process, spawn_process,
    temp_dir,
};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

/// Messages each of the two users sends.
const PER_USER: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_deliver_every_message_once_in_seq_order() {
    let db = TestDatabase::create().await.unwrap();
    let prefix = redis_prefix();
    let dir = temp_dir();
    let smtp_port = free_port();
    let mut mail = mailcrab::development_mail_server([127, 0, 0, 1], smtp_port).await;
    let mut env = parley_tests::base_env(&db, &prefix, &dir);
    env.insert("SMTP_URL".into(), format!("smtp://127.0.0.1:{smtp_port}"));

    let (_api1, r1) = spawn_api_process(&env, &dir).await.unwrap();
    let (_api2, r2) = spawn_api_process(&env, &dir).await.unwrap();
    let worker = spawn_process("parley-worker", &[], &env, &dir);

    // Register through replica 1; the worker sends the emails by SMTP.
    let a = r1.register_and_login("alice").await;
    let b_registered = r1.register_and_login("bob").await;
    let mut mailed = Vec::new();
    while mailed.len() < 2 {
        let message = tokio::time::timeout(Duration::from_secs(15), mail.rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no email within 15 s; worker log:\n{}", worker.log_tail()))
            .expect("mail channel");
        let raw = String::from_utf8(message.raw_bytes().unwrap_or_default()).unwrap_or_default();
        assert!(raw.contains("verify-email?token="), "{raw}");
        mailed.extend(message.envelope_recipients.clone());
    }
    mailed.sort();
    assert_eq!(
        mailed,
        vec!["alice@example.com".to_owned(), "bob@example.com".to_owned()]
    );

    // B logs in through replica 2.
    let tokens = r2.login(&b_registered.email, &b_registered.password).await;
    let b_token = tokens["access_token"].as_str().unwrap().to_owned();

    let mut ws_a = r1.connect_ws(&a.access_token).await;
    let mut ws_b = r2.connect_ws(&b_token).await;
    let chat = r1.private_chat(&a, &b_registered).await;
    for ws in [&mut ws_a, &mut ws_b] {
        let created = ws
            .expect_type("chat_created", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(created["chat_id"], chat);
    }

    // Both send at once: A through replica 1, B through replica 2.
    let send_all = |api: Api, token: String, who: &'static str| {
        tokio::spawn(async move {
            let mut acks = Vec::new();
            for i in 0..PER_USER {
                let (status, body) = api
                    .post(
                        "/api/v1/messages",
                        Some(&token),
                        &json!({"chat_id": chat, "text": format!("{who}-{i}"), "client_message_id": Uuid::new_v4().to_string()}),
                    )
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
                acks.push(body["id"].as_i64().unwrap());
            }
            acks
        })
    };
    let sent_a = send_all(r1.clone(), a.access_token.clone(), "a");
    let sent_b = send_all(r2.clone(), b_token.clone(), "b");
    let mut sent: Vec<i64> = sent_a.await.unwrap();
    sent.extend(sent_b.await.unwrap());
    sent.sort_unstable();

    // Within 2 s of the last send, each socket has every message exactly
    // once, in seq order, with no gap.
    for (name, ws) in [("a", &mut ws_a), ("b", &mut ws_b)] {
        let seen = collect_messages(ws, 2 * PER_USER, Duration::from_secs(2))
            .await
            .unwrap_or_else(|e| panic!("socket {name}: {e}"));
        let seqs: Vec<i64> = seen.iter().map(|(seq, _, _)| *seq).collect();
        let expected: Vec<i64> = (2..2 + 2 * PER_USER as i64).collect();
        assert_eq!(
            seqs, expected,
            "socket {name}: seqs in order, no gap, no duplicate"
        );
        let mut ids: Vec<i64> = seen.iter().map(|(_, id, _)| *id).collect();
        ids.sort_unstable();
        assert_eq!(
            ids, sent,
            "socket {name}: exactly the acknowledged messages"
        );
        // Each sender's messages appear in the order they were sent.
        for who in ["a", "b"] {
            let texts: Vec<&str> = seen
                .iter()
                .map(|(_, _, text)| text.as_str())
                .filter(|t| t.starts_with(&format!("{who}-")))
                .collect();
            let expected: Vec<String> = (0..PER_USER).map(|i| format!("{who}-{i}")).collect();
            assert_eq!(
                texts, expected,
                "socket {name}: {who}'s messages in send order"
            );
        }
    }
    // Nothing more followed (a duplicate would): the next frame on each
    // socket is a message sent after all of them.
    let last = r1.send_text(&a, chat, "last").await;
    for ws in [&mut ws_a, &mut ws_b] {
        ws.expect_next_message(&last, Duration::from_secs(5)).await;
    }

    drop(worker);
}

/// Reads `message_created` frames until `count` arrived or `within` passed;
/// returns `(seq, message id, text)` in arrival order. (That nothing more
/// follows is checked by the caller, with a later message.)
async fn collect_messages(
    ws: &mut WsClient,
    count: usize,
    within: Duration,
) -> anyhow::Result<Vec<(i64, i64, String)>> {
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = Vec::new();
    while seen.len() < count {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let frame = ws
            .next_json(left)
            .await
            .map_err(|e| anyhow::anyhow!("{e} after {} of {count} messages", seen.len()))?;
        if frame["type"] == "message_created" {
            seen.push((
                frame["seq"].as_i64().unwrap_or(-1),
                frame["message"]["id"].as_i64().unwrap_or(-1),
                frame["message"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ));
        }
    }
    Ok(seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_subcommand_prepares_an_empty_database() {
    let db = TestDatabase::create_empty().await.unwrap();
    let dir = temp_dir();
    let env = parley_tests::base_env(&db, &redis_prefix(), &dir);
    let mut migrate = spawn_process("parley-api", &["migrate"], &env, &dir);
    let status = tokio::time::timeout(Duration::from_secs(60), migrate.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "migrate failed:\n{}", migrate.log_tail());
    // The migrated database serves requests.
    let (_api, api) = spawn_api_process(&env, &dir).await.unwrap();
    let user = api.register_and_login("mia").await;
    let (status, _) = api.get("/api/v1/auth/me", Some(&user.access_token)).await;
    assert_eq!(status, StatusCode::OK);
    // Running it again is a no-op.
    let mut again = spawn_process("parley-api", &["migrate"], &env, &dir);
    assert!(again.child.wait().await.unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_refuses_the_default_secret() {
    let db = TestDatabase::create().await.unwrap();
    let dir = temp_dir();
    let mut env = parley_tests::base_env(&db, &redis_prefix(), &dir);
    env.insert("PARLEY_ENV".into(), "production".into());
    env.insert("SMTP_URL".into(), "smtp://127.0.0.1:25".into());
    let mut api = spawn_process("parley-api", &[], &env, &dir);
    let status = tokio::time::timeout(Duration::from_secs(30), api.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(2));
    assert!(api.log_tail().contains("JWT_SECRET"), "{}", api.log_tail());
}
