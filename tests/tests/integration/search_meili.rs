//! Search on Meilisearch (issue 10): the worker keeps the index in step
//! with the log, searches stay within what the caller may read, an outage
//! answers 503 `search_unavailable` for searches only, and the index
//! catches up afterwards. Against [`FakeMeili`] (no registry here ships a
//! Meilisearch server; see its doc for what it does and does not stand
//! for), and against a real server when `MEILISEARCH_URL` is set.

use std::time::Duration;

use parley_tests::{FakeMeili, TestApp, tok, wait_until};
use reqwest::StatusCode;

use crate::search::{found, korean_and_visibility_cases};

/// An app searching with Meilisearch at `url` (index `index`), indexed
/// every 50 ms.
async fn app_on(url: &str, index: &str) -> TestApp {
    TestApp::spawn_with(|env| {
        env.insert("MEILISEARCH_URL".into(), url.to_owned());
        env.insert("MEILISEARCH_INDEX".into(), index.to_owned());
        env.insert("SEARCH_INDEX_INTERVAL_MS".into(), "50".into());
        env.insert("SEARCH_TIMEOUT_MS".into(), "2000".into());
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_cases_pass_on_meilisearch() {
    let meili = FakeMeili::start().await;
    let app = app_on(&meili.url, "parley_messages").await;
    let _worker = app.start_worker();
    korean_and_visibility_cases(&app).await;
    assert!(meili.searches() > 0, "the searches went to Meilisearch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Meilisearch server at MEILISEARCH_URL: no registry here ships one; build github.com/meilisearch/meilisearch beside the project, run it, and scripts/test runs this"]
async fn the_same_cases_pass_on_a_real_meilisearch() {
    let url = std::env::var("MEILISEARCH_URL").expect("MEILISEARCH_URL");
    let index = format!("parley_test_{}", uuid::Uuid::new_v4().simple());
    let app = app_on(&url, &index).await;
    let _worker = app.start_worker();
    korean_and_visibility_cases(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_answers_503_sends_go_on_and_the_index_catches_up() {
    let meili = FakeMeili::start().await;
    let app = app_on(&meili.url, "parley_messages").await;
    let _worker = app.start_worker();
    let api = &app.api;
    let (a, b, chat) = api.pair("outagea", "outageb").await;
    let kept = api.send_text(&a, chat, "회의 자료 공유합니다").await;
    let doomed = api.send_text(&a, chat, "지울 메시지입니다").await;
    wait_until("indexed", Duration::from_secs(20), || async {
        found(&app, &b, "자료", None).await == ["회의 자료 공유합니다"]
    })
    .await;

    meili.set_down(true);
    for path in [
        "/api/v1/messages/search?query=abc",
        "/api/v1/search?query=abc",
    ] {
        let (status, err) = api.get(path, tok(&b)).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("search_unavailable")),
            "{path}: {err}"
        );
    }
    // Everything but search works meanwhile.
    let during = api.send_text(&b, chat, "장애 중에 보낸 메시지").await;
    let (status, _) = api
        .put(
            &format!("/api/v1/messages/{}", kept["id"]),
            tok(&a),
            &serde_json::json!({"text": "수정된 발표 자료"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api
        .delete(
            &format!("/api/v1/messages/{}?for_all=true", doomed["id"]),
            tok(&a),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    meili.set_down(false);
    wait_until("caught up", Duration::from_secs(20), || async {
        found(&app, &a, "장애", None).await == ["장애 중에 보낸 메시지"]
    })
    .await;
    wait_until(
        "the edit and the delete indexed",
        Duration::from_secs(20),
        || async {
            meili.doc(doomed["id"].as_i64().unwrap()).is_none()
                && meili
                    .doc(kept["id"].as_i64().unwrap())
                    .map(|d| d["text"].clone())
                    == Some("수정된 발표 자료".into())
        },
    )
    .await;
    assert_eq!(found(&app, &a, "발표", None).await, ["수정된 발표 자료"]);
    assert_eq!(found(&app, &a, "회의", None).await, Vec::<String>::new());
    assert!(meili.doc(during["id"].as_i64().unwrap()).is_some());
}

/// `parley-admin reindex` (the real binary) rebuilds the index from
/// PostgreSQL with no worker running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindex_rebuilds_the_meilisearch_index() {
    let meili = FakeMeili::start().await;
    let app = app_on(&meili.url, "parley_messages").await;
    let (a, _b, chat) = app.api.pair("rebuilda", "rebuildb").await;
    let sent = app.api.send_text(&a, chat, "재색인 테스트 문장").await;
    assert!(meili.doc(sent["id"].as_i64().unwrap()).is_none());
    assert_eq!(found(&app, &a, "재색인", None).await, Vec::<String>::new());
    app.run_admin_command("reindex").await;
    assert_eq!(
        found(&app, &a, "재색인", None).await,
        ["재색인 테스트 문장"]
    );
}
