//! Notifications (seed 004 §10): the worker's fan-out writes one for each
//! member who is offline (and did not mute the chat) or muted the chat but
//! is mentioned; online recipients hear `notification` on their sockets;
//! offline ones get a real Web Push (VAPID-signed, aes128gcm-encrypted) at
//! their subscription's endpoint, here a push service played by a plain
//! HTTP listener in the test (no registry ships a push service). FCM and
//! APNs devices are logged until configured, and never cost the row.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel_async::RunQueryDsl;
use parley_tests::{TestApp, TestUser, temp_dir, tok, wait_until};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(10);

async fn notifications(app: &TestApp, user: &TestUser) -> Vec<Value> {
    let (status, page) = app.api.get("/api/v1/notifications", tok(user)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page.as_array().unwrap().clone()
}

async fn mute(app: &TestApp, user: &TestUser, chat: i64) {
    let (status, body) = app
        .api
        .put(
            &format!("/api/v1/chats/{chat}/notifications"),
            tok(user),
            &json!({"muted": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_members_and_muted_mentions_are_notified_once() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let owner = api.register_and_login("notifyowner").await;
    let online = api.register_and_login("notifyonline").await;
    let away = api.register_and_login("notifyaway").await;
    let muted = api.register_and_login("notifymuted").await;
    let muted_away = api.register_and_login("notifymutedaway").await;
    let chat = api
        .group(&owner, &[&online, &away, &muted, &muted_away])
        .await;
    mute(&app, &muted, chat).await;
    mute(&app, &muted_away, chat).await;
    let _online_socket = api.connect_ws(&online.access_token).await;
    let mut muted_socket = api.connect_ws(&muted.access_token).await;
    let worker = app.start_worker();

    let first = api.send_text(&owner, chat, "hello everyone").await;
    let second = api
        .send_text(&owner, chat, "are you there @notifymuted?")
        .await;
    wait_until("the away member has both", WAIT, || async {
        notifications(&app, &away).await.len() == 2
    })
    .await;
    let got = notifications(&app, &away).await;
    assert_eq!(got[0]["event_type"], "message_created", "newest first");
    let payload: Value = serde_json::from_str(got[1]["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["message_id"], first["id"]);
    assert_eq!(payload["chat_id"], chat);
    assert_eq!(payload["text"], "hello everyone");
    assert_eq!(got[0]["user_id"], away.id);

    // The muted member is online, but mentioned: a row and a live event.
    let frame = muted_socket
        .expect_type("notification", WAIT)
        .await
        .unwrap();
    assert_eq!(frame["notification"]["event_type"], "mention");
    let payload: Value =
        serde_json::from_str(frame["notification"]["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["message_id"], second["id"]);
    assert_eq!(notifications(&app, &muted).await.len(), 1);
    // Online and not mentioned, or muted and not mentioned, or the sender:
    // nothing, though the fan-out has handled both messages.
    assert_eq!(notifications(&app, &online).await, Vec::<Value>::new());
    assert_eq!(notifications(&app, &muted_away).await, Vec::<Value>::new());
    assert_eq!(notifications(&app, &owner).await, Vec::<Value>::new());

    // Handling a message again (as after a crash) writes nothing twice.
    let mut conn = app.db.connect().await.unwrap();
    diesel::sql_query(format!(
        "INSERT INTO notification_queue (message_id) VALUES ({})",
        first["id"]
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    #[derive(diesel::QueryableByName)]
    struct Handled {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        handled: bool,
    }
    wait_until("the message handled again", WAIT, || async {
        let mut conn = app.db.connect().await.unwrap();
        let rows: Vec<Handled> = diesel::sql_query(format!(
            "SELECT NOT EXISTS (SELECT 1 FROM notification_queue WHERE message_id = {}) AS handled",
            first["id"]
        ))
        .load(&mut conn)
        .await
        .unwrap();
        rows[0].handled
    })
    .await;
    assert_eq!(notifications(&app, &away).await.len(), 2);

    // Paging.
    let (_, page) = api.get("/api/v1/notifications?limit=1", tok(&away)).await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    let (_, older) = api
        .get(
            &format!("/api/v1/notifications?before_id={}", page[0]["id"]),
            tok(&away),
        )
        .await;
    assert_eq!(older[0]["id"], got[1]["id"]);
    let (status, err) = api.get("/api/v1/notifications?limit=0", tok(&away)).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_error"))
    );
    worker.stop().await;
}

/// A push service for one subscription: answers 201 and hands over each
/// request's headers and body.
async fn push_service() -> (
    String,
    tokio::sync::mpsc::Receiver<(HashMap<String, String>, Vec<u8>)>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                let (head_end, headers) = loop {
                    let n = stream.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    data.extend_from_slice(&buf[..n]);
                    if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&data[..end]).to_string();
                        let headers: HashMap<String, String> = head
                            .lines()
                            .skip(1)
                            .filter_map(|l| l.split_once(':'))
                            .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
                            .collect();
                        break (end + 4, headers);
                    }
                };
                let length: usize = headers
                    .get("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                while data.len() < head_end + length {
                    let n = stream.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    data.extend_from_slice(&buf[..n]);
                }
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    )
                    .await;
                let _ = tx.send((headers, data[head_end..].to_vec())).await;
            });
        }
    });
    (format!("http://127.0.0.1:{port}/push/abc"), rx)
}

/// A P-256 key in PEM (openssl, from Debian's package) and the raw public
/// point of another one (a browser's `p256dh`).
fn keys() -> (std::path::PathBuf, String) {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let vapid = dir.join("vapid.pem");
    let ua = dir.join("ua.pem");
    for path in [&vapid, &ua] {
        let status = std::process::Command::new("openssl")
            .args([
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
            ])
            .arg(path)
            .status()
            .expect("openssl");
        assert!(status.success());
    }
    let der = std::process::Command::new("openssl")
        .args(["ec", "-pubout", "-outform", "DER", "-in"])
        .arg(&ua)
        .output()
        .expect("openssl")
        .stdout;
    let point = &der[der.len() - 65..];
    (vapid, URL_SAFE_NO_PAD.encode(point))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_members_get_a_web_push_and_other_platforms_are_logged() {
    let (vapid, p256dh) = keys();
    let app = TestApp::spawn_with(|env| {
        env.insert(
            "WEB_PUSH_VAPID_KEY_FILE".into(),
            vapid.display().to_string(),
        );
    })
    .await;
    let api = &app.api;
    let (sender, receiver, chat) = api.pair("pushsender", "pushreceiver").await;
    let (endpoint, mut pushes) = push_service().await;
    let subscription = json!({"endpoint": endpoint,
                              "keys": {"p256dh": p256dh, "auth": URL_SAFE_NO_PAD.encode([7u8; 16])}});
    let (status, web) = api
        .post(
            "/api/v1/devices",
            tok(&receiver),
            &json!({"platform": "web", "token": subscription.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{web}");
    assert_eq!(web["platform"], "web");
    let (status, fcm) = api
        .post(
            "/api/v1/devices",
            tok(&receiver),
            &json!({"platform": "fcm", "token": "fcm-token-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{fcm}");
    let (_, devices) = api.get("/api/v1/devices", tok(&receiver)).await;
    assert_eq!(devices.as_array().unwrap().len(), 2);

    let worker = app.start_worker();
    api.send_text(&sender, chat, "a push for you").await;
    let (headers, body) = tokio::time::timeout(WAIT, pushes.recv())
        .await
        .expect("a push within 10 s")
        .expect("the push service");
    assert_eq!(
        headers.get("content-encoding").map(String::as_str),
        Some("aes128gcm")
    );
    let authorization = headers.get("authorization").cloned().unwrap_or_default();
    assert!(authorization.starts_with("vapid t="), "{authorization}");
    assert!(authorization.contains(", k="), "{authorization}");
    assert!(headers.contains_key("ttl"), "{headers:?}");
    assert!(body.len() > 16, "an encrypted payload");
    assert!(
        !String::from_utf8_lossy(&body).contains("a push for you"),
        "the payload is encrypted"
    );
    // The notification row is there whatever the pushes did.
    wait_until("the row", WAIT, || async {
        notifications(&app, &receiver).await.len() == 1
    })
    .await;
    worker.stop().await;

    // Refusals.
    for (what, body) in [
        ("a platform", json!({"platform": "sms", "token": "x"})),
        (
            "a web token",
            json!({"platform": "web", "token": "not a subscription"}),
        ),
        ("an empty token", json!({"platform": "fcm", "token": ""})),
    ] {
        let (status, err) = api.post("/api/v1/devices", tok(&receiver), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {err}");
    }
    let (status, err) = api
        .delete(&format!("/api/v1/devices/{}", web["id"]), tok(&sender))
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("device_not_found"))
    );
    let (status, _) = api
        .delete(&format!("/api/v1/devices/{}", web["id"]), tok(&receiver))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, devices) = api.get("/api/v1/devices", tok(&receiver)).await;
    assert_eq!(devices.as_array().unwrap().len(), 1);
}
