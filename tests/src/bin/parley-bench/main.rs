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
//! scenario (`search.rs`) measures message search over a million messages;
//! the history scenario (`history.rs`) history pages and catch-up at 10M.
//!
//! The server must allow the load: run it with the rate limits off
//! (`MESSAGE_RATE_LIMIT_PER_MINUTE=0 REGISTER_RATE_LIMIT_PER_MINUTE=0
//! LOGIN_RATE_LIMIT_PER_MINUTE=0`). See `docs/benchmarks.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bulk;
mod cpu;
mod history;
mod rounds;
mod search;
mod sockets;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use parley_tests::{Api, TestUser, proc_status, rss_kib};
use serde_json::json;

use crate::rounds::{measure, ramp};
use crate::sockets::{Socket, open_room_socket, open_socket};

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
    /// History pages and socket catch-up over `--messages` messages in
    /// `--chats` groups, written into `DATABASE_URL` by `COPY`
    /// (`history.rs`): `--queries` pages of 50, `--concurrency` at a time,
    /// and `--queries / 10` catch-ups of 1,000 events.
    History,
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
    /// Send through REST or through the socket (`send`, each waiting for
    /// its `ack` by `ref`; `--concurrency` in flight either way).
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
    /// Messages written for the search and history scenarios.
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Searches (search scenario) or history pages (history) measured.
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

/// Waits until no API process has started or ended a thread for 11 s
/// (at most 90 s): registering the users ran argon2 on tokio's blocking
/// threads, which exit after 10 s idle and give their memory back then. An
/// RSS read before that counts their memory in the "before" figure, and
/// its return inside the measured window as negative bytes per socket.
async fn wait_until_threads_settle(pids: &[u32]) {
    let threads = || -> Vec<u64> { pids.iter().map(|p| proc_status(*p, "Threads:")).collect() };
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last = threads();
    let mut since = Instant::now();
    while Instant::now() < deadline && since.elapsed() < Duration::from_secs(11) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = threads();
        if now != last {
            last = now;
            since = Instant::now();
        }
    }
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
    if args.scenario == Scenario::History {
        return history::run_history(&apis, &args, &run, &style).await;
    }

    // 1. Users.
    let (user_count, sockets_per_user) = match args.scenario {
        Scenario::Bulk | Scenario::Search | Scenario::History => unreachable!("handled above"),
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
        Scenario::Idle | Scenario::Bulk | Scenario::Search | Scenario::History => {}
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
    open_sockets_of(setup, 0..setup.users.len()).await
}

/// [`open_sockets`] for the users at `users` (indices into `setup.users`).
async fn open_sockets_of(
    setup: &Setup<'_>,
    users: std::ops::Range<usize>,
) -> anyhow::Result<Vec<Socket>> {
    let total = users.len() * setup.sockets_per_user;
    let bar = ProgressBar::new(total as u64)
        .with_style(setup.style.clone())
        .with_prefix("sockets");
    let mut sockets = Vec::with_capacity(total);
    for (i, user) in setup
        .users
        .iter()
        .enumerate()
        .skip(users.start)
        .take(users.len())
    {
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

/// Waits until the replicas' `/metrics` count `sockets` open WebSockets
/// (`parley_realtime_connections`), at most 60 s.
async fn wait_until_counted(apis: &[Api], sockets: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut counted = 0.0;
        for api in apis {
            let text = api
                .client
                .get(format!("{}/metrics", api.base))
                .send()
                .await?
                .text()
                .await?;
            counted += text
                .lines()
                .filter_map(|line| {
                    line.strip_prefix("parley_realtime_connections{transport=\"websocket\"} ")
                })
                .filter_map(|value| value.trim().parse::<f64>().ok())
                .sum::<f64>();
        }
        if counted >= sockets as f64 {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the replicas count {counted} of {sockets} sockets after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The idle scenario: the API's RSS per socket, once every socket is
/// counted open, read after the process settled
/// ([`wait_until_threads_settle`]). `rss_bytes_per_socket` is over every
/// socket; `rss_bytes_per_socket_second_half` over the second half only
/// (what the first half grew once, such as the hub's maps, not counted).
async fn idle(setup: &Setup<'_>) -> anyhow::Result<()> {
    let pids = &setup.args.api_pid;
    wait_until_threads_settle(pids).await;
    let rss = || -> Vec<u64> { pids.iter().map(|p| rss_kib(*p)).collect() };
    let per_socket = |before: &[u64], after: &[u64], sockets: usize| -> Vec<f64> {
        before
            .iter()
            .zip(after)
            .map(|(b, a)| {
                (a.saturating_sub(*b) as f64 * 1024.0) / (sockets as f64 / pids.len().max(1) as f64)
            })
            .collect()
    };
    let rss_before = rss();
    let half = setup.users.len() / 2;
    let mut sockets = open_sockets_of(setup, 0..half).await?;
    wait_until_counted(setup.apis, sockets.len()).await?;
    let rss_half = rss();
    sockets.extend(open_sockets_of(setup, half..setup.users.len()).await?);
    wait_until_counted(setup.apis, sockets.len()).await?;
    let rss_after = rss();
    let second_half = sockets.len() - half * setup.sockets_per_user;
    let report = json!({
        "scenario": "idle",
        "sockets": sockets.len(),
        "replicas": setup.apis.len(),
        "rss_before_kib": rss_before,
        "rss_half_kib": rss_half,
        "rss_after_kib": rss_after,
        "rss_bytes_per_socket": per_socket(&rss_before, &rss_after, sockets.len()),
        "rss_bytes_per_socket_second_half": per_socket(&rss_half, &rss_after, second_half),
    });
    println!("{report}");
    Ok(())
}
