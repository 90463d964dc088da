//! Seed 000's upload, `POST /rooms/{room_id}/upload` (`multipart/form-data`,
//! `files`): files stored through the native media path that the room's
//! members download and others may not, and the document's limits (10
//! files, images 10 MB, other files 50 MB, its extensions).

use std::collections::HashMap;

use parley_tests::{S3Server, TestApp, free_port, tok};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{D, P, WAIT, direct, join, sid, socket};

/// A `multipart/form-data` body of `files` (name, bytes) as `files`.
fn form(files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = format!("fm{}", uuid::Uuid::new_v4().simple());
    let mut body = Vec::new();
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; \
                 filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// An app on a port known before it starts (the local store's URLs lead
/// back to it), with `extra` settings.
async fn app_with(extra: HashMap<String, String>) -> TestApp {
    let port = free_port();
    TestApp::spawn_with(move |env: &mut HashMap<String, String>| {
        env.insert("PARLEY_BIND".into(), format!("127.0.0.1:{port}"));
        env.insert("PUBLIC_URL".into(), format!("http://127.0.0.1:{port}"));
        env.extend(extra);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_focus_mate_client_uploads_files_that_members_download() {
    uploads_are_stored_and_served(&app_with(HashMap::new()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_focus_mate_client_uploads_files_to_s3() {
    let s3 = S3Server::start().await;
    uploads_are_stored_and_served(&app_with(s3.env()).await).await;
}

async fn uploads_are_stored_and_served(app: &TestApp) {
    let api = &app.api;
    let a = api.register_and_login("fmupa").await;
    let b = api.register_and_login("fmupb").await;
    let c = api.register_and_login("fmupc").await;
    let room = direct(api, &a, json!(sid(&b))).await["room_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut b_ws = socket(api, &format!("{D}/ws"), &b).await;
    join(&mut b_ws, &room, &b).await;
    let upload = format!("{P}/rooms/{room}/upload");
    let photo: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    let pdf = b"%PDF-1.4 focus mate notes".to_vec();

    let (content_type, body) = form(&[("photo.JPG", &photo[..]), ("notes.pdf", &pdf[..])]);
    let (status, uploaded) = api.post_raw(&upload, tok(&a), &content_type, body).await;
    assert_eq!(status, StatusCode::OK, "{uploaded}");
    assert_eq!(uploaded["uploaded"], 2);
    let files = uploaded["files"].as_array().unwrap();
    for file in files {
        let path = file["path"].as_str().unwrap();
        assert!(path.starts_with("attachments/"), "{file}");
        assert!(file["url"].as_str().unwrap().starts_with('/'), "{file}");
    }
    // The room's members hear it and download it; others may not.
    let event = b_ws.expect_type("message", WAIT).await.unwrap();
    assert_eq!(event["message"]["message_id"], uploaded["message_id"]);
    assert_eq!(event["message"]["message_type"], "file");
    loop {
        let updated = b_ws.expect_type("message_updated", WAIT).await.unwrap();
        if updated["message"]["attachments"].as_array().map(Vec::len) == Some(2) {
            break;
        }
    }
    for (file, bytes) in files.iter().zip([&photo, &pdf]) {
        let url = format!("{}{}", api.base, file["url"].as_str().unwrap());
        let got = api
            .client
            .get(&url)
            .bearer_auth(&b.access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), StatusCode::OK);
        assert_eq!(&got.bytes().await.unwrap()[..], &bytes[..]);
        let outsider = api
            .client
            .get(&url)
            .bearer_auth(&c.access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(outsider.status(), StatusCode::FORBIDDEN);
    }
    let (_, page) = api
        .get(&format!("{D}/rooms/{room}/messages"), tok(&b))
        .await;
    let names: Vec<&Value> = page["messages"][0]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["file_name"])
        .collect();
    assert_eq!(names, [&json!("photo.JPG"), &json!("notes.pdf")], "{page}");

    // Images only: an image message. A file may be larger than an image.
    let (content_type, body) = form(&[("a.png", &photo[..]), ("b.webp", &photo[..])]);
    let (status, images) = api.post_raw(&upload, tok(&a), &content_type, body).await;
    assert_eq!(status, StatusCode::OK, "{images}");
    let event = b_ws.expect_type("message", WAIT).await.unwrap();
    assert_eq!(event["message"]["message_type"], "image");
    // The document's office types are files too.
    let (content_type, body) = form(&[("plan.docx", &pdf[..]), ("sheet.xlsx", &pdf[..])]);
    let (status, office) = api.post_raw(&upload, tok(&a), &content_type, body).await;
    assert_eq!(
        (status, office["uploaded"].clone()),
        (StatusCode::OK, json!(2)),
        "{office}"
    );
    let big_pdf = vec![b'x'; 11 * 1024 * 1024];
    let (content_type, body) = form(&[("big.pdf", &big_pdf[..])]);
    let (status, big) = api.post_raw(&upload, tok(&a), &content_type, body).await;
    assert_eq!(status, StatusCode::OK, "{big}");

    // Refusals: too many, too large, a type not allowed, not multipart,
    // an outsider.
    let eleven: Vec<(&str, &[u8])> = (0..11).map(|_| ("n.pdf", &pdf[..])).collect();
    let big_image = vec![0u8; 10 * 1024 * 1024 + 1];
    let refused = [
        form(&eleven),
        form(&[("big.png", &big_image[..])]),
        form(&[("virus.exe", &pdf[..])]),
        form(&[("noextension", &pdf[..])]),
        form(&[]),
    ];
    for (content_type, body) in refused {
        let (status, error) = api.post_raw(&upload, tok(&a), &content_type, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
        assert!(error["detail"].is_string(), "{error}");
    }
    let (status, _) = api.post(&upload, tok(&a), &json!({"files": []})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (content_type, body) = form(&[("photo.jpg", &photo[..])]);
    let (status, error) = api.post_raw(&upload, tok(&c), &content_type, body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert_eq!(error["detail"], "Not a member of this room");
    // Nothing of the refusals reached the room: four uploads, four messages.
    let (_, page) = api
        .get(&format!("{D}/rooms/{room}/messages"), tok(&a))
        .await;
    assert_eq!(page["total"], 4, "{page}");
}
