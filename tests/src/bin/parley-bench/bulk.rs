//! The bulk scenario: one bulk send to `--clients` receivers, done by the
//! worker; receivers per second from the request to the job's end, and
//! exactly-once delivery on the sockets of a sample of receivers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use parley_tests::Api;
use serde_json::json;

use crate::sockets::{open_socket, spawn_reader};
use crate::{Args, Reader, now_us, register_all};

/// Receivers of a bulk run that also log in and watch their socket.
const BULK_SAMPLE: usize = 50;

/// The bulk scenario: register the receivers (a sample of them with
/// sockets), send one bulk message, follow the job to its end.
pub async fn run_bulk(
    apis: &[Api],
    args: &Args,
    run: &str,
    style: &ProgressStyle,
) -> anyhow::Result<()> {
    let api = &apis[0];
    let sender = api.register_and_login(&format!("{run}_office")).await;
    let sample = args.clients.min(BULK_SAMPLE);
    let bar = ProgressBar::new(args.clients as u64)
        .with_style(style.clone())
        .with_prefix("receivers");
    let sampled = register_all(
        apis,
        (0..sample).map(|i| format!("{run}_r{i}")).collect(),
        &bar,
    )
    .await;
    let mut ids: Vec<i64> = sampled.iter().map(|u| u.id).collect();
    // The others only register (one password hash each, not two).
    let rest: Vec<String> = (sample..args.clients)
        .map(|i| format!("{run}_r{i}"))
        .collect();
    for chunk in rest.chunks(16) {
        let mut tasks = Vec::new();
        for (i, name) in chunk.iter().enumerate() {
            let api = apis[i % apis.len()].clone();
            let name = name.clone();
            tasks.push(tokio::spawn(async move {
                let (status, body) = api
                    .post(
                        "/api/v1/auth/register",
                        None,
                        &json!({"email": format!("{name}@example.com"), "name": name,
                                "username": name, "password": format!("password-{name}")}),
                    )
                    .await;
                anyhow::ensure!(status.is_success(), "register {name}: {status} {body}");
                Ok(body["user"]["id"].as_i64().unwrap_or(-1))
            }));
        }
        for task in tasks {
            ids.push(task.await??);
            bar.inc(1);
        }
    }
    bar.finish();

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let deliveries = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for (i, user) in sampled.iter().enumerate() {
        let stream = open_socket(&apis[i % apis.len()], &user.access_token).await?;
        readers.push(spawn_reader(
            Reader::Native,
            stream,
            deliveries.clone(),
            stop_rx.clone(),
        ));
    }

    let started = Instant::now();
    let text = format!("bench|{}|bulk", now_us());
    let (status, answer) = api
        .post(
            "/api/v1/messages/bulk",
            Some(&sender.access_token),
            &json!({"receiver_ids": ids, "text": text, "client_message_id": format!("{run}-bulk")}),
        )
        .await;
    anyhow::ensure!(status.is_success(), "bulk send: {status} {answer}");
    let accepted_ms = started.elapsed().as_secs_f64() * 1000.0;
    let bar = ProgressBar::new(args.clients as u64)
        .with_style(style.clone())
        .with_prefix("sent");
    let job = match answer["job_id"].as_str() {
        Some(job_id) => loop {
            let (_, job) = api
                .get(
                    &format!("/api/v1/jobs/{job_id}"),
                    Some(&sender.access_token),
                )
                .await;
            let progress = job["done"].as_u64().unwrap_or(0) + job["failed"].as_u64().unwrap_or(0);
            bar.set_position(progress);
            if job["state"] == "done" {
                break job;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        },
        None => json!({"done": answer["messages"].as_array().map_or(0, Vec::len),
                       "failed": answer["failures"].as_array().map_or(0, Vec::len)}),
    };
    let secs = started.elapsed().as_secs_f64();
    bar.finish();

    let deadline = Instant::now() + Duration::from_secs_f64(args.drain);
    while deliveries.load(Ordering::Relaxed) < sample as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop_tx.send(true);
    let (mut received, mut duplicated) = (0u64, 0u64);
    let mut latency = Histogram::<u64>::new(3)?;
    for reader in readers {
        let one = reader.await?;
        received += one.seen.len() as u64;
        duplicated += one.duplicates;
        latency.add(&one.latency_us)?;
    }
    let done = job["done"].as_u64().unwrap_or(0);
    let report = json!({
        "scenario": "bulk",
        "replicas": apis.len(),
        "receivers": args.clients,
        "accepted_ms": accepted_ms.round(),
        "seconds": (secs * 100.0).round() / 100.0,
        "receivers_per_sec": (done as f64 / secs).round(),
        "done": done,
        "failed": job["failed"],
        "sample_sockets": sample,
        "sample_lost": (sample as u64).saturating_sub(received),
        "sample_duplicated": duplicated,
        "sample_delivery_ms_max": latency.max() as f64 / 1000.0,
    });
    eprintln!(
        "bulk to {} receivers: {done} sent in {secs:.1} s ({:.0} receivers/s), failed {}; sample of {sample} sockets: lost {}, duplicated {duplicated}",
        args.clients,
        done as f64 / secs,
        job["failed"],
        (sample as u64).saturating_sub(received),
    );
    println!("{report}");
    Ok(())
}
