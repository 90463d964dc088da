//! Media (seed 004 §9), end to end with real bytes: an upload URL, a `PUT`
//! of the file to the store, a media message, the attachment, the members'
//! `message_updated`, the chat's file list, and a download through the
//! members-only redirect. Once on the local default store (HMAC-signed URLs
//! of the API) and once on a real S3 server that verifies SigV4 signatures
//! (`s3s-fs`, which `scripts/test` installs), with the refusals: types,
//! sizes, someone else's message or upload, a file not uploaded, tampered
//! and expired URLs, outsiders.

use std::collections::HashMap;
use std::time::Duration;

use parley_tests::{S3Server, TestApp, TestUser, assert_refused as refused, free_port, tok};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);

/// An app on a port known before it starts, so that `PUBLIC_URL` (the base
/// of the local store's URLs) is right.
async fn app_with(extra: HashMap<String, String>) -> TestApp {
    let port = free_port();
    TestApp::spawn_with(move |env| {
        env.insert("PARLEY_BIND".into(), format!("127.0.0.1:{port}"));
        env.insert("PUBLIC_URL".into(), format!("http://127.0.0.1:{port}"));
        env.extend(extra);
    })
    .await
}

/// Asks for an upload URL and `PUT`s `bytes` there; returns the answer.
async fn upload(
    app: &TestApp,
    user: &TestUser,
    name: &str,
    file_type: &str,
    bytes: &[u8],
) -> Value {
    let (status, url) = app
        .api
        .post(
            "/api/v1/media/upload-url",
            tok(user),
            &json!({"file_name": name, "file_type": file_type, "file_size": bytes.len()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{url}");
    let mut put = app.api.client.put(url["upload_url"].as_str().unwrap());
    for (name, value) in url["required_headers"].as_object().unwrap() {
        put = put.header(name, value.as_str().unwrap());
    }
    let response = put.body(bytes.to_vec()).send().await.unwrap();
    assert!(response.status().is_success(), "PUT: {}", response.status());
    url
}

/// Sends a media message of `message_type` with a caption.
async fn media_message(app: &TestApp, user: &TestUser, chat: i64, message_type: &str) -> Value {
    let (status, message) = app
        .api
        .post(
            "/api/v1/messages",
            tok(user),
            &json!({"chat_id": chat, "type": message_type, "text": "",
                    "client_message_id": uuid::Uuid::new_v4().to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    message
}

async fn attach(app: &TestApp, user: &TestUser, body: Value) -> (StatusCode, Value) {
    app.api
        .post("/api/v1/media/attachments", tok(user), &body)
        .await
}

/// Downloads attachment `file_url` as `user` (following the redirect).
async fn download(app: &TestApp, user: &TestUser, file_url: &str) -> (StatusCode, Vec<u8>) {
    let response = app
        .api
        .client
        .get(format!("{}{file_url}", app.api.base))
        .bearer_auth(&user.access_token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.bytes().await.unwrap().to_vec())
}

/// The whole flow on whichever store `app` has.
async fn files_go_up_and_come_down(app: &TestApp) {
    let api = &app.api;
    let (alice, bob, chat) = api.pair("mediaalice", "mediabob").await;
    let outsider = api.register_and_login("mediaoutsider").await;
    let photo: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    let url = upload(app, &alice, "cat.jpg", "image/jpeg", &photo).await;
    assert_eq!(url["required_headers"]["Content-Type"], "image/jpeg");
    assert!(url["expires_in"].as_u64().unwrap() > 0);
    let message = media_message(app, &alice, chat, "image").await;
    let mut bobs_socket = api.connect_ws(&bob.access_token).await;

    let body = json!({"message_id": message["id"], "file_url": url["file_url"],
                      "file_type": "image/jpeg", "file_size": photo.len()});
    let (status, attachment) = attach(app, &alice, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{attachment}");
    assert_eq!(attachment["message_id"], message["id"]);
    assert_eq!(attachment["file_size"], photo.len());
    let frame = bobs_socket
        .expect_type("message_updated", WAIT)
        .await
        .unwrap();
    assert_eq!(frame["message"]["attachments"][0]["id"], attachment["id"]);
    assert_eq!(frame["message"]["attachments"][0]["file_name"], "cat.jpg");
    refused(
        "attaching it twice",
        attach(app, &alice, body).await,
        StatusCode::CONFLICT,
        "already_attached",
    );

    // Bob sees it in the message list and the chat's files, and downloads it.
    let (_, page) = api
        .get(&format!("/api/v1/messages/{chat}"), tok(&bob))
        .await;
    assert_eq!(page[0]["attachments"][0]["file_type"], "image/jpeg");
    assert_eq!(page[0]["attachments"][0]["file_name"], "cat.jpg");
    let (status, files) = api
        .get(
            &format!("/api/v1/media/chats/{chat}/attachments"),
            tok(&bob),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{files}");
    assert_eq!(files[0]["message_type"], "image");
    assert_eq!(files[0]["sender_id"], alice.id);
    let file_url = attachment["file_url"].as_str().unwrap();
    let (status, bytes) = download(app, &bob, file_url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, photo, "the same bytes come back");

    // Outsiders get neither the list nor the file.
    refused(
        "an outsider's list",
        api.get(
            &format!("/api/v1/media/chats/{chat}/attachments"),
            tok(&outsider),
        )
        .await,
        StatusCode::FORBIDDEN,
        "not_a_member",
    );
    let (status, _) = download(app, &outsider, file_url).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A voice note with its waveform; forwarding shares the file.
    let voice: Vec<u8> = vec![1; 800];
    let url = upload(app, &bob, "note.ogg", "audio/ogg", &voice).await;
    let note = media_message(app, &bob, chat, "voice").await;
    let (status, attached) = attach(
        app,
        &bob,
        json!({"message_id": note["id"], "file_url": url["file_url"], "file_type": "audio/ogg",
               "file_size": voice.len(), "waveform_points": [4, 7, 10, 9, 6]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{attached}");
    let group = api.group(&bob, &[&outsider]).await;
    let (status, copy) = api
        .post(
            &format!("/api/v1/messages/{}/forward", note["id"]),
            tok(&bob),
            &json!({"target_chat_id": group}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{copy}");
    assert_eq!(copy["type"], "voice");
    assert_eq!(copy["attachment_waveform"], json!([4, 7, 10, 9, 6]));
    assert_eq!(copy["attachments"][0]["file_name"], "note.ogg");
    let (status, bytes) = download(
        app,
        &outsider,
        copy["attachments"][0]["file_url"].as_str().unwrap(),
    )
    .await;
    assert_eq!((status, bytes), (StatusCode::OK, voice));
}

/// Refusals that change nothing.
async fn bad_uploads_and_attachments_are_refused(app: &TestApp) {
    let api = &app.api;
    let (alice, bob, chat) = api.pair("refusealice", "refusebob").await;
    for (what, body, field) in [
        (
            "a refused type",
            json!({"file_name": "x.exe", "file_type": "application/x-msdownload", "file_size": 10}),
            "file_type",
        ),
        (
            "too big",
            json!({"file_name": "x.jpg", "file_type": "image/jpeg", "file_size": 26_214_401}),
            "file_size",
        ),
        (
            "empty",
            json!({"file_name": "x.jpg", "file_type": "image/jpeg", "file_size": 0}),
            "file_size",
        ),
        (
            "no name",
            json!({"file_name": "", "file_type": "image/jpeg", "file_size": 10}),
            "file_name",
        ),
    ] {
        let (status, err) = api
            .post("/api/v1/media/upload-url", tok(&alice), &body)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {err}");
        assert_eq!(err["field"], field, "{what}");
    }
    let bytes = vec![9u8; 300];
    let url = upload(app, &alice, "a.png", "image/png", &bytes).await;
    let mine = media_message(app, &alice, chat, "image").await;
    let bobs = media_message(app, &bob, chat, "image").await;
    let text = api.send_text(&alice, chat, "just words").await;
    let body = |message: &Value, size: usize, file_type: &str| json!({"message_id": message["id"], "file_url": url["file_url"], "file_type": file_type, "file_size": size});
    refused(
        "someone else's message",
        attach(app, &alice, body(&bobs, 300, "image/png")).await,
        StatusCode::FORBIDDEN,
        "not_message_sender",
    );
    refused(
        "someone else's upload",
        attach(app, &bob, body(&bobs, 300, "image/png")).await,
        StatusCode::NOT_FOUND,
        "upload_not_found",
    );
    refused(
        "another size",
        attach(app, &alice, body(&mine, 301, "image/png")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_error",
    );
    refused(
        "another type",
        attach(app, &alice, body(&mine, 300, "image/jpeg")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_error",
    );
    refused(
        "a text message",
        attach(app, &alice, body(&text, 300, "image/png")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_error",
    );
    refused(
        "a foreign URL",
        attach(app, &alice, json!({"message_id": mine["id"], "file_url": "https://elsewhere.example/x.png", "file_type": "image/png", "file_size": 300})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_error",
    );
    refused(
        "a waveform on an image",
        attach(app, &alice, json!({"message_id": mine["id"], "file_url": url["file_url"], "file_type": "image/png", "file_size": 300, "waveform_points": [1]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_error",
    );
    // Asked for, never uploaded.
    let (_, never) = api
        .post(
            "/api/v1/media/upload-url",
            tok(&alice),
            &json!({"file_name": "b.png", "file_type": "image/png", "file_size": 10}),
        )
        .await;
    refused(
        "a file not uploaded",
        attach(app, &alice, json!({"message_id": mine["id"], "file_url": never["file_url"], "file_type": "image/png", "file_size": 10})).await,
        StatusCode::CONFLICT,
        "upload_missing",
    );
    // None of it attached anything.
    let (_, page) = api
        .get(&format!("/api/v1/messages/{chat}"), tok(&alice))
        .await;
    assert!(
        page.as_array()
            .unwrap()
            .iter()
            .all(|m| m["attachments"] == json!([])),
        "{page}"
    );
    // The upload still attaches where it fits.
    let (status, _) = attach(app, &alice, body(&mine, 300, "image/png")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_up_and_come_down_through_the_local_store() {
    let app = app_with(HashMap::new()).await;
    files_go_up_and_come_down(&app).await;
    bad_uploads_and_attachments_are_refused(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_up_and_come_down_through_s3() {
    let s3 = S3Server::start().await;
    let app = app_with(s3.env()).await;
    files_go_up_and_come_down(&app).await;
    bad_uploads_and_attachments_are_refused(&app).await;
}

/// A URL with one changed byte, or of another size or type, is refused by
/// the store: the local one and S3 alike.
async fn tampered_urls_are_refused(app: &TestApp) {
    let alice = app.api.register_and_login("tamperer").await;
    let (_, url) = app
        .api
        .post(
            "/api/v1/media/upload-url",
            tok(&alice),
            &json!({"file_name": "a.txt", "file_type": "text/plain", "file_size": 5}),
        )
        .await;
    let upload_url = url["upload_url"].as_str().unwrap();
    let put = |target: String, content_type: &'static str, body: &'static [u8]| {
        let client = app.api.client.clone();
        async move {
            client
                .put(target)
                .header("Content-Type", content_type)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // The key changed: another object than the one signed.
    let other_key = upload_url.replacen("/uploads/", "/uploads/x", 1);
    assert_eq!(
        put(other_key, "text/plain", b"hello").await,
        StatusCode::FORBIDDEN
    );
    assert!(
        !put(upload_url.to_owned(), "text/html", b"hello")
            .await
            .is_success()
    );
    assert!(
        !put(upload_url.to_owned(), "text/plain", b"hello!")
            .await
            .is_success()
    );
    assert!(
        put(upload_url.to_owned(), "text/plain", b"hello")
            .await
            .is_success()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_upload_urls_are_refused_locally_and_by_s3() {
    let app = app_with(HashMap::new()).await;
    tampered_urls_are_refused(&app).await;
    let s3 = S3Server::start().await;
    let app = app_with(s3.env()).await;
    tampered_urls_are_refused(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_urls_expire() {
    let app = app_with(HashMap::from([("MEDIA_URL_TTL_SECS".into(), "1".into())])).await;
    let alice = app.api.register_and_login("expirer").await;
    let (_, url) = app
        .api
        .post(
            "/api/v1/media/upload-url",
            tok(&alice),
            &json!({"file_name": "a.txt", "file_type": "text/plain", "file_size": 5}),
        )
        .await;
    // Expiry is about time itself: let the URL's second pass.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = app
        .api
        .client
        .put(url["upload_url"].as_str().unwrap())
        .header("Content-Type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let err: Value = response.json().await.unwrap();
    assert_eq!(err["code"], "url_expired");
}
