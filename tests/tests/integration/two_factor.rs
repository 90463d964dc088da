//! Two-factor authentication with TOTP (seed 004 §5): setup, enable, login
//! with `otp_code`, disable, with real codes computed from the secret the
//! server hands out.

use parley_tests::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use totp_rs::{Algorithm, Secret, TOTP};

/// The authenticator app: codes of `secret` for the step `offset` steps
/// from now (the server accepts one step either way, each step once).
fn code(secret: &str, offset: i64) -> String {
    let bytes = Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("base32 secret");
    let totp = TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, bytes, None, String::new());
    let now = chrono::Utc::now().timestamp() + offset * 30;
    totp.generate(u64::try_from(now).unwrap_or(0))
}

/// A six-digit code that is not `code`.
fn other_than(code: &str) -> String {
    code.chars()
        .map(|c| {
            if c == '9' {
                '0'
            } else {
                char::from(c as u8 + 1)
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_factor_is_set_up_enabled_required_at_login_and_disabled() {
    let app = TestApp::spawn().await;
    let user = app.api.register_and_login("tess").await;
    let token = Some(user.access_token.as_str());
    let login = |otp: Option<&str>| -> Value {
        let mut body = json!({"email": user.email, "password": user.password});
        if let Some(otp) = otp {
            body["otp_code"] = json!(otp);
        }
        body
    };

    let (status, err) = app
        .api
        .post("/api/v1/auth/2fa/enable", token, &json!({"code": "123456"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["code"], "twofa_not_set_up");

    let (status, setup) = app
        .api
        .post("/api/v1/auth/2fa/setup", token, &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let secret = setup["secret"].as_str().unwrap_or_default().to_owned();
    assert_eq!(secret.len(), 32, "20 random bytes, base32");
    let url = setup["otpauth_url"].as_str().unwrap_or_default();
    assert!(url.starts_with("otpauth://totp/Parley:"), "{url}");
    assert!(url.contains(&format!("secret={secret}")), "{url}");

    // Not in force before it is enabled.
    let (status, _) = app.api.post("/api/v1/auth/login", None, &login(None)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, err) = app
        .api
        .post(
            "/api/v1/auth/2fa/enable",
            token,
            &json!({"code": other_than(&code(&secret, -1))}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "code");
    let (_, me) = app.api.get("/api/v1/auth/me", token).await;
    assert_eq!(me["twofa_enabled"], false, "a wrong code enables nothing");

    let enabling = code(&secret, -1);
    let (status, _) = app
        .api
        .post("/api/v1/auth/2fa/enable", token, &json!({"code": enabling}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, me) = app.api.get("/api/v1/auth/me", token).await;
    assert_eq!(me["twofa_enabled"], true);
    let (_, me) = app.api.get("/api/v1/users/me", token).await;
    assert_eq!(me["twofa_enabled"], true);
    let (status, err) = app
        .api
        .post("/api/v1/auth/2fa/setup", token, &json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["code"], "twofa_already_enabled");

    let (status, err) = app.api.post("/api/v1/auth/login", None, &login(None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["code"], "otp_required");
    let wrong = other_than(&code(&secret, 0));
    let (status, err) = app
        .api
        .post("/api/v1/auth/login", None, &login(Some(&wrong)))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["code"], "invalid_otp");
    let (status, err) = app
        .api
        .post("/api/v1/auth/login", None, &login(Some(&enabling)))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the code enable used");
    assert_eq!(err["code"], "invalid_otp");
    let fresh = code(&secret, 0);
    let (status, tokens) = app
        .api
        .post("/api/v1/auth/login", None, &login(Some(&fresh)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(tokens["access_token"].is_string());
    let (status, err) = app
        .api
        .post("/api/v1/auth/login", None, &login(Some(&fresh)))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a code works once");
    assert_eq!(err["code"], "invalid_otp");

    let (status, err) = app
        .api
        .post("/api/v1/auth/2fa/disable", token, &json!({"code": fresh}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "code");
    let (status, _) = app
        .api
        .post(
            "/api/v1/auth/2fa/disable",
            token,
            &json!({"code": code(&secret, 1)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.api.post("/api/v1/auth/login", None, &login(None)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, err) = app
        .api
        .post(
            "/api/v1/auth/2fa/disable",
            token,
            &json!({"code": "123456"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["code"], "twofa_not_enabled");
}
