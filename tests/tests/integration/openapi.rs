//! The OpenAPI document and its UI, as a client author meets them: the
//! document a running server answers validates as OpenAPI 3.1 (checked by
//! `openapi-spec-validator`, the reference validator, which `scripts/test`
//! installs from PyPI), and `/docs` renders every operation in a real
//! browser (Debian's `chromium`, headless), with nothing fetched from
//! another host. That every route is in the document, and that the
//! document changes only with its snapshot, is checked next to the code
//! (`api/src/openapi.rs`).

use std::path::PathBuf;
use std::time::Duration;

use parley_tests::TestApp;
use reqwest::StatusCode;

/// A tool the test needs: `$var` when set, else `name` on the `PATH`.
fn tool(var: &str, name: &str) -> PathBuf {
    if let Ok(path) = std::env::var(var) {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| {
            panic!("{name} is needed for this test: run scripts/test (it installs it) or set {var}")
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_validates_as_openapi_3_1() {
    let app = TestApp::spawn().await;
    let (status, document) = app.api.get("/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        document["openapi"]
    );
    assert!(document["paths"]["/api/v1/chats/{chat_id}"]["delete"].is_object());
    let file = std::env::temp_dir().join(format!("parley-openapi-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec_pretty(&document).unwrap()).unwrap();
    let validator = tool("PARLEY_OPENAPI_VALIDATOR", "openapi-spec-validator");
    let output = tokio::process::Command::new(&validator)
        .arg(&file)
        .output()
        .await
        .unwrap_or_else(|err| panic!("running {}: {err}", validator.display()));
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.success(),
        "openapi-spec-validator refused the document:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_render_every_operation_in_chromium_from_this_server_alone() {
    let app = TestApp::spawn().await;
    let base = app.api.base.clone();
    // `/docs` leads to the UI too.
    let bare = reqwest::get(format!("{base}/docs")).await.unwrap();
    assert_eq!(bare.status(), StatusCode::OK);
    assert!(bare.url().path().starts_with("/docs/"), "{}", bare.url());
    let page = reqwest::get(format!("{base}/docs/")).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    for script in html.split("src=\"").skip(1) {
        let src = script.split('"').next().unwrap_or_default();
        assert!(!src.contains("://"), "/docs loads {src} from another host");
    }

    let chromium = tool("PARLEY_CHROMIUM", "chromium");
    let profile = tempdir();
    let run = tokio::process::Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--virtual-time-budget=20000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("{base}/docs/"))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("chromium finished within 90 s")
        .unwrap_or_else(|err| panic!("running {}: {err}", chromium.display()));
    let _ = std::fs::remove_dir_all(&profile);
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        dom.contains("swagger-ui"),
        "no Swagger UI in the DOM:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Every operation of the document is on the rendered page.
    let (_, document) = app.api.get("/openapi.json", None).await;
    let paths = document["paths"].as_object().unwrap();
    let mut missing = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let rendered = dom.contains(&format!("data-path=\"{path}\""))
                && dom.contains(&format!("opblock-{method}"));
            if !rendered {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(missing.is_empty(), "not rendered: {missing:?}");
    assert!(dom.contains("Parley"), "the title is not rendered");
}

/// A fresh, empty directory for the browser's profile.
fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "parley-chromium-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
