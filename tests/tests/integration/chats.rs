//! `/api/v1/chats` (seed 004 §7): private get-or-create, groups, the list
//! with unread counts, the detail with members, and who may see what.

use parley_tests::TestApp;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_chat_is_get_or_create_per_pair() {
    let app = TestApp::spawn().await;
    let a = app.api.register_and_login("amy").await;
    let b = app.api.register_and_login("ben").await;
    let body = json!({"type": "private", "member_ids": [b.id]});
    let (status, first) = app
        .api
        .post("/api/v1/chats", Some(&a.access_token), &body)
        .await;
    // Seed 004 §7: 200 whether the chat was created or already there.
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["type"], "private");
    assert_eq!(first["display_title"], "ben");
    assert_eq!(first["counterpart_user_id"], b.id);
    assert_eq!(first["members_count"], 2);
    assert_eq!(first["public_id"].as_str().unwrap().len(), 24);

    // Again, and from the other side: the same chat.
    let (status, again) = app
        .api
        .post("/api/v1/chats", Some(&a.access_token), &body)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], first["id"]);
    let (status, other_side) = app
        .api
        .post(
            "/api/v1/chats",
            Some(&b.access_token),
            &json!({"type": "private", "member_ids": [a.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(other_side["id"], first["id"]);
    assert_eq!(other_side["display_title"], "amy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_private_creates_make_one_chat() {
    let app = TestApp::spawn().await;
    let a = app.api.register_and_login("ann").await;
    let b = app.api.register_and_login("bill").await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let api = app.api.clone();
        let (me, other) = if i % 2 == 0 {
            (a.clone(), b.id)
        } else {
            (b.clone(), a.id)
        };
        tasks.push(tokio::spawn(async move {
            api.post(
                "/api/v1/chats",
                Some(&me.access_token),
                &json!({"type": "private", "member_ids": [other]}),
            )
            .await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert!(status.is_success(), "{status} {body}");
        ids.insert(body["id"].as_i64().unwrap());
    }
    assert_eq!(ids.len(), 1, "one chat for the pair: {ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_chat_refusals() {
    let app = TestApp::spawn().await;
    let a = app.api.register_and_login("cat").await;
    let b = app.api.register_and_login("dan").await;
    let token = Some(a.access_token.as_str());
    let cases = [
        (
            json!({"type": "private", "member_ids": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        ),
        (
            json!({"type": "private", "member_ids": [b.id, 999]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        ),
        (
            json!({"type": "private", "member_ids": [a.id]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        ),
        (
            json!({"type": "private", "member_ids": [b.id], "is_public": true}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        ),
        (
            json!({"type": "private", "member_ids": [424242]}),
            StatusCode::NOT_FOUND,
            "user_not_found",
        ),
        (
            json!({"type": "secret", "member_ids": [b.id]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        ),
        (
            json!({"member_ids": [b.id]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        ),
    ];
    for (body, want_status, want_code) in cases {
        let (status, err) = app.api.post("/api/v1/chats", token, &body).await;
        assert_eq!(status, want_status, "{body} -> {err}");
        assert_eq!(err["code"], want_code, "{body} -> {err}");
    }
    let (_, list) = app.api.get("/api/v1/chats", token).await;
    assert_eq!(list, json!([]), "refused requests wrote nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_creation_and_detail() {
    let app = TestApp::spawn().await;
    let owner = app.api.register_and_login("olive").await;
    let m1 = app.api.register_and_login("mike").await;
    let m2 = app.api.register_and_login("nora").await;
    let (status, err) = app
        .api
        .post(
            "/api/v1/chats",
            Some(&owner.access_token),
            &json!({"type": "group", "member_ids": [m1.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "title");

    let (status, err) = app
        .api
        .post(
            "/api/v1/chats",
            Some(&owner.access_token),
            &json!({"type": "group", "title": "Team", "member_ids": [m1.id, 777777]}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["code"], "user_not_found");

    let (status, chat) = app
        .api
        .post(
            "/api/v1/chats",
            Some(&owner.access_token),
            &json!({"type": "group", "title": "  Team  ", "member_ids": [m1.id, m2.id, m1.id, owner.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{chat}");
    assert_eq!(chat["title"], "Team");
    assert_eq!(chat["my_role"], "owner");
    assert_eq!(chat["members_count"], 3);
    let id = chat["id"].as_i64().unwrap();

    let (status, detail) = app
        .api
        .get(&format!("/api/v1/chats/{id}"), Some(&m2.access_token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["my_role"], "member");
    let members = detail["members"].as_array().unwrap();
    let roles: Vec<(i64, &str)> = members
        .iter()
        .map(|m| (m["user_id"].as_i64().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        vec![(owner.id, "owner"), (m1.id, "member"), (m2.id, "member")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outsiders_get_403_and_unknown_chats_404() {
    let app = TestApp::spawn().await;
    let (a, _b, chat) = app.api.pair("paul", "quinn").await;
    let outsider = app.api.register_and_login("rita").await;
    let (status, err) = app
        .api
        .get(
            &format!("/api/v1/chats/{chat}"),
            Some(&outsider.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "not_a_member");
    let (status, err) = app
        .api
        .get("/api/v1/chats/987654", Some(&a.access_token))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["code"], "chat_not_found");
    let (status, _) = app.api.get(&format!("/api/v1/chats/{chat}"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, list) = app
        .api
        .get("/api/v1/chats", Some(&outsider.access_token))
        .await;
    assert_eq!(list, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_shows_last_message_and_unread_counts() {
    let app = TestApp::spawn().await;
    let a = app.api.register_and_login("sam").await;
    let b = app.api.register_and_login("tess").await;
    let c = app.api.register_and_login("uma").await;
    let ab = app.api.private_chat(&a, &b).await;
    let ac = app.api.private_chat(&a, &c).await;
    for i in 0..3 {
        app.api.send_text(&b, ab, &format!("from b {i}")).await;
    }
    app.api.send_text(&a, ab, "from a").await;
    app.api.send_text(&c, ac, "from c").await;
    let deleted = app.api.send_text(&c, ac, "oops").await;
    let (status, _) = app
        .api
        .delete(
            &format!("/api/v1/messages/{}?for_all=true", deleted["id"]),
            Some(&c.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, list) = app.api.get("/api/v1/chats", Some(&a.access_token)).await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    // Most recent activity first.
    assert_eq!(list[0]["id"], ac);
    assert_eq!(
        list[0]["unread_count"], 1,
        "a deleted message is not unread"
    );
    assert_eq!(list[0]["last_message_text"], "from c");
    assert_eq!(list[1]["id"], ab);
    assert_eq!(list[1]["unread_count"], 3, "own messages are never unread");
    assert_eq!(list[1]["last_message_text"], "from a");

    let (_, b_list) = app.api.get("/api/v1/chats", Some(&b.access_token)).await;
    assert_eq!(b_list[0]["unread_count"], 1);

    let (_, page) = app
        .api
        .get("/api/v1/chats?limit=1", Some(&a.access_token))
        .await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    let (_, next) = app
        .api
        .get(
            &format!("/api/v1/chats?limit=1&before_id={ac}"),
            Some(&a.access_token),
        )
        .await;
    assert_eq!(next[0]["id"], ab);
    let (_, found) = app
        .api
        .get("/api/v1/chats?query=TES", Some(&a.access_token))
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], ab);
    // By type too (seed 004 §7: "search by title/type").
    let (_, group) = app
        .api
        .post(
            "/api/v1/chats",
            Some(&a.access_token),
            &json!({"type": "group", "title": "Weekend"}),
        )
        .await;
    let (_, groups) = app
        .api
        .get("/api/v1/chats?query=Group", Some(&a.access_token))
        .await;
    assert_eq!(groups.as_array().map(Vec::len), Some(1), "{groups}");
    assert_eq!(groups[0]["id"], group["id"]);
    let (_, private) = app
        .api
        .get("/api/v1/chats?query=private", Some(&a.access_token))
        .await;
    assert_eq!(private.as_array().map(Vec::len), Some(2), "{private}");
    let (status, _) = app
        .api
        .get("/api/v1/chats?limit=101", Some(&a.access_token))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
