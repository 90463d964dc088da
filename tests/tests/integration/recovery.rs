//! Account recovery by email (seed 004 §5): resend-verification,
//! request-password-reset, reset-password. Most tests run the app without
//! Redis, so that it sends its emails itself into the file mailer under its
//! data dir; one goes the production way: the outbox, the worker and a real
//! SMTP server (mailcrab).

use std::path::Path;
use std::time::Duration;

use parley_tests::{TestApp, wait_until};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

/// `(subject, text)` of every email in `dir`, oldest first.
fn emails(dir: &Path) -> Vec<(String, String)> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort_by_key(|p| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .unwrap_or(std::time::SystemTime::UNIX_EPOCH)
    });
    paths
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter_map(|eml| {
            let parsed = mail_parser::MessageParser::default().parse(&eml)?;
            let subject = parsed.subject().unwrap_or_default().to_owned();
            let text = parsed.body_text(0)?.into_owned();
            Some((subject, text))
        })
        .collect()
}

/// Waits for the `n`th email (1-based) and returns it.
async fn nth_email(app: &TestApp, n: usize) -> (String, String) {
    let dir = app.data_dir.join("mail");
    wait_until(&format!("email #{n}"), WAIT, || {
        let dir = dir.clone();
        async move { emails(&dir).len() >= n }
    })
    .await;
    emails(&dir).swap_remove(n - 1)
}

/// The token of the link `{page}?token=...` in an email's text.
fn token_in(text: &str, page: &str) -> String {
    text.split(&format!("{page}?token="))
        .nth(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect()
        })
        .unwrap_or_default()
}

async fn no_redis() -> TestApp {
    TestApp::spawn_with(|env| {
        env.insert("REDIS_URL".into(), String::new());
        env.insert("REDIS_CLUSTER_URLS".into(), String::new());
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_link_sets_a_new_password_once_and_signs_out_everywhere() {
    let app = no_redis().await;
    let user = app.api.register_and_login("rita").await;
    let welcome = nth_email(&app, 1).await;
    assert!(welcome.0.starts_with("Welcome"), "{welcome:?}");
    let mut socket = app.api.connect_ws(&user.access_token).await;

    let ask = |email: &str| json!({"email": email});
    let (status, known) = app
        .api
        .post(
            "/api/v1/auth/request-password-reset",
            None,
            &ask(&user.email),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, unknown) = app
        .api
        .post(
            "/api/v1/auth/request-password-reset",
            None,
            &ask("nobody@example.com"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        known, unknown,
        "the answer does not tell who has an account"
    );
    let (status, err) = app
        .api
        .post("/api/v1/auth/request-password-reset", None, &ask("nope"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "email");

    let (subject, text) = nth_email(&app, 2).await;
    assert_eq!(subject, "Parley: reset your password");
    let token = token_in(&text, "reset-password");
    assert_eq!(token.len(), 43);

    let reset = |token: &str, password: &str| json!({"token": token, "new_password": password});
    let (status, err) = app
        .api
        .post("/api/v1/auth/reset-password", None, &reset(&token, "short"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "new_password");
    let (status, err) = app
        .api
        .post(
            "/api/v1/auth/reset-password",
            None,
            &reset("wrong", "new-password-1"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["code"], "invalid_token");
    // Neither refusal used the token or changed the password.
    let (status, _) = app
        .api
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": user.email, "password": user.password}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = app
        .api
        .post(
            "/api/v1/auth/reset-password",
            None,
            &reset(&token, "new-password-1"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (code, frames) = socket.expect_close(WAIT).await.unwrap();
    assert_eq!(code, 4001);
    assert!(
        frames
            .iter()
            .any(|f: &Value| f["type"] == "session_revoked" && f["reason"] == "password_reset"),
        "{frames:?}"
    );
    let (status, _) = app
        .api
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": user.refresh_token}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "every session ended");
    let login = |password: &str| json!({"email": user.email, "password": password});
    let (status, _) = app
        .api
        .post("/api/v1/auth/login", None, &login(&user.password))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .api
        .post("/api/v1/auth/login", None, &login("new-password-1"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .api
        .post(
            "/api/v1/auth/reset-password",
            None,
            &reset(&token, "new-password-2"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a reset link works once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_verification_link_goes_only_to_unverified_accounts() {
    let app = no_redis().await;
    let user = app.api.register_and_login("vera").await;
    nth_email(&app, 1).await;
    let ask = |email: &str| json!({"email": email});
    let (status, known) = app
        .api
        .post("/api/v1/auth/resend-verification", None, &ask(&user.email))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (subject, text) = nth_email(&app, 2).await;
    assert_eq!(subject, "Parley: confirm your email");
    let token = token_in(&text, "verify-email");
    let (status, _) = app
        .api
        .post("/api/v1/auth/verify-email", None, &json!({"token": token}))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Verified now: a resend answers the same and sends nothing. The reset
    // asked for next is the third email, so no verification went between.
    let (status, again) = app
        .api
        .post("/api/v1/auth/resend-verification", None, &ask(&user.email))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, known);
    let (status, unknown) = app
        .api
        .post(
            "/api/v1/auth/resend-verification",
            None,
            &ask("nobody@example.com"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unknown, known);
    app.api
        .post(
            "/api/v1/auth/request-password-reset",
            None,
            &ask(&user.email),
        )
        .await;
    let (subject, _) = nth_email(&app, 3).await;
    assert_eq!(subject, "Parley: reset your password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_link_arrives_by_smtp_through_the_outbox_and_the_worker() {
    let smtp_port = parley_tests::free_port();
    let mut mail = mailcrab::development_mail_server([127, 0, 0, 1], smtp_port).await;
    let app = TestApp::spawn_with(|env| {
        env.insert("SMTP_URL".into(), format!("smtp://127.0.0.1:{smtp_port}"));
    })
    .await;
    let worker = app.start_worker();
    let user = app.api.register_and_login("smitty").await;
    let mut next_mail = async || {
        let message = tokio::time::timeout(WAIT, mail.rx.recv())
            .await
            .expect("an email within 10 s")
            .expect("the mail channel");
        String::from_utf8(message.raw_bytes().unwrap_or_default()).unwrap_or_default()
    };
    let welcome = next_mail().await;
    assert!(welcome.contains("verify-email?token="), "{welcome}");

    let (status, _) = app
        .api
        .post(
            "/api/v1/auth/request-password-reset",
            None,
            &json!({"email": user.email}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let raw = next_mail().await;
    assert!(
        raw.contains("Subject: Parley: reset your password"),
        "{raw}"
    );
    assert!(raw.contains("text/html"), "text and HTML parts: {raw}");
    let parsed = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("an email");
    let text = parsed.body_text(0).expect("a text part").into_owned();
    let token = token_in(&text, "reset-password");
    let (status, _) = app
        .api
        .post(
            "/api/v1/auth/reset-password",
            None,
            &json!({"token": token, "new_password": "smtp-password-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .api
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": user.email, "password": "smtp-password-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    worker.stop().await;
}
