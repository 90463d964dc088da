//! Changes the other members see (seed 004 §6, §7): the group's profile,
//! roles and ownership, a member's nickname, the pinned message, and a
//! user's username. Each chat change is a logged event with a `seq` that
//! reaches the members' sockets; a refused change writes nothing and sends
//! nothing (the next frame is a later change).

use std::time::Duration;

use parley_tests::{Api, TestApp, TestUser, WsClient, tok};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);

const NOT_CHAT_ADMIN: (StatusCode, &str) = (StatusCode::FORBIDDEN, "not_chat_admin");
const PRIVATE_CHAT: (StatusCode, &str) = (StatusCode::FORBIDDEN, "private_chat");
const CANNOT_CHANGE_ROLE: (StatusCode, &str) = (StatusCode::FORBIDDEN, "cannot_change_role");
const MEMBER_NOT_FOUND: (StatusCode, &str) = (StatusCode::NOT_FOUND, "member_not_found");
const MESSAGE_NOT_FOUND: (StatusCode, &str) = (StatusCode::NOT_FOUND, "message_not_found");
const USERNAME_TAKEN: (StatusCode, &str) = (StatusCode::CONFLICT, "username_taken");

/// The body of a 200 answer.
fn ok(answer: (StatusCode, Value)) -> Value {
    let (status, body) = answer;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Asserts that `answer` is the error envelope with `status` and `code`.
fn refused(answer: (StatusCode, Value), (status, code): (StatusCode, &str)) {
    let (got, err) = answer;
    assert_eq!(got, status, "{err}");
    assert_eq!(err["code"], code, "{err}");
    assert!(err["detail"].is_string(), "{err}");
}

/// Asserts that `answer` is a 422 naming `field`.
fn invalid(answer: (StatusCode, Value), field: &str) {
    let (got, err) = answer;
    assert_eq!(got, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["code"], "validation_error", "{err}");
    assert_eq!(err["field"], field, "{err}");
}

/// `user`'s `ChatRead` of `chat` (`GET /chats/{id}`).
async fn chat_of(api: &Api, user: &TestUser, chat: i64) -> Value {
    ok(api.get(&format!("/api/v1/chats/{chat}"), tok(user)).await)
}

/// `GET /chats/{id}/members` as `user`.
async fn members(api: &Api, user: &TestUser, chat: i64) -> Value {
    ok(api
        .get(&format!("/api/v1/chats/{chat}/members"), tok(user))
        .await)
}

/// `(user_id, role)` of each member, in the list's order.
fn roles(list: &Value) -> Vec<(i64, &str)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| (m["user_id"].as_i64().unwrap(), m["role"].as_str().unwrap()))
        .collect()
}

/// `PATCH /chats/{chat}/profile` as `by`.
async fn profile(api: &Api, by: &TestUser, chat: i64, body: Value) -> (StatusCode, Value) {
    api.patch_json(&format!("/api/v1/chats/{chat}/profile"), tok(by), &body)
        .await
}

/// `PATCH /chats/{chat}/members/{user}/role` as `by`.
async fn set_role(
    api: &Api,
    by: &TestUser,
    chat: i64,
    user: &TestUser,
    role: &str,
) -> (StatusCode, Value) {
    let path = format!("/api/v1/chats/{chat}/members/{}/role", user.id);
    api.patch_json(&path, tok(by), &json!({"role": role})).await
}

/// `PATCH /chats/{chat}/members/me` as `by`.
async fn nickname(api: &Api, by: &TestUser, chat: i64, body: Value) -> (StatusCode, Value) {
    api.patch_json(&format!("/api/v1/chats/{chat}/members/me"), tok(by), &body)
        .await
}

/// `POST /chats/{chat}/pin` as `by` (`message_id` may be `null`).
async fn pin(api: &Api, by: &TestUser, chat: i64, message_id: &Value) -> (StatusCode, Value) {
    let body = json!({"message_id": message_id});
    api.post(&format!("/api/v1/chats/{chat}/pin"), tok(by), &body)
        .await
}

/// `PUT /users/profile {username}` as `user`.
async fn rename(api: &Api, user: &TestUser, username: &str) -> (StatusCode, Value) {
    let body = json!({"username": username});
    api.put("/api/v1/users/profile", tok(user), &body).await
}

/// The next frame on `ws` (presence skipped): a `kind` event of `chat`
/// with a `seq`.
async fn next_event(ws: &mut WsClient, kind: &str, chat: i64) -> Value {
    let frame = ws.next_json(WAIT).await.unwrap();
    assert_eq!(frame["type"], kind, "{frame}");
    assert_eq!(frame["chat_id"], chat, "{frame}");
    assert!(frame["seq"].is_i64(), "{frame}");
    frame
}

/// The fields of a `ChatRead` that a refused change must leave alone.
fn changeable(read: &Value) -> Value {
    json!({
        "title": read["title"],
        "description": read["description"],
        "avatar_url": read["avatar_url"],
        "pinned_message_id": read["pinned_message_id"],
        "last_seq": read["last_seq"],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_and_admins_edit_the_group_profile_and_members_hear_of_it() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let owner = api.register_and_login("kira").await;
    let admin = api.register_and_login("lukas").await;
    let member = api.register_and_login("mona").await;
    let chat = api.group(&owner, &[&admin, &member]).await;
    let mut ws = api.connect_ws(&member.access_token).await;
    let before = chat_of(api, &owner, chat).await;

    let mine = json!({"title": "Mine"});
    refused(profile(api, &member, chat, mine).await, NOT_CHAT_ADMIN);
    invalid(
        profile(api, &owner, chat, json!({"title": ""})).await,
        "title",
    );
    let after = chat_of(api, &owner, chat).await;
    assert_eq!(changeable(&after), changeable(&before));

    ok(set_role(api, &owner, chat, &admin, "admin").await);
    // The refusals sent nothing: the first event is this one.
    next_event(&mut ws, "member_updated", chat).await;

    let read = ok(profile(api, &admin, chat, json!({"description": "About"})).await);
    assert_eq!(read["id"], chat);
    assert_eq!(read["description"], "About");
    assert_eq!(read["title"], "Crew", "a field left out is kept");
    let event = next_event(&mut ws, "chat_updated", chat).await;
    assert_eq!(event["chat"]["description"], "About", "{event}");
    let seen = chat_of(api, &member, chat).await;
    assert_eq!(seen["description"], "About");
    assert_eq!(seen["last_seq"], event["seq"]);

    let read = ok(profile(api, &owner, chat, json!({"description": ""})).await);
    assert!(read["description"].is_null(), "{read}");
    let event = next_event(&mut ws, "chat_updated", chat).await;
    assert!(event["chat"]["description"].is_null(), "{event}");
    assert!(chat_of(api, &member, chat).await["description"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_chat_has_no_profile_to_edit() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let (a, b, chat) = api.pair("nadia", "oskar").await;
    let before = chat_of(api, &a, chat).await;
    for user in [&a, &b] {
        let ours = json!({"description": "Ours"});
        refused(profile(api, user, chat, ours).await, PRIVATE_CHAT);
    }
    let after = chat_of(api, &a, chat).await;
    assert_eq!(changeable(&after), changeable(&before));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owner_changes_roles() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let owner = api.register_and_login("otto").await;
    let admin = api.register_and_login("paula").await;
    let member = api.register_and_login("quentin").await;
    let outsider = api.register_and_login("ruth").await;
    let chat = api.group(&owner, &[&admin, &member]).await;
    let mut ws = api.connect_ws(&member.access_token).await;

    let read = ok(set_role(api, &owner, chat, &admin, "admin").await);
    assert_eq!(read["user_id"], admin.id);
    assert_eq!(read["role"], "admin");
    assert_eq!(read["username"], "paula");
    let event = next_event(&mut ws, "member_updated", chat).await;
    assert_eq!(event["user_id"], admin.id, "{event}");
    assert_eq!(event["member"]["role"], "admin", "{event}");

    let before = members(api, &owner, chat).await;
    let by_admin = set_role(api, &admin, chat, &member, "moderator").await;
    refused(by_admin, NOT_CHAT_ADMIN);
    invalid(set_role(api, &owner, chat, &member, "root").await, "role");
    let outside = set_role(api, &owner, chat, &outsider, "admin").await;
    refused(outside, MEMBER_NOT_FOUND);
    let own = set_role(api, &owner, chat, &owner, "member").await;
    refused(own, CANNOT_CHANGE_ROLE);
    assert_eq!(members(api, &owner, chat).await, before);

    let read = ok(set_role(api, &owner, chat, &member, "moderator").await);
    assert_eq!(read["role"], "moderator");
    // The refusals sent nothing: the next event is this change.
    let event = next_event(&mut ws, "member_updated", chat).await;
    assert_eq!(event["user_id"], member.id, "{event}");
    assert_eq!(event["member"]["role"], "moderator", "{event}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn giving_the_owner_role_hands_the_chat_over() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let owner = api.register_and_login("sonja").await;
    let heir = api.register_and_login("tariq").await;
    let member = api.register_and_login("ute").await;
    let chat = api.group(&owner, &[&heir, &member]).await;
    let mut ws = api.connect_ws(&member.access_token).await;

    let read = ok(set_role(api, &owner, chat, &heir, "owner").await);
    assert_eq!(read["user_id"], heir.id);
    assert_eq!(read["role"], "owner");
    let handed_over = [
        (owner.id, "admin"),
        (heir.id, "owner"),
        (member.id, "member"),
    ];
    assert_eq!(roles(&members(api, &member, chat).await), handed_over);
    // Both members' changes are events, in either order.
    let mut frames = Vec::new();
    for _ in 0..2 {
        frames.push(next_event(&mut ws, "member_updated", chat).await);
    }
    let mut changes: Vec<(i64, &str)> = frames
        .iter()
        .map(|f| {
            (
                f["user_id"].as_i64().unwrap(),
                f["member"]["role"].as_str().unwrap(),
            )
        })
        .collect();
    changes.sort_unstable();
    let mut want = [(owner.id, "admin"), (heir.id, "owner")];
    want.sort_unstable();
    assert_eq!(changes, want);

    // The former owner may no longer change roles; the new one may.
    let by_former = set_role(api, &owner, chat, &member, "admin").await;
    refused(by_former, NOT_CHAT_ADMIN);
    assert_eq!(roles(&members(api, &member, chat).await), handed_over);
    ok(set_role(api, &heir, chat, &member, "admin").await);
    let event = next_event(&mut ws, "member_updated", chat).await;
    assert_eq!(event["user_id"], member.id, "{event}");
    assert_eq!(chat_of(api, &heir, chat).await["my_role"], "owner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_member_sets_their_own_nickname() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let owner = api.register_and_login("vilma").await;
    let member = api.register_and_login("wolf").await;
    let chat = api.group(&owner, &[&member]).await;
    let mut ws = api.connect_ws(&owner.access_token).await;

    let read = ok(nickname(api, &member, chat, json!({"nickname": "Captain"})).await);
    assert_eq!(read["user_id"], member.id);
    assert_eq!(read["role"], "member");
    assert_eq!(read["nickname"], "Captain");
    let event = next_event(&mut ws, "member_updated", chat).await;
    assert_eq!(event["user_id"], member.id, "{event}");
    assert_eq!(event["member"]["nickname"], "Captain", "{event}");

    let too_long = json!({"nickname": "x".repeat(65)});
    invalid(nickname(api, &member, chat, too_long).await, "nickname");
    let list = members(api, &owner, chat).await;
    assert_eq!(list[1]["user_id"], member.id);
    assert_eq!(
        list[1]["nickname"], "Captain",
        "the refusal changed nothing"
    );

    let read = ok(nickname(api, &member, chat, json!({"nickname": null})).await);
    assert!(read["nickname"].is_null(), "{read}");
    // The refusal sent nothing: the next event is this one.
    let event = next_event(&mut ws, "member_updated", chat).await;
    assert!(event["member"]["nickname"].is_null(), "{event}");

    let longest = "x".repeat(64);
    let read = ok(nickname(api, &member, chat, json!({"nickname": longest})).await);
    assert_eq!(read["nickname"], longest.as_str());
    let event = next_event(&mut ws, "member_updated", chat).await;
    assert_eq!(event["member"]["nickname"], longest.as_str(), "{event}");

    let read = ok(nickname(api, &member, chat, json!({"nickname": ""})).await);
    assert!(read["nickname"].is_null(), "{read}");
    let event = next_event(&mut ws, "member_updated", chat).await;
    assert!(event["member"]["nickname"].is_null(), "{event}");
    assert!(members(api, &owner, chat).await[1]["nickname"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_group_owners_admins_and_moderators_pin_messages() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let owner = api.register_and_login("xaver").await;
    let helper = api.register_and_login("yvonne").await;
    let member = api.register_and_login("zeno").await;
    let chat = api.group(&owner, &[&helper, &member]).await;
    let elsewhere = api.private_chat(&owner, &member).await;
    let foreign = api.send_text(&owner, elsewhere, "elsewhere").await;
    let rules = api.send_text(&owner, chat, "rules").await;
    let mut ws = api.connect_ws(&member.access_token).await;
    let before = chat_of(api, &member, chat).await;

    for user in [&member, &helper] {
        refused(pin(api, user, chat, &rules["id"]).await, NOT_CHAT_ADMIN);
    }
    refused(
        pin(api, &owner, chat, &foreign["id"]).await,
        MESSAGE_NOT_FOUND,
    );
    let after = chat_of(api, &member, chat).await;
    assert_eq!(changeable(&after), changeable(&before));

    ok(set_role(api, &owner, chat, &helper, "moderator").await);
    // The refusals sent nothing: the first event is this one.
    next_event(&mut ws, "member_updated", chat).await;

    let read = ok(pin(api, &helper, chat, &rules["id"]).await);
    assert_eq!(read["id"], chat);
    assert_eq!(read["pinned_message_id"], rules["id"]);
    let event = next_event(&mut ws, "message_pinned", chat).await;
    assert_eq!(
        event,
        json!({"type": "message_pinned", "chat_id": chat, "seq": event["seq"],
               "message_id": rules["id"], "user_id": helper.id})
    );
    let seen = chat_of(api, &member, chat).await;
    assert_eq!(seen["pinned_message_id"], rules["id"]);

    let read = ok(pin(api, &owner, chat, &Value::Null).await);
    assert!(read["pinned_message_id"].is_null(), "{read}");
    let event = next_event(&mut ws, "message_pinned", chat).await;
    assert!(event["message_id"].is_null(), "{event}");
    assert_eq!(event["user_id"], owner.id, "{event}");
    assert!(chat_of(api, &member, chat).await["pinned_message_id"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_private_chat_either_member_pins_messages() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let (a, b, chat) = api.pair("agnes", "bruno").await;
    let note = api.send_text(&a, chat, "remember this").await;
    let mut ws = api.connect_ws(&a.access_token).await;

    let read = ok(pin(api, &b, chat, &note["id"]).await);
    assert_eq!(read["pinned_message_id"], note["id"]);
    let event = next_event(&mut ws, "message_pinned", chat).await;
    assert_eq!(event["message_id"], note["id"], "{event}");
    assert_eq!(event["user_id"], b.id, "{event}");

    let read = ok(pin(api, &a, chat, &Value::Null).await);
    assert!(read["pinned_message_id"].is_null(), "{read}");
    let event = next_event(&mut ws, "message_pinned", chat).await;
    assert!(event["message_id"].is_null(), "{event}");
    assert_eq!(event["user_id"], a.id, "{event}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_takes_a_free_valid_username() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let a = api.register_and_login("carla").await;
    let b = api.register_and_login("dario").await;

    let read = ok(rename(api, &a, "newname").await);
    assert_eq!(read["id"], a.id);
    assert_eq!(read["username"], "newname");
    refused(rename(api, &b, "newname").await, USERNAME_TAKEN);
    refused(rename(api, &a, "dario").await, USERNAME_TAKEN);
    invalid(rename(api, &b, "a!").await, "username");
    for (user, name) in [(&a, "newname"), (&b, "dario")] {
        let me = ok(api.get("/api/v1/users/me", tok(user)).await);
        assert_eq!(me["username"], name, "the refusals changed nothing");
    }
}
