//! Measured rounds of the direct and group scenarios: one round at a rate
//! ([`measure`]), or rounds at rising rates until one breaks ([`ramp`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use serde_json::json;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::cpu;
use crate::sockets::{Received, Socket, open_socket, spawn_reader};
use crate::{Setup, Via, now_us, open_sockets};

/// `--ramp`: rounds at `--rate`, then × `--ramp-factor` each, until one
/// breaks (p99 over `--max-p99-ms`, a loss, a duplicate, an error, or the
/// sender falling 5% short of the rate); prints each round, then the last
/// good one as `{"ramp": …, "last_good": report, "broke": report}`.
pub async fn ramp(setup: &Setup<'_>) -> anyhow::Result<()> {
    let args = setup.args;
    let mut rate = args.rate;
    let mut last_good = serde_json::Value::Null;
    for round in 0.. {
        let report = measure(setup, rate, round).await?;
        let p99 = report["latency_ms"]["p99"].as_f64().unwrap_or(f64::MAX);
        let clean = ["lost", "duplicated", "errors"]
            .iter()
            .all(|key| report[key].as_u64() == Some(0));
        let kept_up = report["sends_per_sec"].as_f64().unwrap_or(0.0) >= 0.95 * rate;
        let good = clean && kept_up && p99 <= args.max_p99_ms;
        eprintln!(
            "round {round}: {rate:.0}/s target, {} sends/s, p99 {p99:.1} ms: {}",
            report["sends_per_sec"],
            if good { "good" } else { "broke" }
        );
        if !good {
            let summary = json!({
                "ramp": {"max_p99_ms": args.max_p99_ms, "factor": args.ramp_factor},
                "last_good_rate": last_good["target_rate"],
                "last_good": last_good,
                "broke": report,
            });
            println!("{summary}");
            return Ok(());
        }
        last_good = report;
        rate *= args.ramp_factor;
    }
    Ok(())
}

/// One measured round at `rate` messages/s for `--duration` s: fresh
/// sockets and readers, the sends (`client_message_id`s unique to the
/// round), the drain, and the report (one JSON object).
pub async fn measure(
    setup: &Setup<'_>,
    rate: f64,
    round: u32,
) -> anyhow::Result<serde_json::Value> {
    let Setup {
        apis,
        args,
        users,
        chats,
        ..
    } = *setup;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let deliveries = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = open_sockets(setup)
        .await?
        .into_iter()
        .map(|stream| spawn_reader(args.reader, stream, deliveries.clone(), stop_rx.clone()))
        .collect();

    // Send at the target rate.
    let total = (rate * args.duration).round() as u64;
    let bar = ProgressBar::new(total)
        .with_style(setup.style.clone())
        .with_prefix("messages");
    let errors = Arc::new(AtomicU64::new(0));
    let acked: Arc<Mutex<Vec<i64>>> = Arc::new(Mutex::new(Vec::new()));
    let permits = Arc::new(tokio::sync::Semaphore::new(args.concurrency));
    // Socket sends: each sender's own socket; its reader hands each `ack`
    // (or `error`) to the send waiting for it, by `ref`.
    let mut sender_sockets = Vec::new();
    let waiting: Arc<std::sync::Mutex<HashMap<String, Answer>>> = Arc::default();
    if args.via == Via::Ws {
        for (i, user) in users.iter().enumerate() {
            let api = &apis[i % apis.len()];
            let (sink, stream) = open_socket(api, &user.access_token).await?.split();
            tokio::spawn(read_acks(stream, waiting.clone(), stop_rx.clone()));
            sender_sockets.push(Arc::new(Mutex::new(sink)));
        }
    }
    let interval = Duration::from_secs_f64(1.0 / rate);
    let cpu_before = cpu::sample();
    let started = Instant::now();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    for n in 0..total {
        tick.tick().await;
        let (chat, members) = &chats[n as usize % chats.len()];
        let sender = members[(n as usize / chats.len()) % members.len()];
        let text = format!("bench|{}|{n}", now_us());
        let client_message_id = format!("{round}-{n}");
        let permit = permits.clone().acquire_owned().await?;
        let (errors, acked, bar) = (errors.clone(), acked.clone(), bar.clone());
        let chat = *chat;
        match args.via {
            Via::Rest => {
                let api = apis[sender % apis.len()].clone();
                let token = users[sender].access_token.clone();
                tasks.push(tokio::spawn(async move {
                    let (status, body) = api
                        .post(
                            "/api/v1/messages",
                            Some(&token),
                            &json!({"chat_id": chat, "text": text, "client_message_id": client_message_id}),
                        )
                        .await;
                    if status.is_success() {
                        acked.lock().await.push(body["id"].as_i64().unwrap_or(-1));
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    bar.inc(1);
                    drop(permit);
                }));
            }
            Via::Ws => {
                // `--concurrency` sends in flight, each until its ack.
                let socket = sender_sockets[sender].clone();
                let waiting = waiting.clone();
                tasks.push(tokio::spawn(async move {
                    let (answer, answered) = tokio::sync::oneshot::channel();
                    waiting
                        .lock()
                        .expect("acks")
                        .insert(client_message_id.clone(), answer);
                    let frame = json!({"type": "send", "ref": client_message_id, "chat_id": chat, "text": text, "client_message_id": client_message_id});
                    let sent = socket
                        .lock()
                        .await
                        .send(WsMessage::Text(frame.to_string().into()))
                        .await;
                    let acked_id = match sent {
                        Ok(()) => tokio::time::timeout(Duration::from_secs(30), answered)
                            .await
                            .ok()
                            .and_then(Result::ok)
                            .flatten(),
                        Err(_) => None,
                    };
                    match acked_id {
                        Some(id) => acked.lock().await.push(id),
                        None => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    bar.inc(1);
                    drop(permit);
                }));
            }
        }
    }
    for task in tasks {
        let _ = task.await;
    }
    let send_secs = started.elapsed().as_secs_f64();
    bar.finish();

    // Drain and count.
    let members_of: HashMap<i64, usize> = chats.iter().map(|(c, m)| (*c, m.len())).collect();
    let expected_per_message = members_of.values().next().copied().unwrap_or(0) as u64;
    let sent_ok = acked.lock().await.len() as u64;
    let expected = sent_ok * expected_per_message;
    let deadline = Instant::now() + Duration::from_secs_f64(args.drain);
    while deliveries.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all_secs = started.elapsed().as_secs_f64();
    let cpu_after = cpu::sample();
    let _ = stop_tx.send(true);
    let mut r = Received {
        latency_us: Histogram::new(3)?,
        seen: HashSet::new(),
        duplicates: 0,
    };
    let mut received: u64 = 0;
    for reader in readers {
        let one = reader.await?;
        received += one.seen.len() as u64;
        r.duplicates += one.duplicates;
        r.latency_us.add(&one.latency_us)?;
    }
    let lost = expected.saturating_sub(received);
    let ms = |us: u64| us as f64 / 1000.0;
    let cpu = cpu::report(&cpu_before, &cpu_after, sent_ok, received);
    let mut report = json!({
        "scenario": format!("{:?}", args.scenario).to_lowercase(),
        "via": format!("{:?}", args.via).to_lowercase(),
        "reader": format!("{:?}", args.reader).to_lowercase(),
        "replicas": apis.len(),
        "chats": chats.len(),
        "members_per_chat": expected_per_message,
        "target_rate": rate,
        "sent": sent_ok,
        "errors": errors.load(Ordering::Relaxed),
        "sends_per_sec": (sent_ok as f64 / send_secs).round(),
        "deliveries": received,
        "deliveries_per_sec": (received as f64 / all_secs).round(),
        "expected_deliveries": expected,
        "lost": lost,
        "duplicated": r.duplicates,
        "latency_ms": {
            "p50": ms(r.latency_us.value_at_quantile(0.50)),
            "p95": ms(r.latency_us.value_at_quantile(0.95)),
            "p99": ms(r.latency_us.value_at_quantile(0.99)),
            "max": ms(r.latency_us.max()),
        },
    });
    for (key, value) in cpu.as_object().into_iter().flatten() {
        report[key] = value.clone();
    }
    eprintln!(
        "sent {sent_ok} ({:.0}/s), delivered {received} of {expected} ({:.0}/s), lost {lost}, duplicated {}, errors {}; e2e p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        sent_ok as f64 / send_secs,
        received as f64 / all_secs,
        r.duplicates,
        errors.load(Ordering::Relaxed),
        ms(r.latency_us.value_at_quantile(0.50)),
        ms(r.latency_us.value_at_quantile(0.95)),
        ms(r.latency_us.value_at_quantile(0.99)),
        ms(r.latency_us.max()),
    );
    eprintln!(
        "CPU per send (µs, every stack process): {}; per delivery (parley-api): {} µs",
        cpu["cpu_us_per_send"], cpu["cpu_us_per_delivery"]["parley-api"]
    );
    Ok(report)
}

/// Where a socket send's answer goes: the message id of its `ack`, or
/// `None` for an `error`.
type Answer = tokio::sync::oneshot::Sender<Option<i64>>;

/// Reads a sender's socket until `stop`, answering the sends waiting in
/// `waiting` by the `ref` of each `ack` or `error` (other frames skipped).
async fn read_acks(
    mut stream: futures_util::stream::SplitStream<Socket>,
    waiting: Arc<std::sync::Mutex<HashMap<String, Answer>>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let frame = tokio::select! {
            frame = stream.next() => frame,
            _ = stop.changed() => return,
        };
        let Some(Ok(WsMessage::Text(text))) = frame else {
            if frame.is_none() {
                return;
            }
            continue;
        };
        let is_ack = text.contains("\"type\":\"ack\"");
        if !is_ack && !text.contains("\"type\":\"error\"") {
            continue;
        }
        let Ok(frame) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let Some(reference) = frame["ref"].as_str() else {
            continue;
        };
        if let Some(answer) = waiting.lock().expect("acks").remove(reference) {
            let id = if is_ack {
                frame["message"]["id"].as_i64()
            } else {
                None
            };
            let _ = answer.send(id);
        }
    }
}
