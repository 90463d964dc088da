//! Backpressure (ARCHITECTURE §3): each socket's outbound queue is bounded;
//! a client that stops reading is closed (1013) and recovers by `resume`,
//! and the server's memory does not grow with it.

use std::time::Duration;

use futures_util::StreamExt;
use parley_tests::metrics::{scrape, value};
use parley_tests::{TestDatabase, redis_prefix, rss_kib, spawn_api_process, temp_dir};
use reqwest::StatusCode;
use serde_json::json;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_and_memory_stays_bounded() {
    let db = TestDatabase::create().await.unwrap();
    let dir = temp_dir();
    let mut env = parley_tests::base_env(&db, &redis_prefix(), &dir);
    env.insert("WS_OUTBOUND_QUEUE".into(), "32".into());
    // The sends below take longer than the default 30 s linger on a
    // loaded machine; the client must still find its 1013 when it reads.
    env.insert("WS_SLOW_CLOSE_LINGER_MS".into(), "600000".into());
    env.insert("MESSAGE_RATE_LIMIT_PER_MINUTE".into(), "0".into());
    let (process, api) = spawn_api_process(&env, &dir).await.unwrap();
    let pid = process.child.id().expect("pid");
    let (a, b, chat) = api.pair("slowpoke", "sender").await;

    // A's socket: a tiny receive buffer, and it never reads after `ready`.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let port: u16 = api.base.rsplit(':').next().unwrap().parse().unwrap();
    let stream = socket.connect(([127, 0, 0, 1], port).into()).await.unwrap();
    let mut request = api.ws_url().into_client_request().unwrap();
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {}", a.access_token)).unwrap(),
    );
    let (mut slow, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap();
    let ready = slow.next().await.unwrap().unwrap();
    assert!(ready.to_text().unwrap().contains("ready"));

    // A healthy socket of B keeps getting everything meanwhile.
    let mut healthy = api.connect_ws(&b.access_token).await;

    // Warm up, then measure.
    let text = "한".repeat(4000); // 12 KB per message
    for _ in 0..20 {
        api.send_text(&b, chat, &text).await;
    }
    let before = rss_kib(pid);
    let total = 2400;
    // The healthy socket has the same 32-frame queue as the slow one; on a
    // loaded machine four unpaced senders can outrun its reader, which
    // would then be closed too. The senders stay at most `AHEAD` sends in
    // front of what it has read; the slow socket, reading nothing, still
    // overflows.
    const AHEAD: usize = 8;
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (read_tx, read_rx) = tokio::sync::watch::channel(0usize);
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (api, b, text) = (api.clone(), b.clone(), text.clone());
        let (sent, mut read_rx) = (sent.clone(), read_rx.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..total / 4 {
                let mine = sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                read_rx
                    .wait_for(|read| mine < read + AHEAD)
                    .await
                    .expect("the reader is alive");
                let (status, body) = api
                    .post(
                        "/api/v1/messages",
                        Some(&b.access_token),
                        &json!({"chat_id": chat, "text": text, "client_message_id": format!("{worker}-{i}")}),
                    )
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
            }
        }));
    }
    // The healthy socket reads as it goes.
    let mut received = 0usize;
    while received < 20 + total {
        let frame = healthy.next_json(Duration::from_secs(20)).await.unwrap();
        if frame["type"] == "message_created" {
            received += 1;
            read_tx.send_replace(received.saturating_sub(20));
        }
    }
    drop(read_rx);
    for task in tasks {
        task.await.unwrap();
    }
    let after = rss_kib(pid);
    // 2,400 × 12 KB = 28 MiB went to a socket that read none of it.
    let growth_mib = after.saturating_sub(before) / 1024;
    println!("api RSS before {before} KiB, after {after} KiB, growth {growth_mib} MiB");
    assert!(
        growth_mib < 16,
        "RSS grew by {growth_mib} MiB: the slow socket's queue is not bounded"
    );

    // The slow socket was closed by the server: reading what was buffered
    // for it ends in the documented close frame, 1013 (issue 6, item 11).
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        let mut frames = 0;
        while let Some(frame) = slow.next().await {
            match frame {
                Ok(Message::Close(close)) => return (frames, close.map(|c| u16::from(c.code))),
                Ok(_) => frames += 1,
                Err(_) => return (frames, None),
            }
        }
        (frames, None)
    })
    .await
    .expect("the slow socket was never closed");
    println!(
        "slow socket: {} frames before the close, close code {:?}",
        ended.0, ended.1
    );
    assert!(
        ended.0 < total,
        "the server stopped sending to the slow socket"
    );
    assert_eq!(ended.1, Some(1013), "closed with 1013, not dropped (1006)");
}

/// A socket whose queue overflows while its client still reads (a burst
/// outruns the socket task) catches up from the log (ARCHITECTURE §3):
/// every message arrives once and in seq order, and the socket stays open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_whose_queue_overflows_while_it_reads_still_gets_every_message_once_in_order() {
    let db = TestDatabase::create().await.unwrap();
    let dir = temp_dir();
    let mut env = parley_tests::base_env(&db, &redis_prefix(), &dir);
    env.insert("WS_OUTBOUND_QUEUE".into(), "1".into());
    env.insert("MESSAGE_RATE_LIMIT_PER_MINUTE".into(), "0".into());
    env.insert("METRICS_TOKEN".into(), "scrape".into());
    let (_process, api) = spawn_api_process(&env, &dir).await.unwrap();
    let (a, b, chat) = api.pair("bursty", "burster").await;
    let mut reader = api.connect_ws(&a.access_token).await;

    let total = 300;
    let mut tasks = Vec::new();
    for worker in 0..6 {
        let (api, b) = (api.clone(), b.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..total / 6 {
                let (status, body) = api
                    .post(
                        "/api/v1/messages",
                        Some(&b.access_token),
                        &json!({"chat_id": chat, "text": format!("{worker}-{i}"), "client_message_id": format!("{worker}-{i}")}),
                    )
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
            }
        }));
    }
    let mut last_seq = 0;
    let mut ids = std::collections::HashSet::new();
    while ids.len() < total {
        let frame = reader.next_json(Duration::from_secs(20)).await.unwrap();
        if frame["type"] != "message_created" {
            continue;
        }
        let seq = frame["seq"].as_i64().expect("seq");
        assert!(
            seq > last_seq,
            "seq {seq} after {last_seq}: out of order or twice"
        );
        last_seq = seq;
        assert!(ids.insert(frame["message"]["id"].as_i64().expect("id")));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // The queue of one did overflow: the catch-up above is what delivered.
    let (_, metrics) = scrape(&api, Some("scrape")).await;
    let dropped = value(&metrics, "parley_frames_dropped_total", &[]);
    assert!(
        dropped > 0.0,
        "no frame was dropped: the burst did not overflow the queue"
    );
}
