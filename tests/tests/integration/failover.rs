//! Failures: a replica killed with SIGKILL mid-traffic, and Redis going
//! away and coming back. Acknowledged messages are never lost or doubled;
//! delivery recovers by itself; catch-up fills the hole.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parley_tests::{
    Api, RedisServer, TestApp, TestDatabase, TestUser, WsClient, redis_prefix, spawn_api_process,
    temp_dir, wait_until,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

/// Sends `count` messages as `user`, first through `first`, and after a
/// failure (its replica died) through `fallback`, retrying the failed one
/// with the same `client_message_id`. Counts each acknowledgement in
/// `acks`. Returns the acknowledged message ids.
async fn send_with_failover(
    first: Api,
    fallback: Api,
    user: TestUser,
    chat: i64,
    tag: &str,
    count: usize,
    acks: Arc<AtomicUsize>,
) -> Vec<i64> {
    let mut api = first;
    let mut acked = Vec::new();
    for i in 0..count {
        let body = json!({"chat_id": chat, "text": format!("{tag}-{i}"), "client_message_id": format!("{tag}-{i}")});
        loop {
            let sent = api
                .client
                .post(format!("{}/api/v1/messages", api.base))
                .bearer_auth(&user.access_token)
                .json(&body)
                .send()
                .await;
            match sent {
                Ok(resp) if resp.status().is_success() => {
                    let message: Value = resp.json().await.unwrap();
                    acked.push(message["id"].as_i64().unwrap());
                    acks.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Ok(resp) if resp.status().is_server_error() => {
                    // A retry's back-off, not a wait for anything.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(resp) => panic!("send refused: {}", resp.status()),
                Err(_) => api = fallback.clone(),
            }
        }
        // Paces the load (a client's rhythm), so that the traffic spans the
        // failure; nothing waits on it.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    acked
}

/// Collects `(seq, message id)` of `message_created` frames until `last_seq`.
async fn collect_until(
    ws: &mut WsClient,
    seen: &mut Vec<(i64, i64)>,
    last_seq: i64,
) -> anyhow::Result<()> {
    while seen.last().map_or(0, |(s, _)| *s) < last_seq {
        let frame = ws.next_json(WAIT).await?;
        if frame["type"] == "message_created" {
            seen.push((
                frame["seq"].as_i64().unwrap(),
                frame["message"]["id"].as_i64().unwrap(),
            ));
        }
    }
    Ok(())
}

/// Reads frames until the socket dies; returns the `message_created` ones.
async fn drain_until_dead(ws: &mut WsClient, seen: &mut Vec<(i64, i64)>) {
    while let Ok(frame) = ws.next_json(WAIT).await {
        if frame["type"] == "message_created" {
            seen.push((
                frame["seq"].as_i64().unwrap(),
                frame["message"]["id"].as_i64().unwrap(),
            ));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_replica_loses_and_doubles_nothing() {
    let db = TestDatabase::create().await.unwrap();
    let dir = temp_dir();
    let env = parley_tests::base_env(&db, &redis_prefix(), &dir);
    let (_p1, r1) = spawn_api_process(&env, &dir).await.unwrap();
    let (mut p2, r2) = spawn_api_process(&env, &dir).await.unwrap();
    let a = r1.register_and_login("ana").await;
    let b = r1.register_and_login("bob").await;
    let c = r1.register_and_login("cai").await;
    let (status, chat) = r1
        .post(
            "/api/v1/chats",
            Some(&a.access_token),
            &json!({"type": "group", "title": "failover", "member_ids": [b.id, c.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let chat = chat["id"].as_i64().unwrap();
    let mut ws_a = r1.connect_ws(&a.access_token).await;
    let mut ws_b = r2.connect_ws(&b.access_token).await;
    let mut ws_c = r2.connect_ws(&c.access_token).await;

    let per_user = 150;
    let acks = Arc::new(AtomicUsize::new(0));
    let sender_a = tokio::spawn(send_with_failover(
        r1.clone(),
        r1.clone(),
        a.clone(),
        chat,
        "a",
        per_user,
        acks.clone(),
    ));
    let sender_b = tokio::spawn(send_with_failover(
        r2.clone(),
        r1.clone(),
        b.clone(),
        chat,
        "b",
        per_user,
        acks.clone(),
    ));
    // Mid-traffic: once a quarter of the messages are acknowledged (three
    // quarters are still to come).
    wait_until(
        "a quarter of the messages are acknowledged",
        WAIT,
        || async { acks.load(Ordering::Relaxed) >= per_user / 2 },
    )
    .await;
    p2.kill().await;

    // B and C were on the dead replica: read what they got, then reconnect
    // to the survivor and resume from the last seq they saw.
    let mut seen: HashMap<&str, Vec<(i64, i64)>> = HashMap::new();
    for (name, ws, user) in [("b", &mut ws_b, &b), ("c", &mut ws_c, &c)] {
        let got = seen.entry(name).or_default();
        drain_until_dead(ws, got).await;
        let from = got.last().map_or(1, |(s, _)| *s);
        let mut fresh = r1.connect_ws(&user.access_token).await;
        fresh
            .send_json(&json!({"type": "resume", "chats": {chat.to_string(): from}}))
            .await
            .unwrap();
        *ws = fresh;
    }
    let mut acked = sender_a.await.unwrap();
    acked.extend(sender_b.await.unwrap());
    acked.sort_unstable();
    assert_eq!(acked.len(), 2 * per_user);

    let (_, detail) = r1
        .get(&format!("/api/v1/chats/{chat}"), Some(&a.access_token))
        .await;
    let last_seq = detail["last_seq"].as_i64().unwrap();
    for (name, ws) in [("a", &mut ws_a), ("b", &mut ws_b), ("c", &mut ws_c)] {
        let got = seen.entry(name).or_default();
        collect_until(ws, got, last_seq)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let reference = seen["a"].clone();
    let mut ids: Vec<i64> = reference.iter().map(|(_, id)| *id).collect();
    ids.sort_unstable();
    assert_eq!(ids, acked, "every acknowledged message, exactly once");
    let seqs: Vec<i64> = reference.iter().map(|(s, _)| *s).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in seq order");
    for name in ["b", "c"] {
        assert_eq!(
            seen[name], reference,
            "{name} saw the same messages in the same order"
        );
    }
    // The history agrees.
    let (_, page) = r1
        .get(
            &format!("/api/v1/messages/{chat}?limit=100&after_id=0"),
            Some(&c.access_token),
        )
        .await;
    let first_page: Vec<i64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    let reference_ids: Vec<i64> = reference.iter().map(|(_, id)| *id).collect();
    assert_eq!(first_page, reference_ids[..100]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_recovers_after_a_redis_restart() {
    let (app, mut redis) = TestApp::spawn_with_redis().await;
    let replica = app.replica().await;
    let (a, b, chat) = app.api.pair("ravi", "rosa").await;
    // B listens on the other replica: delivery must cross Redis.
    let mut ws_b = replica.api.connect_ws(&b.access_token).await;
    let m1 = app.api.send_text(&a, chat, "before").await;
    assert_eq!(
        ws_b.expect_type("message_created", WAIT).await.unwrap()["message"]["id"],
        m1["id"]
    );

    redis.stop();
    // Written while Redis is away: stored, not delivered live.
    let (status, m2) = app
        .api
        .post(
            "/api/v1/messages",
            Some(&a.access_token),
            &json!({"chat_id": chat, "text": "during"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "sending does not need Redis: {m2}"
    );
    let _redis = RedisServer::start_on(redis.port).await.unwrap();

    // The replica reconnects by itself and catches the socket up from the log.
    let m2_seen = ws_b
        .expect_type("message_created", Duration::from_secs(15))
        .await
        .unwrap();
    assert_eq!(m2_seen["message"]["id"], m2["id"]);
    // Live delivery works again (the subscriptions were restored before
    // the catch-up above).
    let m3 = app.api.send_text(&a, chat, "after").await;
    let live = ws_b.expect_type("message_created", WAIT).await.unwrap();
    assert_eq!(live["message"]["id"], m3["id"]);
    // Nothing twice: the next frame is the message sent after it.
    let m4 = app.api.send_text(&a, chat, "later").await;
    ws_b.expect_next_message(&m4, WAIT).await;
}

/// The status of a WebSocket upgrade attempt: 101 when it was accepted.
async fn ws_upgrade_status(api: &Api, token: &str) -> u16 {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = api.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((mut stream, response)) => {
            let _ = stream.close(None).await;
            response.status().as_u16()
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(err) => panic!("websocket connect failed: {err}"),
    }
}

/// Issue 6, item 11: while the replica's Redis subscription is down, new
/// sockets and SSE streams are refused with 503 before the upgrade (they
/// could follow no chat); once Redis is back they are accepted again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_connections_are_refused_with_503_while_redis_is_down() {
    let (app, mut redis) = TestApp::spawn_with_redis().await;
    let user = app.api.register_and_login("dora").await;
    assert_eq!(ws_upgrade_status(&app.api, &user.access_token).await, 101);

    redis.stop();
    // The replica notices the lost connection on its own; wait for that.
    wait_until(
        "sockets are refused with 503",
        Duration::from_secs(10),
        || async {
            let status = ws_upgrade_status(&app.api, &user.access_token).await;
            assert!(matches!(status, 101 | 503), "accepted or 503, not {status}");
            status == 503
        },
    )
    .await;
    let (status, body) = app
        .api
        .get("/api/v1/sse/subscribe", Some(&user.access_token))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "service_unavailable");

    let _redis = RedisServer::start_on(redis.port).await.unwrap();
    wait_until(
        "sockets are accepted once Redis is back",
        Duration::from_secs(15),
        || async { ws_upgrade_status(&app.api, &user.access_token).await == 101 },
    )
    .await;
    let mut ws = app.api.connect_ws(&user.access_token).await;
    let (status, _) = app
        .api
        .get("/api/v1/auth/me", Some(&user.access_token))
        .await;
    assert_eq!(status, StatusCode::OK);
    ws.send_json(&json!({"type": "ping", "ref": "p"}))
        .await
        .unwrap();
    assert_eq!(ws.expect_type("pong", WAIT).await.unwrap()["ref"], "p");
}
