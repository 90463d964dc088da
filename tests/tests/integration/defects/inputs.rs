//! Items 4, 6, 8, 9 and 10: hostile input is refused with a clear 4xx and
//! changes nothing; emails are private by default.

use super::*;

// ---------------------------------------------------------------------------
// Item 4: NUL characters are a 422 naming the field, and write nothing.
// ---------------------------------------------------------------------------

const NUL: &str = "a\u{0}b";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_are_refused_naming_the_field_and_write_nothing() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("nadia", "nikolai").await;
    let token = tok(&a);

    // Sending.
    for (body, field) in [
        (json!({"chat_id": chat, "text": NUL}), "text"),
        (
            json!({"chat_id": chat, "text": "fine", "client_message_id": NUL}),
            "client_message_id",
        ),
    ] {
        let (status, err) = app.api.post("/api/v1/messages", token, &body).await;
        assert_422(status, &err, field, &format!("send {body}"));
    }
    let (status, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page, json!([]), "no message was written");

    // Editing.
    let m = app.api.send_text(&a, chat, "clean").await;
    let id = m["id"].as_i64().unwrap();
    let (status, err) = app
        .api
        .put(
            &format!("/api/v1/messages/{id}"),
            token,
            &json!({"text": NUL}),
        )
        .await;
    assert_422(status, &err, "text", "edit");
    let (_, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), token)
        .await;
    assert_eq!(page[0]["text"], "clean", "the text is unchanged");
    let (status, edits) = app
        .api
        .get(&format!("/api/v1/messages/{id}/edits"), token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(edits, json!([]), "no edit was recorded");

    // Renaming a group.
    let g = app.api.group(&a, &[&b]).await;
    let (status, err) = app
        .api
        .patch_json(
            &format!("/api/v1/chats/{g}/title"),
            token,
            &json!({"title": NUL}),
        )
        .await;
    assert_422(status, &err, "title", "rename");
    let (_, detail) = app.api.get(&format!("/api/v1/chats/{g}"), token).await;
    assert_eq!(detail["title"], "Crew", "the title is unchanged");

    // The profile.
    let (status, err) = app
        .api
        .put("/api/v1/users/profile", token, &json!({"bio": NUL}))
        .await;
    assert_422(status, &err, "bio", "profile");
    let (_, me) = app.api.get("/api/v1/users/me", token).await;
    assert!(me["bio"].is_null(), "the bio is unchanged: {me}");

    // Contacts by email.
    let (status, err) = app
        .api
        .post(
            "/api/v1/users/contacts/by-email",
            token,
            &json!({"email": format!("{}{NUL}", b.email)}),
        )
        .await;
    assert_422(status, &err, "email", "contact by email");
    let (_, contacts) = app.api.get("/api/v1/users/contacts", token).await;
    assert_eq!(contacts, json!([]), "no contact was added");

    // A query string.
    let (status, err) = app.api.get("/api/v1/chats?query=%00", token).await;
    assert_422(status, &err, "query", "chat search");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_in_auth_bodies_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let (status, err) = app
        .api
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": "x@y.z", "password": "a\u{0}"}),
        )
        .await;
    assert_422(status, &err, "password", "login");

    let register = |name: &str| {
        json!({
            "email": "nul@example.com",
            "name": name,
            "username": "nulname",
            "password": "password-nul",
        })
    };
    let (status, err) = app
        .api
        .post("/api/v1/auth/register", None, &register(NUL))
        .await;
    assert_422(status, &err, "name", "register");
    // Nothing was written: the same email and username are still free.
    let (status, body) = app
        .api
        .post("/api/v1/auth/register", None, &register("Nul"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_send_with_nul_is_a_validation_error_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let (a, _b, chat) = app.api.pair("olav", "petra").await;
    let mut ws = app.api.connect_ws(&a.access_token).await;
    ws.send_json(&json!({
        "type": "send",
        "ref": "r1",
        "chat_id": chat,
        "text": NUL,
        "client_message_id": "n1",
    }))
    .await
    .unwrap();
    let frame = ws.next_json(WAIT).await.unwrap();
    assert_eq!(frame["type"], "error", "{frame}");
    assert_eq!(frame["code"], "validation_error", "{frame}");
    assert_eq!(frame["ref"], "r1", "{frame}");
    let (_, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), tok(&a))
        .await;
    assert_eq!(page, json!([]), "no message was written");
    // The client id was not taken either.
    let (status, body) = app
        .api
        .post(
            "/api/v1/messages",
            tok(&a),
            &json!({"chat_id": chat, "text": "clean", "client_message_id": "n1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

// ---------------------------------------------------------------------------
// Item 8: the chat list's cursor must be one of the caller's chats.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_list_cursor_must_be_one_of_the_callers_chats() {
    let app = TestApp::spawn().await;
    let a = app.api.register_and_login("quinn").await;
    let b = app.api.register_and_login("rosa").await;
    let c = app.api.register_and_login("stig").await;
    let ab = app.api.private_chat(&a, &b).await;
    let bc = app.api.private_chat(&b, &c).await;
    let (status, err) = app
        .api
        .get(&format!("/api/v1/chats?before_id={bc}"), tok(&a))
        .await;
    assert_422(status, &err, "before_id", "a foreign cursor");
    let (status, list) = app
        .api
        .get(&format!("/api/v1/chats?before_id={ab}"), tok(&a))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(list.is_array(), "{list}");
}

// ---------------------------------------------------------------------------
// Item 9: a reused client_message_id must match its chat and text.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_client_message_id_must_match_its_chat_and_text() {
    let app = TestApp::spawn().await;
    let a = app.api.register_and_login("erik").await;
    let b = app.api.register_and_login("frida").await;
    let c = app.api.register_and_login("gustav").await;
    let ab = app.api.private_chat(&a, &b).await;
    let ac = app.api.private_chat(&a, &c).await;
    let body = json!({"chat_id": ab, "text": "hello", "client_message_id": "cm-x"});
    let (status, first) = app.api.post("/api/v1/messages", tok(&a), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = app.api.post("/api/v1/messages", tok(&a), &body).await;
    assert_eq!(status, StatusCode::OK, "a retry: {again}");
    assert_eq!(again["id"], first["id"]);

    for (other, what) in [
        (
            json!({"chat_id": ac, "text": "hello", "client_message_id": "cm-x"}),
            "another chat",
        ),
        (
            json!({"chat_id": ab, "text": "different", "client_message_id": "cm-x"}),
            "another text",
        ),
    ] {
        let (status, err) = app.api.post("/api/v1/messages", tok(&a), &other).await;
        assert_eq!(status, StatusCode::CONFLICT, "{what}: {err}");
        assert_eq!(err["code"], "client_message_id_conflict", "{what}: {err}");
    }
    let (_, in_ac) = app
        .api
        .get(&format!("/api/v1/messages/{ac}"), tok(&a))
        .await;
    assert_eq!(in_ac, json!([]), "nothing was written to the other chat");
    let (_, in_ab) = app
        .api
        .get(&format!("/api/v1/messages/{ab}"), tok(&a))
        .await;
    assert_eq!(in_ab.as_array().unwrap().len(), 1, "{in_ab}");
    assert_eq!(in_ab[0]["text"], "hello");
}

// ---------------------------------------------------------------------------
// Item 10: trailing data after a JSON body is malformed JSON.
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailing_data_after_a_json_body_is_malformed_json() {
    let app = TestApp::spawn().await;
    let (a, _b, chat) = app.api.pair("hilde", "igor").await;
    for raw in [
        format!(r#"{{"chat_id":{chat},"text":"hi"}} garbage"#),
        format!(r#"{{"chat_id":{chat},"text":"hi"}}{{"b":2}}"#),
        r#"{"a":1}{"b":2}"#.to_owned(),
    ] {
        let (status, err) = app
            .api
            .post_raw(
                "/api/v1/messages",
                tok(&a),
                "application/json",
                raw.clone().into_bytes(),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw}: {err}");
        assert_eq!(err["code"], "malformed_json", "{raw}: {err}");
    }
    let (_, page) = app
        .api
        .get(&format!("/api/v1/messages/{chat}"), tok(&a))
        .await;
    assert_eq!(page, json!([]), "no message was written");
}

// ---------------------------------------------------------------------------
// Item 6: emails are private by default.
// ---------------------------------------------------------------------------

/// `contact_id`'s entry in `viewer`'s contact list.
async fn contact_entry(api: &Api, viewer: &TestUser, contact_id: i64) -> Value {
    let (status, list) = api.get("/api/v1/users/contacts", tok(viewer)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == contact_id)
        .cloned()
        .unwrap_or_else(|| panic!("{contact_id} is not in {list}"))
}

async fn set_privacy_email(api: &Api, user: &TestUser, value: &str) -> (StatusCode, Value) {
    api.put(
        "/api/v1/users/profile",
        tok(user),
        &json!({"privacy_email": value}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_are_private_by_default_and_follow_privacy_email() {
    let app = TestApp::spawn().await;
    let alice = app.api.register_and_login("alice").await;
    let bob = app.api.register_and_login("bob_b").await;
    let carol = app.api.register_and_login("carol").await;

    let (status, body) = app
        .api
        .post(
            &format!("/api/v1/users/{}/contacts", alice.id),
            tok(&bob),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let entry = contact_entry(&app.api, &bob, alice.id).await;
    assert!(
        entry.as_object().unwrap().contains_key("email") && entry["email"].is_null(),
        "hidden by default, the key present: {entry}"
    );

    let (status, body) = set_privacy_email(&app.api, &alice, "everyone").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entry = contact_entry(&app.api, &bob, alice.id).await;
    assert_eq!(entry["email"], alice.email.as_str(), "everyone: {entry}");

    let (status, body) = set_privacy_email(&app.api, &alice, "contacts").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entry = contact_entry(&app.api, &bob, alice.id).await;
    assert!(
        entry["email"].is_null(),
        "contacts, and Alice does not keep Bob: {entry}"
    );
    let (status, body) = app
        .api
        .post(
            &format!("/api/v1/users/{}/contacts", bob.id),
            tok(&alice),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let entry = contact_entry(&app.api, &bob, alice.id).await;
    assert_eq!(
        entry["email"],
        alice.email.as_str(),
        "contacts, and Alice keeps Bob: {entry}"
    );

    let (status, err) = set_privacy_email(&app.api, &alice, "friends").await;
    assert_422(status, &err, "privacy_email", "an unknown privacy value");

    // The caller's own email stays visible.
    let (status, me) = app.api.get("/api/v1/users/me", tok(&alice)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], alice.email.as_str());

    // Adding by email does not tell whether the address exists.
    let known = app
        .api
        .post(
            "/api/v1/users/contacts/by-email",
            tok(&carol),
            &json!({"email": alice.email}),
        )
        .await;
    let unknown = app
        .api
        .post(
            "/api/v1/users/contacts/by-email",
            tok(&carol),
            &json!({"email": "nobody-here@example.com"}),
        )
        .await;
    assert_eq!(known, (StatusCode::NO_CONTENT, Value::Null));
    assert_eq!(unknown, known, "the same answer for an unknown address");
}
