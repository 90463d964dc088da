//! The search scenario (issue 10): message search latency on PostgreSQL
//! over `--messages` messages (default 1M).
//!
//! Through the API it registers a searcher and two others and makes
//! `--chats` groups with the searcher and as many without (whose messages
//! the searcher must never find). Then it writes the messages straight
//! into PostgreSQL (`DATABASE_URL`; sending a million through the API
//! would measure sends): sentences of 4–11 words drawn from a vocabulary
//! of Korean nouns with their particles ("회의는", "회의를"…), endings and
//! English words, skewed so that some words are in one message of ten and
//! others in one of thousands. `parley-admin reindex` (the binary beside
//! this one) then writes their tokens, as it would after an upgrade, and
//! the run reports its rate. Last, `--queries` searches (bare nouns, which
//! must find every particle form, English words and two-word queries) go
//! out `--concurrency` at a time, `limit=20`, and the latency of each is
//! recorded: p50 / p95 / p99 / max, overall and for one- and two-word
//! queries, with the mean number of hits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use parley_tests::Api;
use serde_json::json;
use tokio::sync::Mutex;

use crate::Args;

const NOUNS: &[&str] = &[
    "회의",
    "일정",
    "프로젝트",
    "학교",
    "세미나",
    "점심",
    "보고서",
    "발표",
    "고객",
    "계약",
    "회사",
    "자료",
    "시간",
    "내일",
    "오늘",
    "주간",
    "마감",
    "디자인",
    "개발",
    "테스트",
    "배포",
    "서버",
    "데이터",
    "문서",
    "예산",
    "출장",
    "휴가",
    "면접",
    "교육",
    "행사",
];
const PARTICLES: &[&str] = &["", "는", "를", "에", "에서", "의", "도", "와"];
const ENDINGS: &[&str] = &[
    "합니다",
    "했어요",
    "할까요",
    "입니다",
    "있어요",
    "없어요",
    "봅시다",
    "주세요",
];
const ENGLISH: &[&str] = &[
    "meeting", "deploy", "rust", "server", "review", "design", "budget", "launch", "report",
    "client", "release", "schedule", "lunch", "invoice", "roadmap", "sprint", "backlog", "merge",
    "hotfix", "standup",
];

/// Rows per `INSERT … SELECT` (one progress step).
const INSERT_CHUNK: usize = 50_000;

/// The vocabulary in a fixed pseudo-random order: the generator draws
/// early entries far more often than late ones.
fn vocabulary() -> Vec<String> {
    let mut words: Vec<String> = NOUNS
        .iter()
        .flat_map(|n| PARTICLES.iter().map(move |p| format!("{n}{p}")))
        .chain(ENDINGS.iter().map(|e| (*e).to_owned()))
        .chain(ENGLISH.iter().map(|e| (*e).to_owned()))
        .collect();
    // A fixed shuffle (an LCG), so that runs are comparable.
    let mut state: u64 = 0x5eed;
    for i in (1..words.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        words.swap(i, (state >> 33) as usize % (i + 1));
    }
    words
}

/// What the searcher looks for: every noun bare, every English word, and
/// pairs.
fn queries() -> Vec<String> {
    let mut queries: Vec<String> = NOUNS.iter().map(|n| (*n).to_owned()).collect();
    queries.extend(ENGLISH.iter().map(|e| (*e).to_owned()));
    for i in 0..10 {
        queries.push(format!("{} {}", NOUNS[i], NOUNS[(i * 7 + 3) % NOUNS.len()]));
    }
    queries
}

// Messages `$1`..=`$2` of the run, spread over the chats in turn (as
// chats' messages interleave in time): message g goes to chat
// `$3[g % n]` with seq `$4[g % n] + g / n + 1`, from one of its two members
// (`$5`, `$6`); sentences of 4–11 words, word k drawn with a cubic skew
// from a hash of (g, k); created a second apart.
const SEED_SQL: &str = r#"
INSERT INTO messages (chat_id, sender_id, seq, text, created_at, updated_at)
SELECT ($3::bigint[])[1 + g % n], CASE WHEN g % 2 = 0 THEN ($5::bigint[])[1 + g % n]
                                          ELSE ($6::bigint[])[1 + g % n] END,
       ($4::bigint[])[1 + g % n] + g / n + 1,
       (SELECT string_agg(($7::text[])[1 + floor(array_length($7::text[], 1)
                 * power((abs(hashint8(g * 64 + k)) % 1000000) / 1000000.0, 3))::int], ' ')
          FROM generate_series(1, 4 + abs(hashint8(g)) % 8) k),
       now() - make_interval(secs => ($2 - g)::double precision), now()
  FROM generate_series($1, $2) g, (SELECT array_length($3::bigint[], 1)::bigint AS n) c
"#;

/// The search scenario; prints one JSON object last.
pub async fn run_search(
    apis: &[Api],
    args: &Args,
    run: &str,
    style: &ProgressStyle,
) -> anyhow::Result<()> {
    let database_url = std::env::var("DATABASE_URL")
        .map_err(|_| anyhow::anyhow!("the search scenario writes messages: set DATABASE_URL"))?;
    let api = &apis[0];
    let searcher = api.register_and_login(&format!("{run}_searcher")).await;
    let partner = api.register_and_login(&format!("{run}_partner")).await;
    let stranger = api.register_and_login(&format!("{run}_stranger")).await;
    // (chat, one member, the other); the searcher is in the first half.
    let mut chats = Vec::new();
    for i in 0..args.chats * 2 {
        let (owner, other) = if i < args.chats {
            (&searcher, &partner)
        } else {
            (&partner, &stranger)
        };
        let (status, chat) = api
            .post(
                "/api/v1/chats",
                Some(&owner.access_token),
                &json!({"type": "group", "title": format!("bench {i}"), "member_ids": [other.id]}),
            )
            .await;
        anyhow::ensure!(status.is_success(), "create chat: {status} {chat}");
        chats.push((chat["id"].as_i64().unwrap_or(-1), owner.id, other.id));
    }

    let mut conn = AsyncPgConnection::establish(&database_url).await?;
    let words = vocabulary();
    let total = args.messages;
    let bar = ProgressBar::new(total as u64)
        .with_style(style.clone())
        .with_prefix("messages");
    let seeding = Instant::now();
    let ids: Vec<i64> = chats.iter().map(|c| c.0).collect();
    let firsts: Vec<i64> = chats.iter().map(|c| c.1).collect();
    let seconds: Vec<i64> = chats.iter().map(|c| c.2).collect();
    let mut bases = Vec::new();
    for id in &ids {
        let base: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
            "(SELECT last_seq FROM chats WHERE id = {id})"
        )))
        .get_result(&mut conn)
        .await?;
        bases.push(base);
    }
    for start in (0..total).step_by(INSERT_CHUNK) {
        let end = (start + INSERT_CHUNK).min(total) - 1;
        use diesel::sql_types::{Array, BigInt, Text};
        diesel::sql_query(SEED_SQL)
            .bind::<BigInt, _>(start as i64)
            .bind::<BigInt, _>(end as i64)
            .bind::<Array<BigInt>, _>(&ids)
            .bind::<Array<BigInt>, _>(&bases)
            .bind::<Array<BigInt>, _>(&firsts)
            .bind::<Array<BigInt>, _>(&seconds)
            .bind::<Array<Text>, _>(&words)
            .execute(&mut conn)
            .await?;
        bar.inc((end + 1 - start) as u64);
    }
    diesel::sql_query(
        "UPDATE chats SET last_seq = (SELECT max(seq) FROM messages WHERE chat_id = chats.id) \
         WHERE id = ANY($1)",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(&ids)
    .execute(&mut conn)
    .await?;
    bar.finish();
    let seed_secs = seeding.elapsed().as_secs_f64();

    let reindexing = Instant::now();
    let reindex = std::env::current_exe()?.with_file_name("parley-admin");
    let status = tokio::process::Command::new(&reindex)
        .arg("reindex")
        .status()
        .await?;
    anyhow::ensure!(status.success(), "{} reindex: {status}", reindex.display());
    let reindex_secs = reindexing.elapsed().as_secs_f64();
    // What autovacuum would do after the reindex's update of every row.
    diesel::sql_query("VACUUM ANALYZE messages")
        .execute(&mut conn)
        .await?;

    let queries = queries();
    let mine: Arc<Vec<i64>> = Arc::new(chats[..args.chats].iter().map(|c| c.0).collect());
    for query in queries.iter().take(20) {
        search(api, &searcher.access_token, query, &mine).await?; // warm-up
    }
    let results = Arc::new(Mutex::new((
        Histogram::<u64>::new(3)?,
        Histogram::<u64>::new(3)?,
        Histogram::<u64>::new(3)?,
        0usize,
    )));
    let bar = ProgressBar::new(args.queries as u64)
        .with_style(style.clone())
        .with_prefix("searches");
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (api, token, queries) = (api.clone(), searcher.access_token.clone(), queries.clone());
        let mine = mine.clone();
        let (results, next, bar, count) =
            (results.clone(), next.clone(), bar.clone(), args.queries);
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= count {
                    return anyhow::Ok(());
                }
                let query = &queries[n % queries.len()];
                let sent = Instant::now();
                let hits = search(&api, &token, query, &mine).await?;
                let us = sent.elapsed().as_micros() as u64;
                let mut r = results.lock().await;
                r.0.record(us)?;
                if query.contains(' ') {
                    r.2.record(us)?
                } else {
                    r.1.record(us)?
                }
                r.3 += hits;
                bar.inc(1);
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    bar.finish();
    let secs = started.elapsed().as_secs_f64();
    let r = results.lock().await;
    let ms = |us: u64| (us as f64 / 100.0).round() / 10.0;
    let summary = |h: &Histogram<u64>| {
        json!({"p50": ms(h.value_at_quantile(0.5)), "p95": ms(h.value_at_quantile(0.95)),
               "p99": ms(h.value_at_quantile(0.99)), "max": ms(h.max()), "count": h.len()})
    };
    let report = json!({
        "scenario": "search",
        "messages": total,
        "chats": chats.len(),
        "seed_secs": seed_secs.round(),
        "reindex_messages_per_sec": (total as f64 / reindex_secs).round(),
        "searches": args.queries,
        "concurrency": args.concurrency,
        "searches_per_sec": (args.queries as f64 / secs).round(),
        "mean_hits": (r.3 as f64 / args.queries as f64).round(),
        "latency_ms": summary(&r.0),
        "one_word_ms": summary(&r.1),
        "two_words_ms": summary(&r.2),
    });
    eprintln!(
        "{total} messages; reindex {:.0}/s; {} searches ({:.0}/s): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        total as f64 / reindex_secs,
        args.queries,
        args.queries as f64 / secs,
        ms(r.0.value_at_quantile(0.5)),
        ms(r.0.value_at_quantile(0.95)),
        ms(r.0.value_at_quantile(0.99)),
        ms(r.0.max()),
    );
    println!("{report}");
    Ok(())
}

/// One search; how many hits. Errors: a non-200 answer, or a hit from a
/// chat the searcher is not in (the visibility rule under load).
async fn search(api: &Api, token: &str, query: &str, mine: &[i64]) -> anyhow::Result<usize> {
    let url = reqwest::Url::parse_with_params(
        "http://x/api/v1/messages/search",
        [("query", query), ("limit", "20")],
    )?;
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    let (status, body) = tokio::time::timeout(Duration::from_secs(30), api.get(&path, Some(token)))
        .await
        .map_err(|_| anyhow::anyhow!("search {query:?} took over 30 s"))?;
    anyhow::ensure!(status.is_success(), "search {query:?}: {status} {body}");
    let hits = body.as_array().cloned().unwrap_or_default();
    for hit in &hits {
        let chat = hit["chat_id"].as_i64().unwrap_or(-1);
        anyhow::ensure!(
            mine.contains(&chat),
            "search {query:?} found a message of chat {chat}"
        );
    }
    Ok(hits.len())
}
