//! A member's own settings of a chat (seed 004 §3.6): the member list,
//! archive and pin in the caller's own list, mute, and clearing the
//! caller's history. None of them changes what the other members see, and
//! outsiders may neither read nor change them.

use parley_tests::{Api, TestApp, TestUser, assert_refused as refused, tok};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// `POST /api/v1/chats/{chat}/{action}` with an empty body.
async fn act(api: &Api, user: &TestUser, chat: i64, action: &str) -> (StatusCode, Value) {
    api.post(
        &format!("/api/v1/chats/{chat}/{action}"),
        tok(user),
        &json!({}),
    )
    .await
}

/// `user`'s `ChatRead` of `chat` (`GET /chats/{id}`); asserts 200.
async fn chat_of(api: &Api, user: &TestUser, chat: i64) -> Value {
    let (status, read) = api.get(&format!("/api/v1/chats/{chat}"), tok(user)).await;
    assert_eq!(status, StatusCode::OK, "chat {chat}: {read}");
    read
}

/// `user`'s chat list (`GET /chats{query}`); asserts 200.
async fn list(api: &Api, user: &TestUser, query: &str) -> Vec<Value> {
    let (status, body) = api.get(&format!("/api/v1/chats{query}"), tok(user)).await;
    assert_eq!(status, StatusCode::OK, "chats{query}: {body}");
    body.as_array().unwrap().clone()
}

/// The chat ids of `items`, sorted.
fn ids(items: &[Value]) -> Vec<i64> {
    let mut found: Vec<i64> = items.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    found.sort_unstable();
    found
}

/// The texts of the messages `user` sees in `chat`, oldest first.
async fn texts(api: &Api, user: &TestUser, chat: i64) -> Vec<String> {
    let (status, page) = api
        .get(&format!("/api/v1/messages/{chat}"), tok(user))
        .await;
    assert_eq!(status, StatusCode::OK, "messages of {chat}: {page}");
    page.as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

/// `user`'s notification settings of `chat`; asserts 200.
async fn notifications(api: &Api, user: &TestUser, chat: i64) -> Value {
    let (status, read) = api
        .get(&format!("/api/v1/chats/{chat}/notifications"), tok(user))
        .await;
    assert_eq!(status, StatusCode::OK, "notifications of {chat}: {read}");
    read
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_are_listed_in_joining_order_to_members_only() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let owner = api.register_and_login("hanna").await;
    let first = api.register_and_login("ivan").await;
    let second = api.register_and_login("jana").await;
    let outsider = api.register_and_login("karl").await;
    let chat = api.group(&owner, &[&first, &second]).await;
    let path = format!("/api/v1/chats/{chat}/members");

    let (status, listed) = api.get(&path, tok(&second)).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let members = listed.as_array().unwrap();
    let rows: Vec<(i64, &str, &str)> = members
        .iter()
        .map(|m| {
            (
                m["user_id"].as_i64().unwrap(),
                m["role"].as_str().unwrap(),
                m["username"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (owner.id, "owner", "hanna"),
            (first.id, "member", "ivan"),
            (second.id, "member", "jana"),
        ]
    );
    for member in members {
        assert!(member["id"].is_i64(), "{member}");
        assert!(member["joined_at"].is_string(), "{member}");
        assert_eq!(member["name"], member["username"], "registered so");
        assert!(member["nickname"].is_null(), "{member}");
    }

    refused(
        "an outsider",
        api.get(&path, tok(&outsider)).await,
        StatusCode::FORBIDDEN,
        "not_a_member",
    );
    refused(
        "an unknown chat",
        api.get("/api/v1/chats/999999/members", tok(&owner)).await,
        StatusCode::NOT_FOUND,
        "chat_not_found",
    );
    let (_, again) = api.get(&path, tok(&owner)).await;
    assert_eq!(again, listed, "the refused reads changed nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archiving_moves_the_chat_out_of_the_callers_list_only() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let (a, b, chat) = api.pair("lena", "marek").await;
    let c = api.register_and_login("nils").await;
    let other = api.private_chat(&a, &c).await;

    let (status, read) = act(api, &a, chat, "archive").await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["id"], chat);
    assert_eq!(read["archived"], true);
    assert_eq!(ids(&list(api, &a, "").await), vec![other]);
    let archived = list(api, &a, "?archived=true").await;
    assert_eq!(ids(&archived), vec![chat]);
    assert_eq!(archived[0]["archived"], true);

    // The other member's view is unchanged.
    assert_eq!(chat_of(api, &b, chat).await["archived"], false);
    assert_eq!(ids(&list(api, &b, "").await), vec![chat]);

    let (status, read) = act(api, &a, chat, "unarchive").await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["archived"], false);
    let mut both = [chat, other];
    both.sort_unstable();
    assert_eq!(ids(&list(api, &a, "").await), both);
    assert!(list(api, &a, "?archived=true").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinning_a_chat_marks_it_for_the_caller_only() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let (a, b, chat) = api.pair("olaf", "petra").await;

    let (status, read) = act(api, &a, chat, "pin-chat").await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["id"], chat);
    assert_eq!(read["pinned"], true);
    let mine = list(api, &a, "").await;
    let entry = mine.iter().find(|c| c["id"] == chat).unwrap();
    assert_eq!(entry["pinned"], true, "{entry}");
    assert_eq!(chat_of(api, &b, chat).await["pinned"], false);
    let theirs = list(api, &b, "").await;
    assert_eq!(theirs[0]["pinned"], false, "{theirs:?}");

    let (status, read) = act(api, &a, chat, "unpin-chat").await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["pinned"], false);
    assert_eq!(chat_of(api, &a, chat).await["pinned"], false);
    let mine = list(api, &a, "").await;
    assert_eq!(mine[0]["pinned"], false, "{mine:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn muting_is_a_setting_of_the_caller_alone() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let (a, b, chat) = api.pair("quirin", "rosa").await;
    let path = format!("/api/v1/chats/{chat}/notifications");

    assert_eq!(
        notifications(api, &a, chat).await,
        json!({"chat_id": chat, "user_id": a.id, "muted": false})
    );
    let (status, read) = api.put(&path, tok(&a), &json!({"muted": true})).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(
        read,
        json!({"chat_id": chat, "user_id": a.id, "muted": true})
    );
    assert_eq!(notifications(api, &a, chat).await["muted"], true);
    assert_eq!(
        notifications(api, &b, chat).await,
        json!({"chat_id": chat, "user_id": b.id, "muted": false})
    );

    let (status, err) = api.put(&path, tok(&a), &json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["code"], "validation_error", "{err}");
    assert_eq!(err["field"], "muted", "{err}");
    assert_eq!(
        notifications(api, &a, chat).await["muted"],
        true,
        "the refused update changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_history_hides_earlier_messages_from_the_caller_only() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let (a, b, chat) = api.pair("sven", "tilda").await;
    api.send_text(&a, chat, "one").await;
    api.send_text(&b, chat, "two").await;
    assert_eq!(chat_of(api, &a, chat).await["unread_count"], 1);

    let (status, body) = act(api, &a, chat, "clear").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(texts(api, &a, chat).await.is_empty());
    assert_eq!(texts(api, &b, chat).await, vec!["one", "two"]);
    let mine = chat_of(api, &a, chat).await;
    assert_eq!(mine["unread_count"], 0, "{mine}");
    assert!(mine["last_message_id"].is_null(), "{mine}");
    let theirs = chat_of(api, &b, chat).await;
    assert!(theirs["last_message_id"].is_i64(), "{theirs}");

    // What comes after the clear is the caller's again.
    api.send_text(&b, chat, "three").await;
    assert_eq!(texts(api, &a, chat).await, vec!["three"]);
    assert_eq!(texts(api, &b, chat).await, vec!["one", "two", "three"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outsiders_can_neither_read_nor_change_a_members_settings() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let (a, b, chat) = api.pair("ulla", "viktor").await;
    let outsider = api.register_and_login("wanda").await;
    let kept = api.send_text(&a, chat, "kept").await;

    for action in ["archive", "unarchive", "pin-chat", "unpin-chat", "clear"] {
        refused(
            action,
            act(api, &outsider, chat, action).await,
            StatusCode::FORBIDDEN,
            "not_a_member",
        );
    }
    let path = format!("/api/v1/chats/{chat}/notifications");
    refused(
        "read notifications",
        api.get(&path, tok(&outsider)).await,
        StatusCode::FORBIDDEN,
        "not_a_member",
    );
    refused(
        "mute",
        api.put(&path, tok(&outsider), &json!({"muted": true}))
            .await,
        StatusCode::FORBIDDEN,
        "not_a_member",
    );

    // Nothing changed for either member, nor for the outsider.
    for member in [&a, &b] {
        let read = chat_of(api, member, chat).await;
        assert_eq!(read["archived"], false, "{read}");
        assert_eq!(read["pinned"], false, "{read}");
        assert_eq!(read["last_message_id"], kept["id"], "{read}");
        assert_eq!(ids(&list(api, member, "").await), vec![chat]);
        assert_eq!(notifications(api, member, chat).await["muted"], false);
        assert_eq!(texts(api, member, chat).await, vec!["kept"]);
    }
    assert!(list(api, &outsider, "").await.is_empty());
    assert!(list(api, &outsider, "?archived=true").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callers_other_devices_follow_their_settings_and_no_one_else_hears() {
    let wait = std::time::Duration::from_secs(5);
    let app = TestApp::spawn().await;
    let (me, other, chat) = app.api.pair("devices", "bystander").await;
    let mut my_other_device = app.api.connect_ws(&me.access_token).await;
    let mut theirs = app.api.connect_ws(&other.access_token).await;

    let (status, _) = act(&app.api, &me, chat, "archive").await;
    assert_eq!(status, StatusCode::OK);
    let frame = my_other_device
        .expect_type("chat_settings_updated", wait)
        .await
        .unwrap();
    assert_eq!(frame["chat_id"], chat);
    assert_eq!(frame["archived"], true);
    assert_eq!(frame["muted"], false);
    let (status, _) = app
        .api
        .put(
            &format!("/api/v1/chats/{chat}/notifications"),
            tok(&me),
            &json!({"muted": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let frame = my_other_device
        .expect_type("chat_settings_updated", wait)
        .await
        .unwrap();
    assert_eq!(
        (frame["archived"].clone(), frame["muted"].clone()),
        (json!(true), json!(true))
    );
    let before = app.api.send_text(&other, chat, "before the clear").await;
    my_other_device.expect_next_message(&before, wait).await;
    let (status, _) = act(&app.api, &me, chat, "clear").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let frame = my_other_device
        .expect_type("chat_settings_updated", wait)
        .await
        .unwrap();
    assert_eq!(frame["cleared_before_message_id"], before["id"]);

    // The other member heard none of it: their next frame after their own
    // message is the next message.
    theirs.expect_next_message(&before, wait).await;
    let after = app.api.send_text(&me, chat, "after").await;
    theirs.expect_next_message(&after, wait).await;
}
