//! Live state on a Redis Cluster (`REDIS_CLUSTER_URLS`, docs/scaling.md):
//! chat events cross replicas over sharded pub/sub, each chat's topic on the
//! node of its slot; presence, rate limits and readiness on the cluster.
//! These tests always use the local cluster `scripts/test` starts; the rest
//! of the Redis-facing tests run on it too in that script's second pass.

use std::collections::HashSet;
use std::time::Duration;

use parley_tests::{TestApp, assert_refused};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);

/// The id of the cluster node that holds `channel`'s slot.
async fn node_of(app: &TestApp, channel: &str) -> String {
    let mut cmd = redis::cmd("CLUSTER");
    cmd.arg("MYID");
    redis::from_redis_value(app.ask_node_of(channel, cmd).await).expect("a node id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_events_cross_replicas_over_sharded_pub_sub_on_every_node() {
    let app = TestApp::spawn_on_cluster().await;
    let replica = app.replica().await;
    let a = app.api.register_and_login("clara").await;
    let b = replica.api.register_and_login("cliff").await;
    // Enough chats that their topics fall on every node of three (the
    // test checks that they do before it counts on it).
    let mut chats = Vec::new();
    let mut nodes = HashSet::new();
    while chats.len() < 12 || nodes.len() < 3 {
        let chat = app.api.group(&a, &[&b]).await;
        nodes.insert(node_of(&app, &format!("{}:chat:{chat}", app.prefix)).await);
        chats.push(chat);
        assert!(chats.len() <= 40, "40 chats' topics all on {nodes:?}");
    }
    let mut ws_a = app.api.connect_ws(&a.access_token).await;
    let mut ws_b = replica.api.connect_ws(&b.access_token).await;

    // Each replica subscribed with SSUBSCRIBE on the node of the topic's
    // slot: sharded pub/sub counts its subscribers there, plain pub/sub
    // would count none.
    for chat in &chats {
        let channel = format!("{}:chat:{chat}", app.prefix);
        assert_eq!(app.channel_subscribers(&channel).await, 2, "{channel}");
    }

    // Sent on one replica, delivered by the other, in each chat's order.
    for (n, chat) in chats.iter().enumerate() {
        let from_b = replica.api.send_text(&b, *chat, &format!("b{n}")).await;
        ws_a.expect_next_message(&from_b, WAIT).await;
        let from_a = app.api.send_text(&a, *chat, &format!("a{n}")).await;
        ws_b.expect_next_message(&from_b, WAIT).await;
        ws_b.expect_next_message(&from_a, WAIT).await;
        ws_a.expect_next_message(&from_a, WAIT).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_rate_limits_and_readiness_live_on_the_cluster() {
    let app = TestApp::spawn_with(|env| {
        env.insert(
            "REDIS_CLUSTER_URLS".into(),
            parley_tests::redis_cluster_urls(),
        );
        env.insert("MESSAGE_RATE_LIMIT_PER_MINUTE".into(), "3".into());
    })
    .await;
    let replica = app.replica().await;
    let (status, ready) = app.api.get("/health/ready", None).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["redis"], "ok");

    // Presence: a socket on one replica is seen from the other.
    let (a, b, chat) = app.api.pair("petra", "pavel").await;
    let mut ws_a = app.api.connect_ws(&a.access_token).await;
    let ws_b = replica.api.connect_ws(&b.access_token).await;
    let online = ws_a.expect_type("presence", WAIT).await.unwrap();
    assert_eq!(
        online,
        json!({"type": "presence", "user_id": b.id, "is_online": true, "last_seen_at": null})
    );
    let (_, chats) = replica
        .api
        .get("/api/v1/chats", Some(&a.access_token))
        .await;
    let listed: &Value = chats
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == chat)
        .expect("the private chat");
    assert_eq!(listed["counterpart_is_online"], true);
    drop(ws_b);
    let offline = ws_a.expect_type("presence", WAIT).await.unwrap();
    assert_eq!(
        (offline["user_id"].clone(), offline["is_online"].clone()),
        (json!(b.id), json!(false))
    );

    // Rate limits: one allowance for both replicas, kept on the cluster.
    for (n, api) in [&app.api, &replica.api, &app.api].into_iter().enumerate() {
        api.send_text(&a, chat, &format!("m{n}")).await;
    }
    let refused = replica
        .api
        .post(
            "/api/v1/messages",
            Some(&a.access_token),
            &json!({"chat_id": chat, "text": "one too many"}),
        )
        .await;
    assert_refused(
        "the fourth send",
        refused,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    );
}
