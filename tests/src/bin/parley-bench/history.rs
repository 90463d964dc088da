//! The history scenario (issue 13): `--messages` messages (10M for the
//! issue's figure) written into `DATABASE_URL` by `COPY`, spread over
//! `--chats` groups of two members, each with its `message_created` in the
//! chat's event log; then `--queries` history pages of 50 at random points
//! (`GET /messages/{chat_id}?before_id=`), `--concurrency` at a time, and
//! `--queries / 10` socket catch-ups of 1,000 missed events (`resume` →
//! 1,000 `message_created` → `resumed`), one at a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use parley_tests::Api;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::Args;
use crate::sockets::open_socket;

/// Rows per `COPY` chunk handed to the connection.
const COPY_CHUNK: usize = 20_000;
/// Missed events per catch-up.
const CATCH_UP: i64 = 1_000;
/// Messages per history page.
const PAGE: usize = 50;

/// A cheap, repeatable draw in `0..n` for the `i`th pick.
fn pick(i: u64, n: u64) -> u64 {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    x % n.max(1)
}

/// A CSV field, quoted.
fn csv(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// Streams `rows` (CSV lines) into `COPY … FROM STDIN (FORMAT csv)`.
async fn copy_rows(
    client: &tokio_postgres::Client,
    statement: &str,
    total: usize,
    bar: &ProgressBar,
    row: impl Fn(usize, &mut String),
) -> anyhow::Result<()> {
    let sink = client.copy_in::<_, Bytes>(statement).await?;
    futures_util::pin_mut!(sink);
    let mut buf = String::new();
    for g in 0..total {
        row(g, &mut buf);
        if (g + 1) % COPY_CHUNK == 0 {
            sink.send(Bytes::from(std::mem::take(&mut buf))).await?;
            bar.inc(COPY_CHUNK as u64);
        }
    }
    if !buf.is_empty() {
        sink.send(Bytes::from(buf)).await?;
    }
    sink.finish().await?;
    bar.finish();
    Ok(())
}

/// The history scenario; prints one JSON object last.
pub async fn run_history(
    apis: &[Api],
    args: &Args,
    run: &str,
    style: &ProgressStyle,
) -> anyhow::Result<()> {
    let database_url = std::env::var("DATABASE_URL")
        .map_err(|_| anyhow::anyhow!("the history scenario writes messages: set DATABASE_URL"))?;
    let api = &apis[0];
    let reader = api.register_and_login(&format!("{run}_reader")).await;
    let other = api.register_and_login(&format!("{run}_other")).await;
    let mut chats = Vec::new();
    for i in 0..args.chats.max(1) {
        let (status, chat) = api
            .post(
                "/api/v1/chats",
                Some(&reader.access_token),
                &json!({"type": "group", "title": format!("history {i}"), "member_ids": [other.id]}),
            )
            .await;
        anyhow::ensure!(status.is_success(), "create chat: {status} {chat}");
        chats.push(chat["id"].as_i64().unwrap_or(-1));
    }
    // One real send gives the logged event's shape; the loader copies it.
    let (status, sent) = api
        .post(
            "/api/v1/messages",
            Some(&reader.access_token),
            &json!({"chat_id": chats[0], "text": "template"}),
        )
        .await;
    anyhow::ensure!(status.is_success(), "send: {status} {sent}");

    let (client, connection) =
        tokio_postgres::connect(&database_url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let template: Value = {
        let row = client
            .query_one(
                "SELECT payload::text FROM chat_events WHERE chat_id = $1 AND message_id = $2",
                &[&chats[0], &sent["id"].as_i64().unwrap_or(-1)],
            )
            .await?;
        serde_json::from_str(row.get::<_, &str>(0))?
    };
    let mut bases = Vec::new();
    for id in &chats {
        let row = client
            .query_one("SELECT last_seq FROM chats WHERE id = $1", &[id])
            .await?;
        bases.push(row.get::<_, i64>(0));
    }
    let total = args.messages;
    let first_id: i64 = client
        .query_one("SELECT nextval('messages_id_seq')", &[])
        .await?
        .get(0);
    client
        .execute(
            "SELECT setval('messages_id_seq', $1)",
            &[&(first_id + total as i64)],
        )
        .await?;
    let n = chats.len();
    let started_at = chrono::Utc::now() - chrono::Duration::seconds(total as i64 + 60);
    // Message g: id first_id + g, chat g % n, seq base + g / n + 1, from
    // the reader or the other member, a second after message g - 1.
    let shape = {
        let (chats, bases) = (chats.clone(), bases.clone());
        let senders = [reader.id, other.id];
        move |g: usize| {
            let chat = chats[g % n];
            let seq = bases[g % n] + (g / n) as i64 + 1;
            let at = (started_at + chrono::Duration::seconds(g as i64))
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            (first_id + g as i64, chat, seq, senders[g % 2], at)
        }
    };
    let seeding = Instant::now();
    let bar = ProgressBar::new(total as u64)
        .with_style(style.clone())
        .with_prefix("messages");
    // Not queued for the notification fan-out (`notification_queue`): the
    // worker is not to notify ten million messages.
    client
        .batch_execute("ALTER TABLE messages DISABLE TRIGGER messages_queue_notifications")
        .await?;
    copy_rows(
        &client,
        "COPY messages (id, chat_id, sender_id, seq, text, created_at, updated_at) \
         FROM STDIN (FORMAT csv)",
        total,
        &bar,
        |g, buf| {
            let (id, chat, seq, sender, at) = shape(g);
            buf.push_str(&format!(
                "{id},{chat},{sender},{seq},history {g},{at},{at}\n"
            ));
        },
    )
    .await?;
    client
        .batch_execute("ALTER TABLE messages ENABLE TRIGGER messages_queue_notifications")
        .await?;
    let bar = ProgressBar::new(total as u64)
        .with_style(style.clone())
        .with_prefix("events");
    copy_rows(
        &client,
        "COPY chat_events (chat_id, seq, type, payload, created_at, message_id) \
         FROM STDIN (FORMAT csv)",
        total,
        &bar,
        |g, buf| {
            let (id, chat, seq, sender, at) = shape(g);
            let mut payload = template.clone();
            payload["chat_id"] = json!(chat);
            payload["seq"] = json!(seq);
            let message = &mut payload["event"]["message"];
            message["id"] = json!(id);
            message["chat_id"] = json!(chat);
            message["seq"] = json!(seq);
            message["sender_id"] = json!(sender);
            message["text"] = json!(format!("history {g}"));
            message["created_at"] = json!(at);
            buf.push_str(&format!(
                "{chat},{seq},message_created,{},{at},{id}\n",
                csv(&payload.to_string())
            ));
        },
    )
    .await?;
    for (i, id) in chats.iter().enumerate() {
        let count = (total / n + usize::from(i < total % n)) as i64;
        client
            .execute(
                "UPDATE chats SET last_seq = $2 WHERE id = $1",
                &[id, &(bases[i] + count)],
            )
            .await?;
    }
    for table in ["messages", "chat_events"] {
        client
            .batch_execute(&format!("VACUUM ANALYZE {table}"))
            .await?;
    }
    let seed_secs = seeding.elapsed().as_secs_f64();
    let last_seqs: Vec<i64> = (0..n)
        .map(|i| bases[i] + (total / n + usize::from(i < total % n)) as i64)
        .collect();

    // History pages: before a random message of a random chat.
    let pages = Arc::new(tokio::sync::Mutex::new(Histogram::<u64>::new(3)?));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let bar = ProgressBar::new(args.queries as u64)
        .with_style(style.clone())
        .with_prefix("pages");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (api, token) = (api.clone(), reader.access_token.clone());
        let (pages, next, bar, count) = (pages.clone(), next.clone(), bar.clone(), args.queries);
        let shape = shape.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let q = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if q >= count {
                    return anyhow::Ok(());
                }
                // A message at least a page into the loaded ones.
                let g = (PAGE * n) as u64 + pick(q as u64, (total - PAGE * n) as u64);
                let (before, chat, ..) = shape(g as usize);
                let path = format!("/api/v1/messages/{chat}?before_id={before}&limit={PAGE}");
                let sent = Instant::now();
                let (status, body) = api.get(&path, Some(&token)).await;
                let us = sent.elapsed().as_micros() as u64;
                anyhow::ensure!(status.is_success(), "{path}: {status} {body}");
                let ids: Vec<i64> = body
                    .as_array()
                    .map(|page| page.iter().filter_map(|m| m["id"].as_i64()).collect())
                    .unwrap_or_default();
                // The page is the 50 messages of the chat just before.
                let expected: Vec<i64> = (1..=PAGE as i64)
                    .rev()
                    .map(|k| before - k * n as i64)
                    .collect();
                anyhow::ensure!(ids == expected, "{path}: ids {ids:?}");
                pages.lock().await.record(us)?;
                bar.inc(1);
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    bar.finish();
    let pages_secs = started.elapsed().as_secs_f64();

    // Catch-up: a new socket resumes a chat 1,000 events back.
    let catch_ups = (args.queries / 10).max(1);
    let mut resumes = Histogram::<u64>::new(3)?;
    let bar = ProgressBar::new(catch_ups as u64)
        .with_style(style.clone())
        .with_prefix("catch-ups");
    for q in 0..catch_ups {
        let i = pick(q as u64 + 1_000_003, n as u64) as usize;
        let (chat, last) = (chats[i], last_seqs[i]);
        let mut socket = open_socket(&apis[q % apis.len()], &reader.access_token).await?;
        let resume = json!({"type": "resume", "chats": {chat.to_string(): last - CATCH_UP}});
        let sent = Instant::now();
        socket
            .send(WsMessage::Text(resume.to_string().into()))
            .await?;
        let mut received = 0i64;
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), socket.next())
                .await
                .map_err(|_| anyhow::anyhow!("catch-up of chat {chat} took over 30 s"))?;
            let Some(frame) = frame else {
                anyhow::bail!("socket closed during a catch-up");
            };
            if let WsMessage::Text(text) = frame? {
                if text.contains("\"type\":\"message_created\"") {
                    received += 1;
                } else if text.contains("\"type\":\"resumed\"") {
                    break;
                }
            }
        }
        let us = sent.elapsed().as_micros() as u64;
        anyhow::ensure!(
            received == CATCH_UP,
            "catch-up of chat {chat}: {received} events, not {CATCH_UP}"
        );
        resumes.record(us)?;
        let _ = socket.close(None).await;
        bar.inc(1);
    }
    bar.finish();

    let pages = pages.lock().await;
    let ms = |us: u64| (us as f64 / 10.0).round() / 100.0;
    let summary = |h: &Histogram<u64>| {
        json!({"p50": ms(h.value_at_quantile(0.5)), "p95": ms(h.value_at_quantile(0.95)),
               "p99": ms(h.value_at_quantile(0.99)), "max": ms(h.max()), "count": h.len()})
    };
    eprintln!(
        "{total} messages in {n} chats (loaded in {seed_secs:.0} s); {} pages of {PAGE} ({:.0}/s): p50 {:.2} ms, p99 {:.2} ms; {catch_ups} catch-ups of {CATCH_UP}: p50 {:.2} ms, p99 {:.2} ms",
        args.queries,
        args.queries as f64 / pages_secs,
        ms(pages.value_at_quantile(0.5)),
        ms(pages.value_at_quantile(0.99)),
        ms(resumes.value_at_quantile(0.5)),
        ms(resumes.value_at_quantile(0.99)),
    );
    let report = json!({
        "scenario": "history",
        "messages": total,
        "chats": n,
        "seed_secs": seed_secs.round(),
        "seed_messages_per_sec": (total as f64 / seed_secs).round(),
        "concurrency": args.concurrency,
        "pages_per_sec": (args.queries as f64 / pages_secs).round(),
        "page_ms": summary(&pages),
        "catch_up_events": CATCH_UP,
        "catch_up_ms": summary(&resumes),
    });
    println!("{report}");
    Ok(())
}
