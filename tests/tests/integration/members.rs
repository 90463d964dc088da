//! Membership changes (seed 004 §7): add, remove, leave, rename; their
//! events; and sockets that follow the change at once, on any replica.

use std::time::Duration;

use parley_tests::{Api, TestApp, TestUser};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);

async fn add(api: &Api, by: &TestUser, chat: i64, user: &TestUser) -> (StatusCode, Value) {
    api.post(
        &format!("/api/v1/chats/{chat}/members"),
        Some(&by.access_token),
        &json!({"user_id": user.id}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_member_on_another_replica_follows_the_chat_at_once() {
    let app = TestApp::spawn().await;
    let other_replica = app.replica().await;
    let owner = app.api.register_and_login("olga").await;
    let member = app.api.register_and_login("pavel").await;
    let newcomer = app.api.register_and_login("raisa").await;
    let chat = app.api.group(&owner, &[&member]).await;
    let mut ws_member = app.api.connect_ws(&member.access_token).await;
    // The newcomer is connected to the other replica before being added.
    let mut ws_new = other_replica.api.connect_ws(&newcomer.access_token).await;

    let (status, added) = add(&app.api, &owner, chat, &newcomer).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["user_id"], newcomer.id);
    assert_eq!(added["role"], "member");
    // The first message right after: it must reach the newcomer.
    let m = app.api.send_text(&owner, chat, "welcome aboard").await;

    let joined = ws_new.next_json(WAIT).await.unwrap();
    assert_eq!(joined["type"], "member_joined");
    assert_eq!(joined["user_id"], newcomer.id);
    let first = ws_new.next_json(WAIT).await.unwrap();
    assert_eq!(first["type"], "message_created");
    assert_eq!(first["message"]["id"], m["id"]);
    assert_eq!(first["seq"], joined["seq"].as_i64().unwrap() + 1);
    let seen = ws_member.next_json(WAIT).await.unwrap();
    assert_eq!(seen["type"], "member_joined");

    let (status, err) = add(&app.api, &owner, chat, &newcomer).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["code"], "already_member");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_member_hears_nothing_more() {
    let app = TestApp::spawn().await;
    let owner = app.api.register_and_login("sasha").await;
    let stays = app.api.register_and_login("timur").await;
    let goes = app.api.register_and_login("ulyana").await;
    let chat = app.api.group(&owner, &[&stays, &goes]).await;
    // Another chat of the one who goes, which they stay in.
    let other_chat = app.api.private_chat(&owner, &goes).await;
    let (_, before) = app
        .api
        .get("/api/v1/updates", Some(&goes.access_token))
        .await;
    let mut ws_goes = app.api.connect_ws(&goes.access_token).await;
    let mut ws_stays = app.api.connect_ws(&stays.access_token).await;

    // A plain member cannot remove anyone.
    let (status, err) = app
        .api
        .delete(
            &format!("/api/v1/chats/{chat}/members/{}", goes.id),
            Some(&stays.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "not_chat_admin");

    let (status, _) = app
        .api
        .delete(
            &format!("/api/v1/chats/{chat}/members/{}", goes.id),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.api.send_text(&owner, chat, "after you left").await;

    let left = ws_goes.next_json(WAIT).await.unwrap();
    assert_eq!(left["type"], "member_left");
    assert_eq!(left["user_id"], goes.id);
    assert_eq!(left["reason"], "removed");
    // Nothing after the leave: the next frame is a message sent later in
    // their other chat, not "after you left".
    let later = app.api.send_text(&owner, other_chat, "still here").await;
    ws_goes.expect_next_message(&later, WAIT).await;
    assert_eq!(
        ws_stays.next_json(WAIT).await.unwrap()["type"],
        "member_left"
    );
    assert_eq!(
        ws_stays.next_json(WAIT).await.unwrap()["type"],
        "message_created"
    );

    for path in [
        format!("/api/v1/messages/{chat}"),
        format!("/api/v1/chats/{chat}/events"),
    ] {
        let (status, _) = app.api.get(&path, Some(&goes.access_token)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let since = before["token"].as_str().unwrap();
    let (_, updates) = app
        .api
        .get(
            &format!("/api/v1/updates?since={since}"),
            Some(&goes.access_token),
        )
        .await;
    assert_eq!(updates["left_chat_ids"], json!([chat]));
    // Resuming the chat is refused too.
    ws_goes
        .send_json(&json!({"type": "resume", "chats": {chat.to_string(): 0}}))
        .await
        .unwrap();
    assert_eq!(
        ws_goes.next_json(WAIT).await.unwrap()["code"],
        "not_a_member"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_rules_for_removal_and_private_chats() {
    let app = TestApp::spawn().await;
    let owner = app.api.register_and_login("vadim").await;
    let admin = app.api.register_and_login("wera").await;
    let other = app.api.register_and_login("yuri").await;
    let chat = app.api.group(&owner, &[&admin, &other]).await;
    let mut conn = app.db.connect().await.unwrap();
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE chat_members SET role = 'admin' WHERE chat_id = {chat} AND user_id = {}",
            admin.id
        )),
        &mut conn,
    )
    .await
    .unwrap();
    let (status, err) = app
        .api
        .delete(
            &format!("/api/v1/chats/{chat}/members/{}", owner.id),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "cannot_remove");
    let (status, _) = app
        .api
        .delete(
            &format!("/api/v1/chats/{chat}/members/{}", other.id),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "an admin removes a member");
    let (status, err) = app
        .api
        .delete(
            &format!("/api/v1/chats/{chat}/members/{}", other.id),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["code"], "member_not_found");

    let (a, b, private) = app.api.pair("zoya", "anton").await;
    let (status, err) = add(&app.api, &a, private, &owner).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "private_chat");
    let (status, _) = app
        .api
        .post(
            &format!("/api/v1/chats/{private}/leave"),
            Some(&b.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// An add with a role is one change: the owner gives any role but
/// `owner`; an admin, who may add, may not give a role, and then nobody is
/// added.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_is_added_with_a_role_only_by_the_owner() {
    let app = TestApp::spawn().await;
    let owner = app.api.register_and_login("bogdan").await;
    let admin = app.api.register_and_login("vera").await;
    let first = app.api.register_and_login("gleb").await;
    let second = app.api.register_and_login("dina").await;
    let chat = app.api.group(&owner, &[&admin]).await;
    let path = format!("/api/v1/chats/{chat}/members");
    let with_role = |user: &TestUser, role: &str| json!({"user_id": user.id, "role": role});

    let (status, added) = app
        .api
        .post(
            &path,
            Some(&owner.access_token),
            &with_role(&admin, "admin"),
        )
        .await;
    assert_eq!(
        (status, &added["code"]),
        (StatusCode::CONFLICT, &json!("already_member"))
    );
    let (status, body) = app
        .api
        .patch_json(
            &format!("{path}/{}/role", admin.id),
            Some(&owner.access_token),
            &json!({"role": "admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, added) = app
        .api
        .post(
            &path,
            Some(&owner.access_token),
            &with_role(&first, "moderator"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["role"], "moderator");

    let (status, err) = app
        .api
        .post(
            &path,
            Some(&admin.access_token),
            &with_role(&second, "moderator"),
        )
        .await;
    assert_eq!(
        (status, &err["code"]),
        (StatusCode::FORBIDDEN, &json!("not_chat_admin"))
    );
    let (status, err) = app
        .api
        .post(
            &path,
            Some(&owner.access_token),
            &with_role(&second, "owner"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let (_, members) = app.api.get(&path, Some(&owner.access_token)).await;
    let roles: Vec<(i64, &str)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["user_id"].as_i64().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [
            (owner.id, "owner"),
            (admin.id, "admin"),
            (first.id, "moderator")
        ],
        "the refused adds added nobody"
    );
    // Without a role an admin adds a plain member.
    let (status, added) = add(&app.api, &admin, chat, &second).await;
    assert_eq!(
        (status, &added["role"]),
        (StatusCode::CREATED, &json!("member"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_who_leaves_hands_the_chat_on() {
    let app = TestApp::spawn().await;
    let owner = app.api.register_and_login("boris").await;
    let heir = app.api.register_and_login("clara").await;
    let chat = app.api.group(&owner, &[&heir]).await;
    let mut ws = app.api.connect_ws(&heir.access_token).await;
    let (status, _) = app
        .api
        .post(
            &format!("/api/v1/chats/{chat}/leave"),
            Some(&owner.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let left = ws.next_json(WAIT).await.unwrap();
    assert_eq!(
        (left["type"].as_str(), left["reason"].as_str()),
        (Some("member_left"), Some("left"))
    );
    let updated = ws.next_json(WAIT).await.unwrap();
    assert_eq!(updated["type"], "member_updated");
    assert_eq!(updated["member"]["role"], "owner");
    let (_, detail) = app
        .api
        .get(&format!("/api/v1/chats/{chat}"), Some(&heir.access_token))
        .await;
    assert_eq!(detail["my_role"], "owner");
    assert_eq!(detail["members_count"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renaming_a_chat_is_an_event() {
    let app = TestApp::spawn().await;
    let owner = app.api.register_and_login("dmitri").await;
    let member = app.api.register_and_login("elena").await;
    let chat = app.api.group(&owner, &[&member]).await;
    let mut ws = app.api.connect_ws(&member.access_token).await;
    let (status, err) = app
        .api
        .patch_json(
            &format!("/api/v1/chats/{chat}/title"),
            Some(&member.access_token),
            &json!({"title": "Mine"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["code"], "not_chat_admin");
    let (status, renamed) = app
        .api
        .patch_json(
            &format!("/api/v1/chats/{chat}/title"),
            Some(&owner.access_token),
            &json!({"title": " Ship "}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["title"], "Ship");
    let event = ws.next_json(WAIT).await.unwrap();
    assert_eq!(event["type"], "chat_updated");
    assert_eq!(event["chat"]["title"], "Ship");
    let (status, _) = app
        .api
        .patch_json(
            &format!("/api/v1/chats/{chat}/title"),
            Some(&owner.access_token),
            &json!({"title": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
