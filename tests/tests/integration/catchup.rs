//! Catch-up (API.md): `GET /chats/{id}/events`, `GET /updates`, and the
//! socket's `resume`, including the seam between replay and live events.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use parley_tests::{Api, TestApp, TestUser, WsClient};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

fn seqs(events: &Value) -> Vec<i64> {
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_events_pages_through_the_log() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("anya", "boris").await;
    for i in 0..5 {
        app.api.send_text(&a, chat, &format!("m{i}")).await;
    }
    let token = Some(b.access_token.as_str());
    let (status, page) = app
        .api
        .get(
            &format!("/api/v1/chats/{chat}/events?after_seq=0&limit=4"),
            token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(seqs(&page["events"]), vec![1, 2, 3, 4]);
    assert_eq!(page["events"][0]["type"], "chat_created");
    assert_eq!(page["events"][1]["type"], "message_created");
    assert_eq!(page["has_more"], true);
    assert_eq!(page["next_after_seq"], 4);
    assert_eq!(page["last_seq"], 6);
    let (_, rest) = app
        .api
        .get(&format!("/api/v1/chats/{chat}/events?after_seq=4"), token)
        .await;
    assert_eq!(seqs(&rest["events"]), vec![5, 6]);
    assert_eq!(rest["has_more"], false);
    assert_eq!(rest["resync_required"], false);

    // Up to date: nothing. Ahead of the chat: resync.
    let (_, none) = app
        .api
        .get(&format!("/api/v1/chats/{chat}/events?after_seq=6"), token)
        .await;
    assert_eq!(none["events"], json!([]));
    let (_, ahead) = app
        .api
        .get(&format!("/api/v1/chats/{chat}/events?after_seq=60"), token)
        .await;
    assert_eq!(ahead["resync_required"], true);

    let outsider = app.api.register_and_login("cyril").await;
    let (status, _) = app
        .api
        .get(
            &format!("/api/v1/chats/{chat}/events"),
            Some(&outsider.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .api
        .get(&format!("/api/v1/chats/{chat}/events?limit=1001"), token)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .api
        .get(&format!("/api/v1/chats/{chat}/events?after_seq=-1"), token)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pruned_log_answers_resync_required() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("dora", "egon").await;
    for i in 0..3 {
        app.api.send_text(&a, chat, &format!("m{i}")).await;
    }
    // Retention removed the oldest events.
    let mut conn = app.db.connect().await.unwrap();
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("DELETE FROM chat_events WHERE seq <= 2"),
        &mut conn,
    )
    .await
    .unwrap();
    let token = Some(b.access_token.as_str());
    let (_, page) = app
        .api
        .get(&format!("/api/v1/chats/{chat}/events?after_seq=0"), token)
        .await;
    assert_eq!(page["resync_required"], true);
    assert_eq!(page["events"], json!([]));
    let (_, still) = app
        .api
        .get(&format!("/api/v1/chats/{chat}/events?after_seq=2"), token)
        .await;
    assert_eq!(seqs(&still["events"]), vec![3, 4]);
    assert_eq!(still["resync_required"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_hidden_for_me_is_replayed_as_a_stub() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("fritz", "greta").await;
    let m = app.api.send_text(&a, chat, "secret-ish").await;
    let (status, _) = app
        .api
        .delete(
            &format!("/api/v1/messages/{}", m["id"]),
            Some(&b.access_token),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, page) = app
        .api
        .get(
            &format!("/api/v1/chats/{chat}/events?after_seq=1"),
            Some(&b.access_token),
        )
        .await;
    assert_eq!(
        page["events"],
        json!([{"type": "message_hidden", "chat_id": chat, "seq": 2, "message_id": m["id"]}])
    );
    // The sender still sees it.
    let (_, page) = app
        .api
        .get(
            &format!("/api/v1/chats/{chat}/events?after_seq=1"),
            Some(&a.access_token),
        )
        .await;
    assert_eq!(page["events"][0]["message"]["text"], "secret-ish");
}

/// Three chats of `me` with three others; returns (chat ids, the others).
async fn three_chats(api: &Api, me: &TestUser) -> (Vec<i64>, Vec<TestUser>) {
    let mut chats = Vec::new();
    let mut others = Vec::new();
    for name in ["kurt", "lena", "mats"] {
        let other = api.register_and_login(name).await;
        chats.push(api.private_chat(&other, me).await);
        others.push(other);
    }
    (chats, others)
}

/// Sends `count` messages round-robin over the chats; returns the message
/// ids per chat in send order.
async fn send_round_robin(
    api: &Api,
    chats: &[i64],
    senders: &[TestUser],
    count: usize,
) -> HashMap<i64, Vec<i64>> {
    let mut sent: HashMap<i64, Vec<i64>> = HashMap::new();
    for i in 0..count {
        let k = i % chats.len();
        let m = api
            .send_text(&senders[k], chats[k], &format!("missed {i}"))
            .await;
        sent.entry(chats[k])
            .or_default()
            .push(m["id"].as_i64().unwrap());
    }
    sent
}

/// Reads frames until `resumed`; returns the `message_created` ids per chat
/// and checks each chat's seqs are contiguous from `from[chat] + 1`.
async fn read_until_resumed(
    ws: &mut WsClient,
    from: &BTreeMap<i64, i64>,
) -> (HashMap<i64, Vec<i64>>, Value) {
    let mut got: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut next: BTreeMap<i64, i64> = from.iter().map(|(c, s)| (*c, s + 1)).collect();
    loop {
        let frame = ws.next_json(WAIT).await.unwrap();
        if frame["type"] == "resumed" {
            return (got, frame);
        }
        let chat = frame["chat_id"].as_i64().unwrap();
        let seq = frame["seq"].as_i64().unwrap();
        assert_eq!(
            Some(&seq),
            next.get(&chat),
            "chat {chat}: contiguous seqs, no duplicate: {frame}"
        );
        next.insert(chat, seq + 1);
        if frame["type"] == "message_created" {
            got.entry(chat)
                .or_default()
                .push(frame["message"]["id"].as_i64().unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_replays_exactly_what_was_missed_then_goes_live() {
    let app = TestApp::spawn().await;
    let me = app.api.register_and_login("jana").await;
    let (chats, others) = three_chats(&app.api, &me).await;

    // Where the client stood when it dropped.
    let (_, list) = app.api.get("/api/v1/chats", Some(&me.access_token)).await;
    let from: BTreeMap<i64, i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_i64().unwrap(), c["last_seq"].as_i64().unwrap()))
        .collect();
    let (_, updates) = app.api.get("/api/v1/updates", Some(&me.access_token)).await;
    let token = updates["token"].as_str().unwrap().to_owned();

    let sent = send_round_robin(&app.api, &chats, &others, 500).await;

    let mut ws = app.api.connect_ws(&me.access_token).await;
    let chats_arg: BTreeMap<String, i64> = from.iter().map(|(c, s)| (c.to_string(), *s)).collect();
    ws.send_json(&json!({"type": "resume", "ref": "r1", "chats": chats_arg}))
        .await
        .unwrap();
    let (got, resumed) = read_until_resumed(&mut ws, &from).await;
    assert_eq!(got, sent, "exactly the missed messages, in order");
    assert_eq!(resumed["ref"], "r1");

    // Then live.
    let live = app.api.send_text(&others[0], chats[0], "live").await;
    let frame = ws.expect_type("message_created", WAIT).await.unwrap();
    assert_eq!(frame["message"]["id"], live["id"]);
    // Nothing twice: the next frame is the message sent after it.
    let later = app.api.send_text(&others[0], chats[0], "later").await;
    ws.expect_next_message(&later, WAIT).await;

    // The same through GET /updates, page by page.
    let mut via_updates: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut since = token;
    loop {
        let (status, page) = app
            .api
            .get(
                &format!("/api/v1/updates?since={since}&limit=50"),
                Some(&me.access_token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for chat in page["chats"].as_array().unwrap() {
            assert_eq!(chat["resync_required"], false);
            for event in chat["events"].as_array().unwrap() {
                if event["type"] == "message_created" {
                    via_updates
                        .entry(chat["chat_id"].as_i64().unwrap())
                        .or_default()
                        .push(event["message"]["id"].as_i64().unwrap());
                }
            }
        }
        since = page["token"].as_str().unwrap().to_owned();
        if page["has_more"] == false {
            break;
        }
    }
    let mut expected = sent.clone();
    expected
        .get_mut(&chats[0])
        .unwrap()
        .extend([live["id"].as_i64().unwrap(), later["id"].as_i64().unwrap()]);
    assert_eq!(via_updates, expected);
    let (_, after) = app
        .api
        .get(
            &format!("/api/v1/updates?since={since}"),
            Some(&me.access_token),
        )
        .await;
    assert_eq!(
        after["chats"],
        json!([]),
        "nothing new after the last token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_sent_during_resume_are_neither_lost_nor_duplicated() {
    let app = TestApp::spawn().await;
    let me = app.api.register_and_login("nils").await;
    let (chats, others) = three_chats(&app.api, &me).await;
    let from: BTreeMap<i64, i64> = chats.iter().map(|c| (*c, 1)).collect();
    let before = send_round_robin(&app.api, &chats, &others, 150).await;

    let mut ws = app.api.connect_ws(&me.access_token).await;
    // Keep sending while the replay runs.
    let api = app.api.clone();
    let (senders, chat_ids) = (others.clone(), chats.clone());
    let during = tokio::spawn(async move { send_round_robin(&api, &chat_ids, &senders, 90).await });
    let chats_arg: BTreeMap<String, i64> = from.iter().map(|(c, s)| (c.to_string(), *s)).collect();
    ws.send_json(&json!({"type": "resume", "chats": chats_arg}))
        .await
        .unwrap();
    let (mut got, _) = read_until_resumed(&mut ws, &from).await;
    let during = during.await.unwrap();

    // Whatever the replay did not include arrives live, contiguously.
    let mut next: BTreeMap<i64, i64> = BTreeMap::new();
    for chat in &chats {
        let seen = got.get(chat).map_or(0, Vec::len) as i64;
        next.insert(*chat, 2 + seen);
    }
    let total: usize = chats
        .iter()
        .map(|c| before[c].len() + during[c].len())
        .sum();
    while got.values().map(Vec::len).sum::<usize>() < total {
        let frame = ws.expect_type("message_created", WAIT).await.unwrap();
        let chat = frame["chat_id"].as_i64().unwrap();
        let seq = frame["seq"].as_i64().unwrap();
        assert_eq!(Some(&seq), next.get(&chat), "contiguous across the seam");
        next.insert(chat, seq + 1);
        got.entry(chat)
            .or_default()
            .push(frame["message"]["id"].as_i64().unwrap());
    }
    for chat in &chats {
        let mut expected = before[chat].clone();
        expected.extend(&during[chat]);
        assert_eq!(got[chat], expected, "chat {chat}");
    }
    // Nothing twice: the next frame is a message sent after all of them.
    let later = app.api.send_text(&others[0], chats[0], "later").await;
    ws.expect_next_message(&later, WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_refusals_and_bad_tokens() {
    let app = TestApp::spawn().await;
    let a = app.api.register_and_login("olaf").await;
    let b = app.api.register_and_login("pina").await;
    let stranger = app.api.register_and_login("quent").await;
    let theirs = app.api.private_chat(&b, &stranger).await;
    let mut ws = app.api.connect_ws(&a.access_token).await;
    ws.send_json(&json!({"type": "resume", "ref": 9, "chats": {theirs.to_string(): 0}}))
        .await
        .unwrap();
    let err = ws.next_json(WAIT).await.unwrap();
    assert_eq!(err["type"], "error");
    assert_eq!(err["code"], "not_a_member");
    assert_eq!(err["ref"], "9");
    let resumed = ws.next_json(WAIT).await.unwrap();
    assert_eq!(resumed, json!({"type": "resumed", "ref": "9", "chats": {}}));
    ws.send_json(&json!({"type": "resume", "chats": [1, 2]}))
        .await
        .unwrap();
    assert_eq!(ws.next_json(WAIT).await.unwrap()["code"], "invalid_frame");

    let (status, err) = app
        .api
        .get("/api/v1/updates?since=garbage", Some(&a.access_token))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["code"], "invalid_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_prunes_old_events_and_late_clients_resync() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("vito", "wilma").await;
    for i in 0..3 {
        app.api.send_text(&a, chat, &format!("m{i}")).await;
    }
    let mut conn = app.db.connect().await.unwrap();
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE chat_events SET created_at = now() - interval '40 days' WHERE chat_id = {chat} AND seq <= 2"
        )),
        &mut conn,
    )
    .await
    .unwrap();

    let settings = parley_shared::Settings::from_map(app.env.clone()).unwrap();
    assert_eq!(settings.retention.chat_events_days, 30);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(parley_worker::run_until(settings, async move {
        let _ = stopped.await;
        Ok(())
    }));
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, page) = app
            .api
            .get(
                &format!("/api/v1/chats/{chat}/events?after_seq=0"),
                Some(&b.access_token),
            )
            .await;
        if page["resync_required"] == true {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "events were not pruned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop.send(());
    worker.await.unwrap().unwrap();

    let (_, recent) = app
        .api
        .get(
            &format!("/api/v1/chats/{chat}/events?after_seq=2"),
            Some(&b.access_token),
        )
        .await;
    assert_eq!(seqs(&recent["events"]), vec![3, 4], "recent events stay");
    let mut ws = app.api.connect_ws(&b.access_token).await;
    ws.send_json(&json!({"type": "resume", "chats": {chat.to_string(): 0}}))
        .await
        .unwrap();
    let resync = ws.next_json(WAIT).await.unwrap();
    assert_eq!(
        resync,
        json!({"type": "resync_required", "chat_id": chat, "last_seq": 4})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_between_ready_and_resume_is_sent_once_in_order() {
    let app = TestApp::spawn().await;
    let (a, b, chat) = app.api.pair("xaver", "yvonne").await;
    let older = app.api.send_text(&a, chat, "missed while away").await;
    // A probe: a socket of A's that is already live (its first frame opened
    // its gate) and also follows a second chat, which B is not in.
    let c = app.api.register_and_login("zenzi").await;
    let probe_chat = app.api.private_chat(&a, &c).await;
    let mut probe = app.api.connect_ws(&a.access_token).await;
    probe
        .send_json(&json!({"type": "ping", "ref": "probe"}))
        .await
        .unwrap();
    assert_eq!(
        probe.expect_type("pong", WAIT).await.unwrap()["ref"],
        "probe"
    );

    let mut ws = app.api.connect_ws(&b.access_token).await;
    // Committed after `ready`, before the client says `resume`.
    let newer = app.api.send_text(&a, chat, "sent right after ready").await;
    // Wait until the live event is queued on B's socket: a message published
    // after it, in the probe's chat, reached the probe, and this replica
    // routes what it receives in order.
    let marker = app.api.send_text(&c, probe_chat, "marker").await;
    let seen = probe.expect_type("message_created", WAIT).await.unwrap();
    assert_eq!(
        seen["message"]["id"], newer["id"],
        "the probe sees B's chat first"
    );
    probe.expect_next_message(&marker, WAIT).await;
    ws.send_json(&json!({"type": "resume", "chats": {chat.to_string(): 1}}))
        .await
        .unwrap();
    let first = ws.next_json(WAIT).await.unwrap();
    let second = ws.next_json(WAIT).await.unwrap();
    assert_eq!(
        (first["seq"].as_i64(), &first["message"]["id"]),
        (Some(2), &older["id"])
    );
    assert_eq!(
        (second["seq"].as_i64(), &second["message"]["id"]),
        (Some(3), &newer["id"])
    );
    assert_eq!(ws.next_json(WAIT).await.unwrap()["type"], "resumed");
    // Nothing twice: the next frame is the message sent after all of them.
    let later = app.api.send_text(&a, chat, "later").await;
    ws.expect_next_message(&later, WAIT).await;
}
