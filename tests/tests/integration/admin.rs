//! `parley-admin` (issue 12), the real binary against the app's database
//! and Redis: each command's effect seen through the API, and its
//! refusals (exit status 1, nothing changed).

use std::process::Stdio;
use std::time::Duration;

use parley_tests::{TestApp, TestUser, WsClient, bin_path, tok};
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::AsyncWriteExt;

const WAIT: Duration = Duration::from_secs(10);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `parley-admin args…` with the app's settings, `stdin` written to
/// its standard input.
async fn admin(app: &TestApp, args: &[&str], stdin: &str) -> Run {
    let mut child = tokio::process::Command::new(bin_path("parley-admin"))
        .args(args)
        .env_clear()
        .envs(&app.env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run parley-admin");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Logs in; the access token, or the refusal's status.
async fn login(app: &TestApp, email: &str, password: &str) -> Result<String, StatusCode> {
    let (status, body) = app
        .api
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": email, "password": password}),
        )
        .await;
    match status {
        StatusCode::OK => Ok(body["access_token"].as_str().unwrap().to_owned()),
        other => Err(other),
    }
}

/// `user`'s socket heard `session_revoked` with `reason` and closed 4001,
/// and their token is refused.
async fn logged_out(app: &TestApp, user: &TestUser, socket: &mut WsClient, reason: &str) {
    let revoked = socket.expect_type("session_revoked", WAIT).await.unwrap();
    assert_eq!(revoked["reason"], reason, "{revoked}");
    let (code, _) = socket.expect_close(WAIT).await.unwrap();
    assert_eq!(code, 4001);
    let (status, _) = app.api.get("/api/v1/auth/me", tok(user)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_are_created_verified_and_listed() {
    let app = TestApp::spawn().await;
    let args = [
        "create-user",
        "--email",
        "Ops@Example.com",
        "--username",
        "opsuser",
        "--name",
        "Ops User",
        "--verified",
    ];
    let run = admin(&app, &args, "correct horse 1\n").await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("<ops@example.com> @opsuser"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("email verified: true"),
        "{}",
        run.stdout
    );
    let token = login(&app, "ops@example.com", "correct horse 1")
        .await
        .unwrap();
    let (_, me) = app.api.get("/api/v1/auth/me", Some(&token)).await;
    assert_eq!(me["email_verified"], true, "{me}");

    // The same rules as registration, and nothing made.
    let run = admin(&app, &args, "correct horse 1\n").await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("exists"), "{}", run.stderr);
    let mut short = args;
    short[2] = "other@example.com";
    short[4] = "otheruser";
    let run = admin(&app, &short, "short\n").await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.to_lowercase().contains("password"),
        "{}",
        run.stderr
    );
    assert_eq!(
        login(&app, "other@example.com", "short").await,
        Err(StatusCode::UNAUTHORIZED)
    );

    // verify-email, by username; sessions, by email.
    let user = app.api.register_and_login("opsunverified").await;
    let (_, me) = app.api.get("/api/v1/auth/me", tok(&user)).await;
    assert_eq!(me["email_verified"], false);
    let run = admin(&app, &["verify-email", "opsunverified"], "").await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (_, me) = app.api.get("/api/v1/auth/me", tok(&user)).await;
    assert_eq!(me["email_verified"], true);
    let (_, listed) = app.api.get("/api/v1/auth/sessions", tok(&user)).await;
    let jti = listed[0]["jti"].as_str().unwrap().to_owned();
    let run = admin(&app, &["sessions", &user.email], "").await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("1 active session(s)"), "{}", run.stdout);
    assert!(run.stdout.contains(&jti), "{}", run.stdout);

    let run = admin(&app, &["sessions", "nobody@example.com"], "").await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("No account"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_password_revokes_sessions_and_closes_sockets() {
    let app = TestApp::spawn().await;
    let user = app.api.register_and_login("opsreset").await;
    let mut socket = app.api.connect_ws(&user.access_token).await;

    // A refused password changes nothing.
    let run = admin(&app, &["reset-password", &user.email], "short\n").await;
    assert_eq!(run.code, 1);
    let (status, _) = app.api.get("/api/v1/auth/me", tok(&user)).await;
    assert_eq!(status, StatusCode::OK, "the session is still valid");

    let run = admin(
        &app,
        &["reset-password", &user.id.to_string()],
        "new password 2\n",
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("1 session(s) revoked"),
        "{}",
        run.stdout
    );
    logged_out(&app, &user, &mut socket, "password_reset").await;
    assert!(login(&app, &user.email, "new password 2").await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_account_is_logged_out_and_cannot_log_in() {
    let app = TestApp::spawn().await;
    let user = app.api.register_and_login("opsgone").await;
    let password = "password-opsgone";
    let mut socket = app.api.connect_ws(&user.access_token).await;

    let run = admin(&app, &["deactivate", "opsgone"], "").await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("1 session(s) revoked"),
        "{}",
        run.stdout
    );
    logged_out(&app, &user, &mut socket, "account_deactivated").await;
    let (status, body) = app
        .api
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": user.email, "password": password}),
        )
        .await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::FORBIDDEN, &json!("account_deactivated"))
    );
    // A wrong password still reads as one: deactivation shows only to the
    // account's owner.
    assert_eq!(
        login(&app, &user.email, "not the password").await,
        Err(StatusCode::UNAUTHORIZED)
    );

    let run = admin(&app, &["reactivate", &user.email], "").await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(login(&app, &user.email, password).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purged_chat_is_gone_for_everyone_with_its_text() {
    use diesel::prelude::*;
    use parley_shared::infra::schema::messages;

    let app = TestApp::spawn().await;
    let owner = app.api.register_and_login("opspurgeowner").await;
    let member = app.api.register_and_login("opspurgemember").await;
    let chat = app.api.group(&owner, &[&member]).await;
    for text in ["one", "two", "three"] {
        app.api.send_text(&owner, chat, text).await;
    }
    let mut socket = app.api.connect_ws(&member.access_token).await;
    let with_text = async || {
        let mut conn = app.db.connect().await.unwrap();
        diesel_async::RunQueryDsl::get_result::<i64>(
            messages::table
                .filter(messages::chat_id.eq(chat))
                .filter(messages::text.ne(""))
                .count(),
            &mut conn,
        )
        .await
        .unwrap()
    };
    assert_eq!(with_text().await, 3);

    // Not without --yes, nor a chat that does not exist.
    let run = admin(&app, &["purge-chat", &chat.to_string()], "").await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert_eq!(with_text().await, 3);
    let run = admin(&app, &["purge-chat", "999999999", "--yes"], "").await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);

    let run = admin(&app, &["purge-chat", &chat.to_string(), "--yes"], "").await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("3 message(s)"), "{}", run.stdout);
    let deleted = socket.expect_type("chat_deleted", WAIT).await.unwrap();
    assert_eq!(deleted["chat_id"], chat);
    assert_eq!(deleted["user_id"], serde_json::Value::Null, "{deleted}");
    let (status, _) = app
        .api
        .get(&format!("/api/v1/chats/{chat}"), tok(&owner))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(with_text().await, 0, "no message keeps its text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_and_retention_report_what_there_is() {
    let app = TestApp::spawn().await;
    let user = app.api.register_and_login("opsjobs").await;

    // The registration's welcome email waits in the outbox or its queue
    // (no worker runs here): every kind is listed.
    let run = admin(&app, &["jobs"], "").await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("kind  pending"), "{}", run.stdout);
    for kind in ["send_email", "bulk_send"] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.starts_with(&format!("{kind}  "))),
            "{kind}: {}",
            run.stdout
        );
    }

    // A session revoked over a week ago is removed by the pass; the
    // user's live one stays.
    app.api.login(&user.email, "password-opsjobs").await;
    let (status, _) = app.api.delete("/api/v1/auth/sessions", tok(&user)).await;
    assert!(status.is_success(), "revoke the other session: {status}");
    let mut conn = app.db.connect().await.unwrap();
    let aged = format!(
        "UPDATE sessions SET revoked_at = now() - interval '8 days' \
         WHERE user_id = {} AND revoked_at IS NOT NULL",
        user.id
    );
    let changed = diesel_async::RunQueryDsl::execute(diesel::sql_query(aged), &mut conn)
        .await
        .unwrap();
    assert_eq!(changed, 1, "one revoked session");
    let run = admin(&app, &["retention"], "").await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("sessions 1,"), "{}", run.stdout);
    let run = admin(&app, &["sessions", "opsjobs"], "").await;
    assert!(run.stdout.contains("1 active session(s)"), "{}", run.stdout);
}
