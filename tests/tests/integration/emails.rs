//! Account emails the production way (seed 004 §5): staged in the outbox
//! by the API, sent by the worker to a real SMTP server (mailcrab, in this
//! process), each as text and HTML, and their links work. (The password
//! reset's own SMTP test is in `recovery.rs`.)

use std::time::Duration;

use mail_parser::MessageParser;
use parley_tests::TestApp;
use reqwest::StatusCode;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

/// One received email, parsed.
struct Received {
    to: String,
    from: String,
    subject: String,
    text: String,
    html: String,
}

async fn next_email(mail: &mut mailcrab::TestMailServerHandle) -> Received {
    let message = tokio::time::timeout(WAIT, mail.rx.recv())
        .await
        .expect("an email within 10 s")
        .expect("the mail channel");
    let raw = message.raw_bytes().unwrap_or_default();
    let parsed = MessageParser::default().parse(&raw).expect("an email");
    let address = |list: Option<&mail_parser::Address>| {
        list.and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_owned()
    };
    Received {
        to: address(parsed.to()),
        from: address(parsed.from()),
        subject: parsed.subject().unwrap_or_default().to_owned(),
        text: parsed
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        html: parsed
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
    }
}

/// The token of the first `{page}?token=` link in `text`.
fn token_in(text: &str, page: &str) -> String {
    text.split(&format!("{page}?token="))
        .nth(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_emails_arrive_by_smtp_and_their_links_verify_the_account() {
    let smtp_port = parley_tests::free_port();
    let mut mail = mailcrab::development_mail_server([127, 0, 0, 1], smtp_port).await;
    let app = TestApp::spawn_with(|env| {
        env.insert("SMTP_URL".into(), format!("smtp://127.0.0.1:{smtp_port}"));
        env.insert("MAIL_FROM".into(), "Parley Test <robot@parley.test>".into());
    })
    .await;
    let worker = app.start_worker();
    let user = app.api.register_and_login("verifier").await;

    let welcome = next_email(&mut mail).await;
    assert_eq!(welcome.to, user.email);
    assert_eq!(welcome.from, "robot@parley.test");
    assert!(!welcome.subject.is_empty());
    let first_token = token_in(&welcome.text, "verify-email");
    assert!(!first_token.is_empty(), "{}", welcome.text);
    assert!(
        welcome.html.contains(&first_token),
        "the HTML part has the link too"
    );

    // An unknown address gets the same answer and no email: the next email
    // to arrive is the one asked for after it.
    for email in ["nobody-here@example.com", user.email.as_str()] {
        let (status, body) = app
            .api
            .post(
                "/api/v1/auth/resend-verification",
                None,
                &json!({ "email": email }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let resent = next_email(&mut mail).await;
    assert_eq!(resent.to, user.email);
    let token = token_in(&resent.text, "verify-email");
    assert!(!token.is_empty() && token != first_token, "a new link");

    let (status, body) = app
        .api
        .post(
            "/api/v1/auth/verify-email",
            None,
            &json!({ "token": token }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, me) = app
        .api
        .get("/api/v1/auth/me", Some(&user.access_token))
        .await;
    assert_eq!(me["email_verified"], true, "{me}");
    // The link works once.
    let (status, err) = app
        .api
        .post(
            "/api/v1/auth/verify-email",
            None,
            &json!({ "token": token }),
        )
        .await;
    assert!(status.is_client_error(), "{status}: {err}");
    assert!(err["code"].is_string(), "{err}");

    // A verified account is sent no more verification links: the next email
    // is the reset asked for after the resend.
    for (path, body) in [
        (
            "/api/v1/auth/resend-verification",
            json!({ "email": user.email }),
        ),
        (
            "/api/v1/auth/request-password-reset",
            json!({ "email": user.email }),
        ),
    ] {
        let (status, answer) = app.api.post(path, None, &body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    }
    let reset = next_email(&mut mail).await;
    assert!(
        reset.text.contains("reset-password?token="),
        "{}: {}",
        reset.subject,
        reset.text
    );
    worker.stop().await;
}
