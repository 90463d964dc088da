//! `parley-bench`: a load tool for running Parley replicas.
//!
//! It registers users, opens their WebSockets (round-robin over `--api`
//! replicas), makes chats, then sends at a target rate through REST or the
//! socket and measures what every member receives: sends/s, deliveries/s,
//! end-to-end latency (send → `message_created` on each member's socket)
//! p50 / p95 / p99 / max, errors, lost or duplicated messages, and the CPU
//! time each process of the stack used per send and per delivery (`cpu.rs`,
//! from `/proc`: run it on the stack's machine). A
//! progress bar runs meanwhile; the last line of output is one JSON object.
//! The bulk scenario follows one bulk send through the worker; the search
//! scenario (`search.rs`) measures message search over a million messages.
//!
//! The server must allow the load: run it with the rate limits off
//! (`MESSAGE_RATE_LIMIT_PER_MINUTE=0 REGISTER_RATE_LIMIT_PER_MINUTE=0
//! LOGIN_RATE_LIMIT_PER_MINUTE=0`). See `docs/benchmarks.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bulk;
mod cpu;
mod search;

use std::collections::{HashMap, HashSet};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use parley_tests::{Api, TestUser};
use serde_json::json;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// `--chats` private chats, two members each (`--clients` is ignored).
    Direct,
    /// One group of `--clients` members.
    Group,
    /// `--clients` idle sockets (users share sockets 100 to a user); reports
    /// the API's RSS per socket when `--api-pid` is given.
    Idle,
    /// One bulk send to `--clients` receivers, done by the worker: receivers
    /// per second from the request to the job's end, and exactly-once
    /// delivery checked on the sockets of a sample of receivers.
    Bulk,
    /// Message search latency on PostgreSQL over `--messages` messages in
    /// `--chats` × 2 groups (half without the searcher), written straight
    /// into `DATABASE_URL` and tokenized by `parley-admin reindex`; then
    /// `--queries` searches, `--concurrency` at a time.
    Search,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Via {
    Rest,
    Ws,
}

/// Which realtime API the members read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Reader {
    /// The native socket (`message_created`).
    Native,
    /// Seed 003's socket `/chat`: `join` each chat, then `message` frames
    /// (the dialect's translation of each native frame, per socket).
    Chatrooms,
}

#[derive(Debug, Parser)]
#[command(about = "Load Parley replicas and measure delivery")]
struct Args {
    /// API base URL; repeat for several replicas (clients spread over them).
    #[arg(long = "api", default_value = "http://127.0.0.1:8080")]
    apis: Vec<String>,
    #[arg(long, value_enum, default_value = "direct")]
    scenario: Scenario,
    /// Members (group) or sockets (idle).
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Private chats (direct).
    #[arg(long, default_value_t = 10)]
    chats: usize,
    /// Target messages per second, all senders together.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Send through REST or through the socket (`send` → `ack`).
    #[arg(long, value_enum, default_value = "rest")]
    via: Via,
    /// The socket the members read with (direct and group scenarios).
    #[arg(long, value_enum, default_value = "native")]
    reader: Reader,
    /// Concurrent requests in flight while sending.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds to wait for late deliveries after the last send.
    #[arg(long, default_value_t = 5.0)]
    drain: f64,
    /// The API process to read RSS from (idle scenario), e.g. `$(pgrep -n parley-api)`.
    #[arg(long)]
    api_pid: Vec<u32>,
    /// Messages written for the search scenario.
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Searches the search scenario measures.
    #[arg(long, default_value_t = 1000)]
    queries: usize,
    /// A prefix for usernames, so that runs do not collide.
    #[arg(long)]
    run_id: Option<String>,
    /// Raise the rate round after round (× `--ramp-factor`, from `--rate`)
    /// until p99 passes `--max-p99-ms` or a message is lost, duplicated or
    /// refused; report the last good round (direct and group scenarios).
    #[arg(long)]
    ramp: bool,
    /// The rate's factor between ramp rounds.
    #[arg(long, default_value_t = 1.25)]
    ramp_factor: f64,
    /// The p99 end-to-end latency a ramp round may reach, in ms.
    #[arg(long, default_value_t = 100.0)]
    max_p99_ms: f64,
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// What one member's socket saw.
struct Received {
    latency_us: Histogram<u64>,
    /// Message ids, once each.
    seen: HashSet<i64>,
    duplicates: u64,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open_socket(api: &Api, token: &str) -> anyhow::Result<Socket> {
    let mut request = api.ws_url().into_client_request()?;
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}"))?,
    );
    let (mut stream, _) = tokio_tungstenite::connect_async(request).await?;
    // Wait for `ready`, and open the live gate at once.
    while let Some(frame) = stream.next().await {
        if let WsMessage::Text(text) = frame?
            && text.contains("\"ready\"")
        {
            break;
        }
    }
    stream
        .send(WsMessage::Text(json!({"type": "ping"}).to_string().into()))
        .await?;
    Ok(stream)
}

/// A seed 003 socket (`/chat`, the `jwt_token` cookie) that has joined
/// `chats`.
async fn open_room_socket(api: &Api, token: &str, chats: &[i64]) -> anyhow::Result<Socket> {
    let mut request =
        format!("{}/chat", api.base.replacen("http", "ws", 1)).into_client_request()?;
    request.headers_mut().insert(
        "cookie",
        HeaderValue::from_str(&format!("jwt_token={token}"))?,
    );
    let (mut stream, _) = tokio_tungstenite::connect_async(request).await?;
    for chat in chats {
        let join = json!({"type": "join", "roomId": chat.to_string()});
        stream
            .send(WsMessage::Text(join.to_string().into()))
            .await?;
        while let Some(frame) = stream.next().await {
            if let WsMessage::Text(text) = frame?
                && text.contains("\"type\":\"joined\"")
            {
                break;
            }
        }
    }
    Ok(stream)
}

/// The number after `key` in `text` (no JSON parse: readers must be cheap).
fn number_after(text: &str, key: &str) -> Option<u64> {
    let start = text.find(key)? + key.len();
    let digits: &str = &text[start..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// Reads one member's socket until `stop`: latency and message ids.
fn spawn_reader(
    reader: Reader,
    mut stream: Socket,
    deliveries: Arc<AtomicU64>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Received> {
    tokio::spawn(async move {
        let mut r = Received {
            latency_us: Histogram::new(3).expect("histogram"),
            seen: HashSet::new(),
            duplicates: 0,
        };
        loop {
            let frame = tokio::select! {
                frame = stream.next() => frame,
                _ = stop.changed() => break,
            };
            let Some(Ok(WsMessage::Text(text))) = frame else {
                if frame.is_none() {
                    break;
                }
                continue;
            };
            let text = text.as_str();
            // Live frames and frames replayed from the log (whose keys the
            // database re-sorted) both match these scans.
            let (kind, id_key, text_key) = match reader {
                Reader::Native => (
                    "\"type\":\"message_created\"",
                    "\"id\":",
                    "\"text\":\"bench|",
                ),
                Reader::Chatrooms => (
                    "\"type\":\"message\"",
                    "\"messageId\":\"",
                    "\"content\":\"bench|",
                ),
            };
            if !text.contains(kind) {
                continue;
            }
            let now = now_us();
            // The native frame nests the message; seed 003's is flat.
            let message = match reader {
                Reader::Native => text.find("\"message\":{").map(|at| &text[at..]),
                Reader::Chatrooms => Some(text),
            };
            let id = message
                .and_then(|m| number_after(m, id_key))
                .map_or(-1, |v| v as i64);
            deliveries.fetch_add(1, Ordering::Relaxed);
            if !r.seen.insert(id) {
                r.duplicates += 1;
                continue;
            }
            if let Some(sent) = number_after(text, text_key) {
                let _ = r.latency_us.record(now.saturating_sub(sent).max(1));
            }
        }
        r
    })
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn register_all(apis: &[Api], names: Vec<String>, bar: &ProgressBar) -> Vec<TestUser> {
    let mut users = Vec::with_capacity(names.len());
    for chunk in names.chunks(16) {
        let mut tasks = Vec::new();
        for (i, name) in chunk.iter().enumerate() {
            let api = apis[i % apis.len()].clone();
            let name = name.clone();
            tasks.push(tokio::spawn(
                async move { api.register_and_login(&name).await },
            ));
        }
        for task in tasks {
            users.push(task.await.expect("register"));
            bar.inc(1);
        }
    }
    users
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let apis: Vec<Api> = args
        .apis
        .iter()
        .map(|a| Api::new(a.trim_end_matches('/')))
        .collect();
    let run = args
        .run_id
        .clone()
        .unwrap_or_else(|| format!("b{}", now_us() % 1_000_000_000));
    let style = ProgressStyle::with_template("{prefix:>9} [{bar:40}] {pos}/{len} {msg}")
        .unwrap()
        .progress_chars("=> ");

    if args.scenario == Scenario::Bulk {
        return bulk::run_bulk(&apis, &args, &run, &style).await;
    }
    if args.scenario == Scenario::Search {
        return search::run_search(&apis, &args, &run, &style).await;
    }

    // 1. Users.
    let (user_count, sockets_per_user) = match args.scenario {
        Scenario::Bulk | Scenario::Search => unreachable!("handled above"),
        Scenario::Direct => (args.chats * 2, 1),
        Scenario::Group => (args.clients, 1),
        Scenario::Idle => (args.clients.div_ceil(100), 100),
    };
    let names: Vec<String> = (0..user_count).map(|i| format!("{run}_{i}")).collect();
    let bar = ProgressBar::new(user_count as u64)
        .with_style(style.clone())
        .with_prefix("users");
    let users = register_all(&apis, names, &bar).await;
    bar.finish();

    // 2. Chats.
    let owner = &users[0];
    let mut chats: Vec<(i64, Vec<usize>)> = Vec::new();
    match args.scenario {
        Scenario::Direct => {
            for pair in 0..args.chats {
                let (a, b) = (2 * pair, 2 * pair + 1);
                let chat = apis[0].private_chat(&users[a], &users[b]).await;
                chats.push((chat, vec![a, b]));
            }
        }
        Scenario::Group => {
            let ids: Vec<i64> = users[1..].iter().map(|u| u.id).collect();
            let (status, chat) = apis[0]
                .post(
                    "/api/v1/chats",
                    Some(&owner.access_token),
                    &json!({"type": "group", "title": "bench", "member_ids": ids}),
                )
                .await;
            anyhow::ensure!(status.is_success(), "create group: {status} {chat}");
            chats.push((chat["id"].as_i64().unwrap(), (0..users.len()).collect()));
        }
        Scenario::Idle | Scenario::Bulk | Scenario::Search => {}
    }

    // 3. Sockets, then the measured rounds.
    let setup = Setup {
        apis: &apis,
        args: &args,
        users: &users,
        chats: &chats,
        sockets_per_user,
        style: &style,
    };
    if args.scenario == Scenario::Idle {
        return idle(&setup).await;
    }
    if !args.ramp {
        let report = measure(&setup, args.rate, 0).await?;
        println!("{report}");
        return Ok(());
    }
    ramp(&setup).await
}

/// What every round of a run shares: the replicas, users and chats.
struct Setup<'a> {
    apis: &'a [Api],
    args: &'a Args,
    users: &'a [TestUser],
    chats: &'a [(i64, Vec<usize>)],
    sockets_per_user: usize,
    style: &'a ProgressStyle,
}

/// Opens every user's sockets (`sockets_per_user` each, round-robin over
/// the replicas), as the `--reader` API.
async fn open_sockets(setup: &Setup<'_>) -> anyhow::Result<Vec<Socket>> {
    let total = setup.users.len() * setup.sockets_per_user;
    let bar = ProgressBar::new(total as u64)
        .with_style(setup.style.clone())
        .with_prefix("sockets");
    let mut sockets = Vec::with_capacity(total);
    for (i, user) in setup.users.iter().enumerate() {
        for k in 0..setup.sockets_per_user {
            let api = &setup.apis[(i * setup.sockets_per_user + k) % setup.apis.len()];
            sockets.push(match setup.args.reader {
                Reader::Native => open_socket(api, &user.access_token).await?,
                Reader::Chatrooms => {
                    let mine: Vec<i64> = setup
                        .chats
                        .iter()
                        .filter(|(_, members)| members.contains(&i))
                        .map(|(chat, _)| *chat)
                        .collect();
                    open_room_socket(api, &user.access_token, &mine).await?
                }
            });
            bar.inc(1);
        }
    }
    bar.finish();
    Ok(sockets)
}

/// The idle scenario: the API's RSS per socket.
async fn idle(setup: &Setup<'_>) -> anyhow::Result<()> {
    let pids = &setup.args.api_pid;
    let rss_before: Vec<u64> = pids.iter().map(|p| rss_kib(*p)).collect();
    let sockets = open_sockets(setup).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after: Vec<u64> = pids.iter().map(|p| rss_kib(*p)).collect();
    let per_socket: Vec<f64> = rss_before
        .iter()
        .zip(&rss_after)
        .map(|(b, a)| {
            (a.saturating_sub(*b) as f64 * 1024.0)
                / (sockets.len() as f64 / pids.len().max(1) as f64)
        })
        .collect();
    let report = json!({
        "scenario": "idle",
        "sockets": sockets.len(),
        "replicas": setup.apis.len(),
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "rss_bytes_per_socket": per_socket,
    });
    println!("{report}");
    Ok(())
}

/// `--ramp`: rounds at `--rate`, then × `--ramp-factor` each, until one
/// breaks (p99 over `--max-p99-ms`, a loss, a duplicate, an error, or the
/// sender falling 5% short of the rate); prints each round, then the last
/// good one as `{"ramp": …, "last_good": report, "broke": report}`.
async fn ramp(setup: &Setup<'_>) -> anyhow::Result<()> {
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
async fn measure(setup: &Setup<'_>, rate: f64, round: u32) -> anyhow::Result<serde_json::Value> {
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
    let mut sender_sockets = Vec::new();
    if args.via == Via::Ws {
        for (i, user) in users.iter().enumerate() {
            let api = &apis[i % apis.len()];
            sender_sockets.push(Arc::new(Mutex::new(
                open_socket(api, &user.access_token).await?,
            )));
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
                // Acks are not awaited per frame; the sender's own socket
                // sees its message like every member's does.
                let socket = sender_sockets[sender].clone();
                tasks.push(tokio::spawn(async move {
                    let frame = json!({"type": "send", "chat_id": chat, "text": text, "client_message_id": client_message_id});
                    if socket
                        .lock()
                        .await
                        .send(WsMessage::Text(frame.to_string().into()))
                        .await
                        .is_err()
                    {
                        errors.fetch_add(1, Ordering::Relaxed);
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
    let sent_ok = match args.via {
        Via::Rest => acked.lock().await.len() as u64,
        Via::Ws => total - errors.load(Ordering::Relaxed),
    };
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
