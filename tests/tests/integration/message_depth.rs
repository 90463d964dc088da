//! Messages beyond send and edit (seed 004 §8): threads, forwarding (one
//! and bulk), reactions, and mentions that follow an edit. Each over real
//! HTTP and WebSocket, with the refusals.

use std::time::Duration;

use parley_tests::{Api, TestApp, TestUser, assert_refused as refused, tok};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);

/// Sends `text` in `chat` as a reply to `reply_to`; returns the message.
async fn reply(api: &Api, user: &TestUser, chat: i64, reply_to: &Value, text: &str) -> Value {
    let (status, message) = api
        .post(
            "/api/v1/messages",
            tok(user),
            &json!({"chat_id": chat, "text": text, "reply_to_message_id": reply_to["id"],
                    "client_message_id": uuid::Uuid::new_v4().to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    message
}

fn texts(page: &Value) -> Vec<&str> {
    page.as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap_or("<deleted>"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_is_its_root_then_the_replies_breadth_first() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let owner = api.register_and_login("threadowner").await;
    let member = api.register_and_login("threadmember").await;
    let outsider = api.register_and_login("threadoutsider").await;
    let chat = api.group(&owner, &[&member]).await;
    let root = api.send_text(&owner, chat, "root").await;
    let a = reply(api, &member, chat, &root, "a").await;
    let b = reply(api, &owner, chat, &root, "b").await;
    let a1 = reply(api, &owner, chat, &a, "a1").await;
    let b1 = reply(api, &member, chat, &b, "b1").await;
    reply(api, &member, chat, &a1, "a1x").await;
    api.send_text(&owner, chat, "not in the thread").await;

    let path = format!("/api/v1/messages/{}/thread", root["id"]);
    let (status, thread) = api.get(&path, tok(&member)).await;
    assert_eq!(status, StatusCode::OK, "{thread}");
    assert_eq!(texts(&thread), ["root", "a", "b", "a1", "b1", "a1x"]);
    let (_, limited) = api.get(&format!("{path}?limit=3"), tok(&member)).await;
    assert_eq!(texts(&limited), ["root", "a", "b"]);
    // A subtree: from a reply down.
    let (_, sub) = api
        .get(&format!("/api/v1/messages/{}/thread", a["id"]), tok(&owner))
        .await;
    assert_eq!(texts(&sub), ["a", "a1", "a1x"]);

    // A reply the reader hid is left out, but what hangs under it is not;
    // one deleted for everyone stays as a tombstone.
    let (status, _) = api
        .delete(&format!("/api/v1/messages/{}", a1["id"]), tok(&member))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api
        .delete(
            &format!("/api/v1/messages/{}?for_all=true", b1["id"]),
            tok(&member),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, thread) = api.get(&path, tok(&member)).await;
    assert_eq!(texts(&thread), ["root", "a", "b", "<deleted>", "a1x"]);
    let (_, owners) = api.get(&path, tok(&owner)).await;
    assert_eq!(texts(&owners), ["root", "a", "b", "a1", "<deleted>", "a1x"]);

    refused(
        "outsider",
        api.get(&path, tok(&outsider)).await,
        StatusCode::FORBIDDEN,
        "not_a_member",
    );
    refused(
        "a bad limit",
        api.get(&format!("{path}?limit=0"), tok(&owner)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_error",
    );
    refused(
        "a hidden root",
        api.get(
            &format!("/api/v1/messages/{}/thread", a1["id"]),
            tok(&member),
        )
        .await,
        StatusCode::NOT_FOUND,
        "message_not_found",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_copies_a_readable_message_into_a_chat_the_caller_posts_in() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let (alice, bob, private) = api.pair("fwdalice", "fwdbob").await;
    let carol = api.register_and_login("fwdcarol").await;
    let group = api.group(&alice, &[&carol]).await;
    let (status, channel) = api
        .post(
            "/api/v1/chats",
            tok(&carol),
            &json!({"type": "channel", "title": "News", "member_ids": [alice.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{channel}");
    let channel = channel["id"].as_i64().unwrap();
    let source = api.send_text(&bob, private, "worth sharing").await;
    let mut carols_socket = api.connect_ws(&carol.access_token).await;

    let path = format!("/api/v1/messages/{}/forward", source["id"]);
    let body = json!({"target_chat_id": group, "client_message_id": "fwd-1"});
    let (status, copy) = api.post(&path, tok(&alice), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{copy}");
    assert_eq!(copy["chat_id"], group);
    assert_eq!(copy["sender_id"], alice.id);
    assert_eq!(copy["text"], "worth sharing");
    assert_eq!(copy["forwarded_from_message_id"], source["id"]);
    let frame = carols_socket.expect_next_message(&copy, WAIT).await;
    assert_eq!(frame["message"]["forwarded_from_message_id"], source["id"]);
    // A retry answers the same copy and sends nothing new.
    let (status, again) = api.post(&path, tok(&alice), &body).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["id"], copy["id"]);
    // A forward of the forward names the first message.
    let (status, second) = api
        .post(
            &format!("/api/v1/messages/{}/forward", copy["id"]),
            tok(&carol),
            &json!({"target_chat_id": group}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["forwarded_from_message_id"], source["id"]);
    // Carol's next frame is that second copy: the retry sent nothing.
    carols_socket.expect_next_message(&second, WAIT).await;

    // Refusals change nothing.
    refused(
        "a source the caller cannot read",
        api.post(&path, tok(&carol), &json!({"target_chat_id": group}))
            .await,
        StatusCode::FORBIDDEN,
        "not_a_member",
    );
    refused(
        "a channel the caller only reads",
        api.post(&path, tok(&alice), &json!({"target_chat_id": channel}))
            .await,
        StatusCode::FORBIDDEN,
        "cannot_post",
    );
    refused(
        "a chat the caller is not in",
        api.post(
            &format!("/api/v1/messages/{}/forward", copy["id"]),
            tok(&carol),
            &json!({"target_chat_id": private}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "not_a_member",
    );
    refused(
        "the id used for another message",
        api.post(
            &path,
            tok(&alice),
            &json!({"target_chat_id": private, "client_message_id": "fwd-1"}),
        )
        .await,
        StatusCode::CONFLICT,
        "client_message_id_conflict",
    );
    let (status, _) = api
        .delete(
            &format!("/api/v1/messages/{}?for_all=true", source["id"]),
            tok(&bob),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    refused(
        "a deleted source",
        api.post(&path, tok(&alice), &json!({"target_chat_id": group}))
            .await,
        StatusCode::NOT_FOUND,
        "message_not_found",
    );
    let (_, page) = api
        .get(&format!("/api/v1/messages/{group}"), tok(&carol))
        .await;
    assert_eq!(page.as_array().unwrap().len(), 2, "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_forward_reaches_every_target_or_none() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let me = api.register_and_login("bulkfwd").await;
    let friends = [
        api.register_and_login("bulkfriend1").await,
        api.register_and_login("bulkfriend2").await,
    ];
    let stranger = api.register_and_login("bulkstranger").await;
    let first = api.private_chat(&me, &friends[0]).await;
    let second = api.private_chat(&me, &friends[1]).await;
    let not_mine = api.private_chat(&friends[0], &stranger).await;
    let source_chat = api.group(&me, &[]).await;
    let source = api.send_text(&me, source_chat, "to everyone").await;
    let path = format!("/api/v1/messages/{}/forward-bulk", source["id"]);

    refused(
        "one target the caller is not in",
        api.post(
            &path,
            tok(&me),
            &json!({"target_chat_ids": [first, not_mine, second]}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "not_a_member",
    );
    for (friend, chat) in friends.iter().zip([first, second]) {
        let (_, page) = api
            .get(&format!("/api/v1/messages/{chat}"), tok(friend))
            .await;
        assert_eq!(page, json!([]), "nothing was sent");
    }
    refused(
        "no targets",
        api.post(&path, tok(&me), &json!({"target_chat_ids": []}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_error",
    );

    let body = json!({"target_chat_ids": [second, first, second], "client_message_id": "bulk-1"});
    let (status, copies) = api.post(&path, tok(&me), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{copies}");
    let chats: Vec<i64> = copies
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["chat_id"].as_i64().unwrap())
        .collect();
    let mut expected = vec![first, second];
    expected.sort_unstable();
    assert_eq!(chats, expected);
    let (status, again) = api.post(&path, tok(&me), &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, copies);
    for (friend, chat) in friends.iter().zip([first, second]) {
        let (_, page) = api
            .get(&format!("/api/v1/messages/{chat}"), tok(friend))
            .await;
        assert_eq!(texts(&page), ["to everyone"], "exactly one copy");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_toggle_once_per_user_and_emoji_and_every_member_hears_them() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let owner = api.register_and_login("reactowner").await;
    let member = api.register_and_login("reactmember").await;
    let outsider = api.register_and_login("reactoutsider").await;
    let chat = api.group(&owner, &[&member]).await;
    let message = api.send_text(&owner, chat, "react to me").await;
    let mut owners_socket = api.connect_ws(&owner.access_token).await;
    let toggle = format!("/api/v1/messages/{}/reactions/toggle", message["id"]);

    let (status, list) = api
        .post(&toggle, tok(&member), &json!({"emoji": "👍"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list, json!([{"emoji": "👍", "count": 1, "reacted": true}]));
    let frame = owners_socket
        .expect_type("reactions_updated", WAIT)
        .await
        .unwrap();
    assert_eq!(frame["message_id"], message["id"]);
    assert_eq!(
        (frame["user_id"].as_i64(), frame["added"].as_bool()),
        (Some(member.id), Some(true))
    );
    assert_eq!(frame["reactions"], json!([{"emoji": "👍", "count": 1}]));
    let first_seq = frame["seq"].as_i64().unwrap();

    let (_, list) = api
        .post(&toggle, tok(&owner), &json!({"emoji": "👍🏽"}))
        .await;
    assert_eq!(list[0]["count"], 1);
    let (_, list) = api
        .post(&toggle, tok(&owner), &json!({"emoji": "👍"}))
        .await;
    assert_eq!(
        list,
        json!([{"emoji": "👍", "count": 2, "reacted": true},
               {"emoji": "👍🏽", "count": 1, "reacted": true}])
    );
    let (status, list) = api
        .get(
            &format!("/api/v1/messages/{}/reactions", message["id"]),
            tok(&member),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list,
        json!([{"emoji": "👍", "count": 2, "reacted": true},
               {"emoji": "👍🏽", "count": 1, "reacted": false}])
    );
    // Toggling again takes it back. Equal counts keep the order of first
    // use: 👍 is now the owner's, newer than their 👍🏽.
    let (_, list) = api
        .post(&toggle, tok(&member), &json!({"emoji": "👍"}))
        .await;
    assert_eq!(
        list,
        json!([{"emoji": "👍🏽", "count": 1, "reacted": false},
               {"emoji": "👍", "count": 1, "reacted": false}])
    );
    // Three more events, in seq order, the last one a removal.
    let mut seqs = vec![first_seq];
    for _ in 0..3 {
        let frame = owners_socket
            .expect_type("reactions_updated", WAIT)
            .await
            .unwrap();
        seqs.push(frame["seq"].as_i64().unwrap());
        if seqs.len() == 4 {
            assert_eq!(frame["added"], false);
        }
    }
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    // The message list carries the counts, with the reader's own marked.
    let (_, page) = api
        .get(&format!("/api/v1/messages/{chat}"), tok(&owner))
        .await;
    assert_eq!(
        page[0]["reactions"],
        json!([{"emoji": "👍🏽", "count": 1, "reacted": true},
               {"emoji": "👍", "count": 1, "reacted": true}])
    );

    for bad in ["", "a", "👍👍", "not an emoji", ":thumbsup:"] {
        refused(
            &format!("emoji {bad:?}"),
            api.post(&toggle, tok(&member), &json!({"emoji": bad}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        );
    }
    refused(
        "outsider",
        api.post(&toggle, tok(&outsider), &json!({"emoji": "👍"}))
            .await,
        StatusCode::FORBIDDEN,
        "not_a_member",
    );
    let (_, list) = api
        .get(
            &format!("/api/v1/messages/{}/reactions", message["id"]),
            tok(&owner),
        )
        .await;
    assert_eq!(
        list.as_array().unwrap().len(),
        2,
        "refusals changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_stops_reactions_in_the_private_chat() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let (a, b, chat) = api.pair("reactblocker", "reactblocked").await;
    let message = api.send_text(&a, chat, "hello").await;
    let (status, _) = api
        .post(
            &format!("/api/v1/users/{}/block", b.id),
            tok(&a),
            &json!({}),
        )
        .await;
    assert!(status.is_success(), "{status}");
    refused(
        "the blocked one reacts",
        api.post(
            &format!("/api/v1/messages/{}/reactions/toggle", message["id"]),
            tok(&b),
            &json!({"emoji": "❤️"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "blocked",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_recomputes_the_messages_mentions() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let owner = api.register_and_login("mentionowner").await;
    let first = api.register_and_login("mentionfirst").await;
    let second = api.register_and_login("mentionsecond").await;
    let chat = api.group(&owner, &[&first, &second]).await;
    let message = api.send_text(&owner, chat, "hi @mentionfirst").await;
    assert_eq!(message["mentions"], json!([first.id]));
    let unread_mentions = async |user: &TestUser| -> i64 {
        let (_, read) = api.get(&format!("/api/v1/chats/{chat}"), tok(user)).await;
        read["unread_mentions_count"].as_i64().unwrap()
    };
    assert_eq!(unread_mentions(&first).await, 1);
    assert_eq!(unread_mentions(&second).await, 0);
    let mut seconds_socket = api.connect_ws(&second.access_token).await;

    let (status, edited) = api
        .put(
            &format!("/api/v1/messages/{}", message["id"]),
            tok(&owner),
            &json!({"text": "sorry, I meant @mentionsecond"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["mentions"], json!([second.id]));
    let frame = seconds_socket
        .expect_type("message_updated", WAIT)
        .await
        .unwrap();
    assert_eq!(frame["message"]["mentions"], json!([second.id]));
    assert_eq!(unread_mentions(&first).await, 0);
    assert_eq!(unread_mentions(&second).await, 1);
}
