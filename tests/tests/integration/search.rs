//! Message search on PostgreSQL (seed 004 §8, issue 10): Korean found
//! inside words, English by folded words, and only what the caller may
//! read now.

use std::time::Duration;

use parley_tests::{TestApp, TestUser, tok, wait_until};
use reqwest::StatusCode;
use serde_json::Value;

/// The texts `user` finds for `query` (optionally in one chat).
pub(crate) async fn found(
    app: &TestApp,
    user: &TestUser,
    query: &str,
    chat: Option<i64>,
) -> Vec<String> {
    let mut url = reqwest::Url::parse(&format!("{}/api/v1/messages/search", app.api.base)).unwrap();
    url.query_pairs_mut().append_pair("query", query);
    if let Some(chat) = chat {
        url.query_pairs_mut()
            .append_pair("chat_id", &chat.to_string());
    }
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    let (status, body) = app.api.get(&path, tok(user)).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body.as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn korean_is_found_inside_words_and_only_where_the_caller_may_read() {
    let app = TestApp::spawn().await;
    korean_and_visibility_cases(&app).await;
}

/// Waits until `user` finds exactly `expected` for `query`: at once on
/// PostgreSQL, once the worker has indexed on Meilisearch.
async fn settled(app: &TestApp, user: &TestUser, query: &str, expected: &[&str]) {
    wait_until(
        &format!("{query} finds {expected:?}"),
        Duration::from_secs(20),
        || async { found(app, user, query, None).await == expected },
    )
    .await;
}

/// The engine-independent cases (issue 10, "Done when" and item 4), run
/// against every engine there is: Korean found inside words, English by
/// folded words, and only what the caller may read now. Negative checks
/// come after a positive one that shows the index has caught up.
pub(crate) async fn korean_and_visibility_cases(app: &TestApp) {
    let api = &app.api;
    let (a, b, chat) = api.pair("searcha", "searchb").await;
    let outsider = api.register_and_login("searchout").await;
    let meeting = "안녕하세요 오늘 회의는 세시에 시작합니다";
    let sent = api.send_text(&a, chat, meeting).await;
    api.send_text(&b, chat, "학교에 갔어요").await;
    api.send_text(&a, chat, "Rust 세미나 일정").await;
    api.send_text(&b, chat, "회사에서 의논합니다").await;
    api.send_text(&a, chat, "The Café opens at nine 🎉").await;
    settled(app, &b, "CAFE", &["The Café opens at nine 🎉"]).await;

    for query in ["회의", "회의는", "세시", "안녕"] {
        assert_eq!(found(app, &b, query, None).await, [meeting], "{query}");
    }
    assert_eq!(found(app, &b, "학교", None).await, ["학교에 갔어요"]);
    assert_eq!(found(app, &b, "rust", None).await, ["Rust 세미나 일정"]);
    assert_eq!(found(app, &b, "세미나", None).await, ["Rust 세미나 일정"]);
    assert_eq!(
        found(app, &b, "cafe", Some(chat)).await,
        ["The Café opens at nine 🎉"]
    );
    assert_eq!(found(app, &b, "회의실", None).await, Vec::<String>::new());
    assert_eq!(found(app, &b, "회", None).await, Vec::<String>::new());
    let (_, hits) = api
        .get("/api/v1/messages/search?query=%ED%9A%8C%EC%9D%98", tok(&b))
        .await;
    assert_eq!(hits[0]["id"], sent["id"]);
    assert_eq!(
        hits[0]["highlight"],
        Value::from("안녕하세요 오늘 <em>회의</em>는 세시에 시작합니다")
    );

    // Only what the caller may read.
    assert_eq!(
        found(app, &outsider, "회의", None).await,
        Vec::<String>::new()
    );
    let (status, err) = api
        .get(
            &format!("/api/v1/messages/search?query=abc&chat_id={chat}"),
            tok(&outsider),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_a_member"))
    );
    let (status, _) = api
        .delete(&format!("/api/v1/messages/{}", sent["id"]), tok(&b))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        found(app, &b, "회의", None).await,
        Vec::<String>::new(),
        "hidden for b"
    );
    assert_eq!(found(app, &a, "회의", None).await, [meeting], "not for a");

    // An edit is searched by its new text; a delete for all is gone.
    let (status, _) = api
        .put(
            &format!("/api/v1/messages/{}", sent["id"]),
            tok(&a),
            &serde_json::json!({"text": "점심 먹었어요"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    settled(app, &a, "점심", &["점심 먹었어요"]).await;
    assert_eq!(found(app, &a, "회의", None).await, Vec::<String>::new());
    let (status, _) = api
        .delete(
            &format!("/api/v1/messages/{}?for_all=true", sent["id"]),
            tok(&a),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(found(app, &a, "점심", None).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_query_finds_users_chats_and_messages() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let me = api.register_and_login("globalme").await;
    let seminar = api.register_and_login("seminarist").await;
    let (status, chat) = api
        .post(
            "/api/v1/chats",
            tok(&me),
            &serde_json::json!({"type": "group", "title": "세미나 준비", "member_ids": [seminar.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{chat}");
    let chat_id = chat["id"].as_i64().unwrap();
    api.send_text(&seminar, chat_id, "내일 세미나는 열시입니다")
        .await;

    let (status, found) = api
        .get("/api/v1/search?query=%EC%84%B8%EB%AF%B8%EB%82%98", tok(&me))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["chats"][0]["id"], chat_id, "{found}");
    assert_eq!(found["messages"][0]["text"], "내일 세미나는 열시입니다");
    assert_eq!(found["users"], serde_json::json!([]));
    let (_, found) = api.get("/api/v1/search?query=seminarist", tok(&me)).await;
    assert_eq!(found["users"][0]["id"], seminar.id, "{found}");
    let (_, nothing) = api.get("/api/v1/search?query=s", tok(&me)).await;
    assert_eq!(
        nothing,
        serde_json::json!({"users": [], "chats": [], "messages": []})
    );
    let (status, err) = api
        .get("/api/v1/search?query=abc&users_limit=0", tok(&me))
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_error"))
    );
}

/// Messages written before search (no tokens) are found once
/// `parley-admin reindex` (the real binary) has run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindex_makes_older_messages_searchable() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    let (a, _b, chat) = app.api.pair("reindexa", "reindexb").await;
    let old = app.api.send_text(&a, chat, "예전 회의록입니다").await;
    let mut conn = app.db.connect().await.unwrap();
    diesel::sql_query(format!(
        "UPDATE messages SET search_tokens = '{{}}' WHERE id = {}",
        old["id"]
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(found(&app, &a, "회의록", None).await, Vec::<String>::new());
    app.run_admin_command("reindex").await;
    assert_eq!(found(&app, &a, "회의록", None).await, ["예전 회의록입니다"]);
}

/// `path?query=…` with `query` percent-encoded.
fn with_query(path: &str, query: &str) -> String {
    let url =
        reqwest::Url::parse_with_params(&format!("http://x{path}"), [("query", query)]).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap())
}

/// The ids in a JSON array of users or chats.
fn ids(found: &Value) -> Vec<i64> {
    found
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["id"].as_i64())
        .collect()
}

/// Issue 10, item 5: users (name, username) and chats (title, handle) are
/// found with the message tokenizer: Korean inside a run, other words by
/// their start, accents folded; renames are found at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_chats_are_found_with_the_same_tokenizer() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let me = api.register_and_login("namesme").await;
    let kim = api.register_and_login("kimminsu").await;
    let jose = api.register_and_login("josefina").await;
    for (user, name) in [(&kim, "김민수"), (&jose, "José Núñez")] {
        let (status, body) = api
            .put(
                "/api/v1/users/profile",
                tok(user),
                &serde_json::json!({"name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let users = |q: &str| with_query("/api/v1/users/search", q);
    for (query, expected) in [
        ("민수", vec![kim.id]),
        ("김민", vec![kim.id]),
        ("jose", vec![jose.id]),
        ("NUNEZ", vec![jose.id]),
        ("jos nú", vec![jose.id]),
        ("민수님", vec![]),
        ("수", vec![]),
    ] {
        let (status, found) = api.get(&users(query), tok(&me)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ids(&found), expected, "{query}: {found}");
    }

    let private = api.private_chat(&me, &kim).await;
    let (status, group) = api
        .post(
            "/api/v1/chats",
            tok(&me),
            &serde_json::json!({"type": "group", "title": "주간 회의방"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{group}");
    let group_id = group["id"].as_i64().unwrap();
    let chats = |q: &str| with_query("/api/v1/chats", q);
    let (_, found) = api.get(&chats("회의"), tok(&me)).await;
    assert_eq!(ids(&found), [group_id], "{found}");
    let (_, found) = api.get(&chats("민수"), tok(&me)).await;
    assert_eq!(ids(&found), [private], "the counterpart's name: {found}");
    let (status, _) = api
        .patch_json(
            &format!("/api/v1/chats/{group_id}/title"),
            tok(&me),
            &serde_json::json!({"title": "월간 보고"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, found) = api.get(&chats("회의"), tok(&me)).await;
    assert_eq!(ids(&found), Vec::<i64>::new(), "the old title: {found}");
    let (_, found) = api.get(&chats("보고"), tok(&me)).await;
    assert_eq!(ids(&found), [group_id], "{found}");
    let (_, found) = api.get(&chats("월"), tok(&me)).await;
    assert_eq!(ids(&found), Vec::<i64>::new(), "one character: {found}");

    let (status, channel) = api
        .post(
            "/api/v1/chats",
            tok(&kim),
            &serde_json::json!({"type": "channel", "title": "한국 소식", "handle": "koreanews", "is_public": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{channel}");
    for query in ["소식", "@korea", "한국"] {
        let (_, found) = api
            .get(&with_query("/api/v1/chats/discover", query), tok(&me))
            .await;
        assert_eq!(
            ids(&found),
            [channel["id"].as_i64().unwrap()],
            "{query}: {found}"
        );
    }
}

/// Users and chats from before name search (the migration's plain word
/// split, or no tokens at all) get the tokenizer's tokens from `parley-api
/// reindex`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindex_writes_the_tokens_of_names() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    let me = app.api.register_and_login("oldnamesme").await;
    let old = app.api.register_and_login("oldnamesb").await;
    let (status, _) = app
        .api
        .put(
            "/api/v1/users/profile",
            tok(&old),
            &serde_json::json!({"name": "이영희"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut conn = app.db.connect().await.unwrap();
    diesel::sql_query(format!(
        "UPDATE users SET search_tokens = '{{}}' WHERE id = {}",
        old.id
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let path = "/api/v1/users/search?query=%EC%98%81%ED%9D%AC"; // 영희
    let (_, found) = app.api.get(path, tok(&me)).await;
    assert_eq!(ids(&found), Vec::<i64>::new());
    app.run_admin_command("reindex").await;
    let (_, found) = app.api.get(path, tok(&me)).await;
    assert_eq!(ids(&found), [old.id], "{found}");
}
