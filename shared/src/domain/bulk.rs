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

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::bulk_run::{Stored, send_to};
use crate::domain::caller::AuthContext;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::jobs::{self, bulk_send::BulkSend};
use crate::domain::messages::{self, MAX_CLIENT_ID_CHARS, SendOutcome};
use crate::domain::models::bulk_job::{BulkJob, NewBulkJob};
use crate::domain::validate;
use crate::domain::views::{BulkFailure, JobView, MessageView};
use crate::infra::ratelimit::Limit;

/// The kind of a bulk send in `bulk_jobs`.
const KIND: &str = "bulk_send";
/// `POST /messages/bulk` (API.md; seed 002 §8).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BulkSendRequest {
    /// 1 to `BULK_MAX_RECEIVERS` users (repeats count once).
    pub receiver_ids: Vec<i64>,
    pub text: String,
    /// Required: it keys every receiver's message and the job.
    pub client_message_id: String,
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
