//! Seed 002 ("Message API": 1:1 conversations) as its client speaks it,
//! against two replicas: every endpoint of §1–§11 under `/compat/school`
//! (and the document's own paths where Parley serves them too), the
//! answers in the document's shapes, and the refusals.

use std::time::Duration;

use parley_tests::{SseClient, SseEvent, TestApp, TestUser, tok};
use reqwest::StatusCode;
use serde_json::{Value, json};

const P: &str = "/compat/school";

/// `yyyy-MM-ddTHH:mm:ss`, as the document writes times.
fn is_local_time(value: &Value) -> bool {
    let text = value.as_str().unwrap_or_default();
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").is_ok()
}

async fn send(api: &parley_tests::Api, user: &TestUser, conversation: i64, content: &str) -> Value {
    let (status, sent) = api
        .post(
            &format!("{P}/api/v1/messages"),
            tok(user),
            &json!({"conversationId": conversation, "content": content}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_school_client_uses_every_endpoint_across_two_replicas() {
    let app = TestApp::spawn().await;
    let second = app.replica().await;
    let (one, two) = (&app.api, &second.api);
    let a = one.register_and_login("hong").await;
    let b = two.register_and_login("kimcs").await;
    let c = one.register_and_login("leeyh").await;

    // §2 from either side: one conversation.
    let (status, made) = one
        .post(
            &format!("{P}/api/v1/conversations/with/{}", b.id),
            tok(&a),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let conversation = made["conversationId"].as_i64().unwrap();
    assert_eq!(made["otherUserId"], b.id);
    assert_eq!(made["otherUserName"], "kimcs");
    assert_eq!(made["otherUserType"], "USER");
    assert!(is_local_time(&made["createdAt"]), "{made}");
    let (_, same) = two
        .post(
            &format!("/api/v1/conversations/with/{}", a.id),
            tok(&b),
            &json!({}),
        )
        .await;
    assert_eq!(same["conversationId"], conversation);
    assert_eq!(same["otherUserId"], a.id);

    // §7 on one replica, the answer in the document's shape.
    let hello = send(one, &a, conversation, "안녕하세요!").await;
    assert_eq!(hello["conversationId"], conversation);
    assert_eq!(hello["senderId"], a.id);
    assert_eq!(hello["senderName"], "hong");
    assert_eq!(hello["content"], "안녕하세요!");
    assert_eq!(hello["isRead"], false);
    assert!(is_local_time(&hello["sentAt"]));
    let reply = send(two, &b, conversation, "네, 알겠습니다!").await;

    // §1 and §6: B has A's message unread; the list shows the last message.
    let (status, list) = two.get(&format!("{P}/api/v1/conversations"), tok(&b)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["conversationId"], conversation);
    assert_eq!(list[0]["otherUserId"], a.id);
    assert_eq!(list[0]["lastMessage"], "네, 알겠습니다!");
    assert!(is_local_time(&list[0]["lastMessageAt"]));
    assert_eq!(list[0]["unreadCount"], 1);
    let (_, own_path) = two.get("/api/v1/conversations", tok(&b)).await;
    assert_eq!(own_path, list, "the document's own path serves the same");
    let (_, unread) = one
        .get(&format!("{P}/api/v1/conversations/unread-count"), tok(&a))
        .await;
    assert_eq!(unread, json!(1));

    // §9: newest first, cursor paging.
    let page = |cursor: Option<i64>| {
        let cursor = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
        format!("{P}/api/v1/messages/conversations/{conversation}?size=1{cursor}")
    };
    let (status, first) = one.get(&page(None), tok(&a)).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["messages"][0]["messageId"], reply["messageId"]);
    assert_eq!(first["messages"][0]["isMine"], false);
    assert_eq!(first["messages"][0]["senderName"], "kimcs");
    assert_eq!(first["hasNext"], true);
    let (_, second_page) = one.get(&page(first["nextCursor"].as_i64()), tok(&a)).await;
    assert_eq!(second_page["messages"][0]["messageId"], hello["messageId"]);
    assert_eq!(second_page["messages"][0]["isMine"], true);
    assert_eq!(
        second_page["messages"][0]["isRead"], false,
        "B has not read it"
    );
    assert_eq!(second_page["hasNext"], false);
    assert_eq!(second_page["nextCursor"], Value::Null);
    // The largest size the document allows: both messages, newest first.
    let whole = format!("{P}/api/v1/messages/conversations/{conversation}?size=100");
    let (status, all) = one.get(&whole, tok(&a)).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["messages"][1]["messageId"], hello["messageId"], "{all}");
    assert_eq!(all["hasNext"], false);

    // §5 (B) and §11 (A): read everything.
    let (status, _) = two
        .post(
            &format!("{P}/api/v1/conversations/{conversation}/read"),
            tok(&b),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, unread) = two.get("/api/v1/conversations/unread-count", tok(&b)).await;
    assert_eq!(unread, json!(0));
    let (_, second_page) = one.get(&page(first["nextCursor"].as_i64()), tok(&a)).await;
    assert_eq!(second_page["messages"][0]["isRead"], true, "B read it");
    let (status, _) = one
        .post(
            &format!("/api/v1/messages/conversations/{conversation}/read"),
            tok(&a),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, unread) = one
        .get(&format!("{P}/api/v1/conversations/unread-count"), tok(&a))
        .await;
    assert_eq!(unread, json!(0));

    // §3.
    let (status, detail) = two
        .get(&format!("{P}/api/v1/conversations/{conversation}"), tok(&b))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["otherUserName"], "hong");

    // §8: one message per receiver, each in its own conversation.
    let (status, bulk) = one
        .post(
            &format!("{P}/api/v1/messages/bulk"),
            tok(&a),
            &json!({"receiverIds": [b.id, c.id, b.id], "content": "공지사항입니다."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{bulk}");
    let bulk = bulk.as_array().unwrap();
    assert_eq!(bulk.len(), 2, "{bulk:?}");
    assert_eq!(
        (
            bulk[0]["receiverId"].clone(),
            bulk[0]["conversationId"].clone()
        ),
        (json!(b.id), json!(conversation))
    );
    assert_eq!(bulk[1]["receiverId"], c.id);
    let (_, c_list) = one.get(&format!("{P}/api/v1/conversations"), tok(&c)).await;
    assert_eq!(c_list[0]["conversationId"], bulk[1]["conversationId"]);
    assert_eq!(c_list[0]["lastMessage"], "공지사항입니다.");

    // §10: only one's own messages; then gone from the page.
    let (status, err) = two
        .delete(
            &format!("{P}/api/v1/messages/{}", hello["messageId"]),
            tok(&b),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    let (status, _) = one
        .delete(
            &format!("{P}/api/v1/messages/{}", hello["messageId"]),
            tok(&a),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, all) = one
        .get(
            &format!("{P}/api/v1/messages/conversations/{conversation}"),
            tok(&a),
        )
        .await;
    let ids: Vec<&Value> = all["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["messageId"])
        .collect();
    assert!(!ids.contains(&&hello["messageId"]), "{all}");
    assert_eq!(ids.len(), 2, "the reply and the notice: {all}");

    // §4: deleted for B only.
    let (status, _) = two
        .delete(&format!("{P}/api/v1/conversations/{conversation}"), tok(&b))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, b_list) = two.get(&format!("{P}/api/v1/conversations"), tok(&b)).await;
    assert_eq!(b_list, json!([]));
    let (_, a_list) = one.get(&format!("{P}/api/v1/conversations"), tok(&a)).await;
    assert_eq!(a_list.as_array().map(Vec::len), Some(2), "{a_list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_school_client_is_refused_what_it_may_not_do() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let (a, _b, conversation) = api.pair("refa", "refb").await;
    let outsider = api.register_and_login("refout").await;
    let group = api.group(&a, &[]).await;
    let code = |v: &Value| v["code"].as_str().map(str::to_owned);

    let (status, _) = api.get(&format!("{P}/api/v1/conversations"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for path in [
        format!("{P}/api/v1/conversations/{conversation}"),
        format!("{P}/api/v1/messages/conversations/{conversation}"),
    ] {
        let (status, err) = api.get(&path, tok(&outsider)).await;
        assert_eq!(
            (status, code(&err)),
            (StatusCode::FORBIDDEN, Some("not_a_member".into())),
            "{path}"
        );
    }
    let (status, err) = api
        .post(
            &format!("{P}/api/v1/messages"),
            tok(&outsider),
            &json!({"conversationId": conversation, "content": "끼어들기"}),
        )
        .await;
    assert_eq!(
        (status, code(&err)),
        (StatusCode::FORBIDDEN, Some("not_a_member".into()))
    );
    let (status, err) = api
        .get(&format!("{P}/api/v1/conversations/{group}"), tok(&a))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a group is no conversation: {err}"
    );
    let (status, err) = api
        .get(
            &format!("{P}/api/v1/messages/conversations/{conversation}?size=0"),
            tok(&a),
        )
        .await;
    assert_eq!(
        (status, code(&err)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("validation_error".into())
        )
    );
    let (status, err) = api
        .post(
            &format!("{P}/api/v1/messages"),
            tok(&a),
            &json!({"conversationId": conversation, "content": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let (status, _) = api
        .post(
            &format!("{P}/api/v1/messages"),
            tok(&a),
            &json!({"content": "no id"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = api
        .post(
            &format!("{P}/api/v1/conversations/with/{}", a.id),
            tok(&a),
            &json!({}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no conversation with oneself"
    );
    let (status, _) = api
        .get(&format!("{P}/api/v1/conversations/abc"), tok(&a))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nothing was written by the refusals.
    let (_, page) = api
        .get(
            &format!("{P}/api/v1/messages/conversations/{conversation}"),
            tok(&a),
        )
        .await;
    assert_eq!(page["messages"], json!([]));
}

/// Opens the school stream of `user` and waits for its first heartbeat,
/// which says that it follows the user's conversations.
async fn open_stream(
    api: &parley_tests::Api,
    user: &TestUser,
    last_event_id: Option<&str>,
) -> SseClient {
    let path = format!("{P}/api/v1/sse/subscribe");
    let mut stream = SseClient::connect_at(api, &path, &user.access_token, last_event_id)
        .await
        .unwrap();
    let first = stream.next_event(Duration::from_secs(10)).await.unwrap();
    assert_eq!(
        first.event.as_deref(),
        Some("heartbeat"),
        "{:?}",
        first.data
    );
    assert!(
        first.id.is_some(),
        "the first heartbeat carries a resume id"
    );
    stream
}

/// The next event of the school stream that is not a heartbeat, within 10
/// seconds.
async fn next_named(stream: &mut SseClient) -> SseEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let event = stream
            .next_event(left)
            .await
            .expect("a named event within 10 s");
        if event.event.as_deref() != Some("heartbeat") {
            return event;
        }
    }
}

/// §12: the document's named events on a stream opened on the other
/// replica, only for conversations, with heartbeats and a resume by
/// `Last-Event-ID`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_school_stream_names_its_events_and_resumes() {
    let app = TestApp::spawn_with(|env| {
        env.insert("SSE_HEARTBEAT_INTERVAL_MS".into(), "200".into());
    })
    .await;
    let second = app.replica().await;
    let (one, two) = (&app.api, &second.api);
    let a = one.register_and_login("ssehong").await;
    let b = two.register_and_login("ssekim").await;
    let (_, made) = one
        .post(
            &format!("{P}/api/v1/conversations/with/{}", b.id),
            tok(&a),
            &json!({}),
        )
        .await;
    let conversation = made["conversationId"].as_i64().unwrap();
    let group = one.group(&a, &[&b]).await;
    let path = format!("{P}/api/v1/sse/subscribe");
    let mut stream = open_stream(two, &b, None).await;

    let first = send(one, &a, conversation, "첫 번째").await;
    let event = next_named(&mut stream).await;
    assert_eq!(event.event.as_deref(), Some("message"));
    assert_eq!(
        event.data,
        json!({"type": "NEW_MESSAGE", "conversationId": conversation,
               "messageId": first["messageId"], "senderName": "ssehong", "content": "첫 번째"})
    );
    // A group message is no conversation's: the next event is the next
    // conversation message.
    one.send_text(&a, group, "그룹 메시지").await;
    let second_message = send(one, &a, conversation, "두 번째").await;
    let event = next_named(&mut stream).await;
    assert_eq!(
        event.data["messageId"], second_message["messageId"],
        "{:?}",
        event.data
    );
    let resume_from = event.id.clone().expect("an id to resume from");

    // A's read reaches B as `read`.
    let (status, _) = one
        .post(
            &format!("{P}/api/v1/conversations/{conversation}/read"),
            tok(&a),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let event = next_named(&mut stream).await;
    assert_eq!(event.event.as_deref(), Some("read"));
    assert_eq!(event.data["readerId"], a.id);
    assert_eq!(event.data["messageId"], second_message["messageId"]);

    // Heartbeats are named events.
    let beat = loop {
        let event = stream.next_event(Duration::from_secs(5)).await.unwrap();
        if event.event.as_deref() == Some("heartbeat") {
            break event;
        }
    };
    assert_eq!(beat.data, json!({"type": "HEARTBEAT"}));

    // Gone, then back with Last-Event-ID: what was missed comes first.
    drop(stream);
    let missed = send(one, &a, conversation, "놓친 메시지").await;
    let mut stream = open_stream(two, &b, Some(&resume_from)).await;
    let mut seen = Vec::new();
    while seen.last() != Some(&missed["messageId"]) {
        let event = next_named(&mut stream).await;
        if event.event.as_deref() == Some("message") {
            seen.push(event.data["messageId"].clone());
        }
    }
    assert_eq!(
        seen,
        [missed["messageId"].clone()],
        "only the missed message"
    );

    // Refusals before the stream starts.
    let (status, _) = two.get(&path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let refused = SseClient::connect_at(two, &path, &b.access_token, Some("garbage")).await;
    assert!(refused.is_err_and(|e| e.to_string().contains("422")));
}

/// §12 `notification`: a mention in a chat the reader muted notifies them
/// though they are online (seed 004 §7); the school stream names it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_school_stream_carries_notifications() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let a = api.register_and_login("notehong").await;
    let b = api.register_and_login("notekim").await;
    let group = api.group(&a, &[&b]).await;
    let (status, body) = api
        .put(
            &format!("/api/v1/chats/{group}/notifications"),
            tok(&b),
            &json!({"muted": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut stream = open_stream(api, &b, None).await;
    let _worker = app.start_worker();
    let sent = api.send_text(&a, group, "@notekim 확인 부탁해요").await;
    let event = next_named(&mut stream).await;
    assert_eq!(
        event.event.as_deref(),
        Some("notification"),
        "{:?}",
        event.data
    );
    assert_eq!(event.data["type"], "MENTION");
    assert_eq!(event.data["title"], "You were mentioned");
    assert_eq!(event.data["content"], "@notekim 확인 부탁해요");
    assert_eq!(event.data["conversationId"], group);
    assert_eq!(event.data["messageId"], sent["id"]);
}
