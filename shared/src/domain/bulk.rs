//! Bulk sends (API.md "Bulk send", seed 002's use): `POST /messages/bulk
//! {receiver_ids, text, client_message_id}` sends one message to each
//! receiver in their private chat with the sender (opened when there is
//! none). Up to `BULK_SYNC_MAX` receivers the request does it and answers
//! the messages; above, it records a job (`bulk_jobs`) and answers
//! `202 {job_id}`; the worker sends in batches and `GET /jobs/{id}` shows
//! the progress.
//!
//! Nobody gets a message twice: each receiver's message is keyed by the
//! request's `client_message_id` and the receiver (the send's own
//! idempotency), a retried request finds its job, and a job run resumes at
//! its recorded position under a lease, so a second run (a retry, or the
//! sweep after a worker died) redoes at most the batch the first one had not
//! recorded — and those sends answer the messages already made.

use std::collections::HashSet;

use futures_util::{StreamExt, stream};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::accounts::AuthContext;
use crate::domain::chats::private_chat_with;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::jobs::{self, bulk_send::BulkSend};
use crate::domain::messages::{
    self, MAX_CLIENT_ID_CHARS, MessageCreateRequest, SendOutcome, Throttle,
};
use crate::domain::models::bulk_job::{BulkJob, NewBulkJob, Progress};
use crate::domain::validate;
use crate::domain::views::MessageView;
use crate::infra::ratelimit::Limit;

/// The kind of a bulk send in `bulk_jobs`.
const KIND: &str = "bulk_send";
/// Receivers a job run sends to between two progress records.
const BATCH: usize = 100;
/// Sends of one batch in flight at once (each in its own chat).
const IN_FLIGHT: usize = 8;

/// `POST /messages/bulk` (API.md; seed 002 §8).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BulkSendRequest {
    /// 1 to `BULK_MAX_RECEIVERS` users (repeats count once).
    pub receiver_ids: Vec<i64>,
    pub text: String,
    /// Required: it keys every receiver's message and the job.
    pub client_message_id: String,
}

/// What a job stores of its request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Stored {
    receiver_ids: Vec<i64>,
    text: String,
}

/// A receiver who got no message, and why (the refusal's code and detail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkFailure {
    pub receiver_id: i64,
    pub code: String,
    pub detail: String,
}

/// What a bulk send answered.
#[derive(Debug, Clone)]
pub enum BulkOutcome {
    /// Done in the request: the messages (in receiver order) and the
    /// failures; `Existing` when every message was there already (a retry).
    Sent {
        messages: Vec<MessageView>,
        failures: Vec<BulkFailure>,
        outcome: SendOutcome,
    },
    /// Handed to the worker.
    Queued { job_id: Uuid },
}

/// A job's state as `GET /jobs/{id}` shows it.
#[derive(Debug, Clone)]
pub struct JobView {
    pub job: BulkJob,
    pub failures: Vec<BulkFailure>,
}

/// `POST /messages/bulk`.
///
/// Errors: 422 `receiver_ids` (none, or over `BULK_MAX_RECEIVERS`), `text`,
/// `client_message_id`; 409 `client_message_id_conflict` (a job with this
/// id was started for another request); 429 `rate_limited`. Refusals of
/// one receiver (unknown, blocked, private messages off, the sender
/// themself) are per-receiver failures, not errors.
pub async fn bulk_send(
    ctx: &AppContext,
    auth: &AuthContext,
    req: &BulkSendRequest,
) -> AppResult<BulkOutcome> {
    let me = auth.user_id;
    let receivers = distinct(&req.receiver_ids);
    let max = ctx.settings.jobs.bulk_max_receivers;
    if receivers.is_empty() || receivers.len() > max {
        return Err(AppError::validation(
            "receiver_ids",
            format!("receiver_ids must name 1 to {max} users."),
        ));
    }
    messages::validate_text(&req.text)?;
    let client_id = validate::text_field(
        "client_message_id",
        &req.client_message_id,
        1,
        MAX_CLIENT_ID_CHARS,
    )?;
    let stored = Stored {
        receiver_ids: receivers,
        text: req.text.clone(),
    };
    if stored.receiver_ids.len() <= ctx.settings.jobs.bulk_sync_max {
        ctx.limits.check(Limit::Message, &me.to_string()).await?;
        return send_now(ctx, me, &stored, &client_id).await;
    }
    let mut conn = ctx.db.get().await?;
    if let Some(job) = BulkJob::find_by_client_id(&mut conn, me, KIND, &client_id).await? {
        return same_request(&job, &stored).map(|()| BulkOutcome::Queued { job_id: job.id });
    }
    ctx.limits.check(Limit::Message, &me.to_string()).await?;
    let request =
        serde_json::to_value(&stored).map_err(|e| AppError::internal(anyhow::Error::from(e)))?;
    let new = NewBulkJob {
        id: Uuid::new_v4(),
        kind: KIND,
        user_id: me,
        client_message_id: &client_id,
        request,
        total: stored.receiver_ids.len() as i32,
    };
    let created = crate::transaction!(conn, async |conn| {
        let Some(job) = BulkJob::insert(conn, new.clone()).await? else {
            return Ok(None);
        };
        if ctx.jobs.is_some() {
            jobs::stage(conn, &BulkSend { job_id: job.id }).await?;
        }
        Ok(Some(job))
    })?;
    let job = match created {
        Some(job) => {
            if ctx.jobs.is_none() {
                jobs::run_inline(ctx, BulkSend { job_id: job.id });
            }
            tracing::info!(job.id = %job.id, user.id = me, receivers = job.total, "bulk send queued");
            job
        }
        // A concurrent retry created it first.
        None => BulkJob::find_by_client_id(&mut conn, me, KIND, &client_id)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("bulk job vanished")))?,
    };
    same_request(&job, &stored)?;
    Ok(BulkOutcome::Queued { job_id: job.id })
}

/// Errors: 409 `client_message_id_conflict` when `job` was started for
/// another request.
fn same_request(job: &BulkJob, stored: &Stored) -> AppResult<()> {
    let theirs: Option<Stored> = serde_json::from_value(job.request.clone()).ok();
    if theirs.as_ref() == Some(stored) {
        Ok(())
    } else {
        Err(AppError::conflict(
            "client_message_id_conflict",
            "client_message_id was already used for another bulk send.",
        ))
    }
}

/// The ids once each, in their first order.
fn distinct(ids: &[i64]) -> Vec<i64> {
    let mut seen = HashSet::new();
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

/// The idempotency key of the message to `receiver`.
fn receiver_key(client_id: &str, receiver: i64) -> String {
    format!("{client_id}@{receiver}")
}

/// Sends to one receiver: `Ok(Err(failure))` for a refusal that is theirs
/// (a 4xx), `Err` for a failure of Parley's (the job retries).
async fn send_to(
    ctx: &AppContext,
    me: i64,
    receiver: i64,
    text: &str,
    client_id: &str,
) -> AppResult<Result<(MessageView, SendOutcome), BulkFailure>> {
    let attempt = async {
        let chat_id = private_chat_with(ctx, me, receiver).await?;
        let req = MessageCreateRequest {
            chat_id,
            message_type: None,
            text: text.to_owned(),
            client_message_id: None,
            reply_to_message_id: None,
        };
        let key = receiver_key(client_id, receiver);
        messages::send(ctx, me, &req, Some(key), Throttle::OnBehalf).await
    };
    match attempt.await {
        Ok(sent) => Ok(Ok(sent)),
        Err(err) if err.status() < 500 && err.status() != 429 => Ok(Err(BulkFailure {
            receiver_id: receiver,
            code: err.code().to_owned(),
            detail: err.detail(),
        })),
        Err(err) => Err(err),
    }
}

async fn send_now(
    ctx: &AppContext,
    me: i64,
    stored: &Stored,
    client_id: &str,
) -> AppResult<BulkOutcome> {
    let mut messages = Vec::new();
    let mut failures = Vec::new();
    let mut all_existing = true;
    for receiver in &stored.receiver_ids {
        match send_to(ctx, me, *receiver, &stored.text, client_id).await? {
            Ok((view, outcome)) => {
                all_existing &= outcome == SendOutcome::Existing;
                messages.push(view);
            }
            Err(failure) => failures.push(failure),
        }
    }
    let outcome = if all_existing && !messages.is_empty() {
        SendOutcome::Existing
    } else {
        SendOutcome::Created
    };
    Ok(BulkOutcome::Sent {
        messages,
        failures,
        outcome,
    })
}

/// Runs the bulk job `job_id` from its recorded position to the end, one
/// batch at a time, each batch's progress recorded in one statement under
/// this run's lease. Returns at once when the job is done or another run
/// holds it.
///
/// Errors: the database or the bus failed (the queue retries the job; a
/// batch not recorded is redone, its sends answering the messages made).
pub async fn run_job(ctx: &AppContext, job_id: Uuid) -> anyhow::Result<()> {
    let owner = Uuid::new_v4();
    let lease = ctx.settings.jobs.lease_secs;
    loop {
        let mut conn = ctx.db.get().await?;
        let Some(job) = BulkJob::claim(&mut conn, job_id, owner, lease).await? else {
            return Ok(());
        };
        drop(conn);
        let stored: Stored = serde_json::from_value(job.request.clone())?;
        let start = job.position.max(0) as usize;
        let end = (start + BATCH).min(stored.receiver_ids.len());
        let batch = &stored.receiver_ids[start..end];
        let results: Vec<AppResult<Result<(MessageView, SendOutcome), BulkFailure>>> =
            stream::iter(batch.iter().copied())
                .map(|receiver| {
                    send_to(
                        ctx,
                        job.user_id,
                        receiver,
                        &stored.text,
                        &job.client_message_id,
                    )
                })
                .buffer_unordered(IN_FLIGHT)
                .collect()
                .await;
        let mut progress = Progress {
            position: end as i32,
            done: 0,
            failed: 0,
            failures: serde_json::Value::Array(Vec::new()),
        };
        let mut failures = Vec::new();
        for result in results {
            match result.map_err(|e| anyhow::anyhow!("bulk send {job_id}: {e}"))? {
                Ok(_) => progress.done += 1,
                Err(failure) => failures.push(failure),
            }
        }
        progress.failed = failures.len() as i32;
        progress.failures = serde_json::to_value(&failures)?;
        let mut conn = ctx.db.get().await?;
        if !BulkJob::advance(&mut conn, &job, owner, &progress, lease).await? {
            // Another run took the job over (this one was too slow).
            return Ok(());
        }
        if end >= stored.receiver_ids.len() {
            tracing::info!(job.id = %job_id, total = job.total, "bulk send done");
            return Ok(());
        }
    }
}

/// Queues again the jobs whose worker died (their lease ran out) or that
/// were never picked up; returns how many. Run by the worker every
/// `JOB_SWEEP_INTERVAL_SECS`.
///
/// Errors: the database failed.
pub async fn sweep(ctx: &AppContext) -> anyhow::Result<usize> {
    let mut conn = ctx.db.get().await?;
    let stale_after = ctx.settings.jobs.lease_secs;
    let ids = BulkJob::stale(&mut conn, stale_after).await?;
    for job_id in &ids {
        jobs::stage(&mut conn, &BulkSend { job_id: *job_id }).await?;
    }
    Ok(ids.len())
}

/// `GET /jobs/{id}`: the caller's own job.
///
/// Errors: 404 `job_not_found` (no such job, or another user's).
pub async fn job_status(ctx: &AppContext, auth: &AuthContext, job_id: Uuid) -> AppResult<JobView> {
    let mut conn = ctx.db.get().await?;
    let job = BulkJob::find(&mut conn, job_id)
        .await?
        .filter(|job| job.user_id == auth.user_id)
        .ok_or_else(|| AppError::not_found("job_not_found", "There is no such job of yours."))?;
    let failures = serde_json::from_value(job.failures.clone()).unwrap_or_default();
    Ok(JobView { job, failures })
}
