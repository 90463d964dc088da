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

use crate::domain::bulk_run::{Stored, process_item};
use crate::domain::caller::AuthContext;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::forwards::{self, ForwardBulkRequest};
use crate::domain::history;
use crate::domain::jobs::{self, bulk_send::BulkSend};
use crate::domain::messages::{self, MAX_CLIENT_ID_CHARS, SendOutcome};
use crate::domain::models::bulk_job::{BulkJob, NewBulkJob};
use crate::domain::validate;
use crate::domain::views::{BulkFailure, JobView, MessageView};
use crate::infra::ratelimit::Limit;

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
    let stored = Stored::Send {
        receiver_ids: receivers,
        text: req.text.clone(),
    };
    ctx.limits.check(Limit::Message, &me.to_string()).await?;
    if stored.items().len() <= ctx.settings.jobs.bulk_sync_max {
        return send_now(ctx, me, &stored, &client_id).await;
    }
    let job_id = start_job(ctx, me, &client_id, &stored).await?;
    Ok(BulkOutcome::Queued { job_id })
}

/// What a bulk forward answered.
#[derive(Debug, Clone)]
pub enum ForwardOutcome {
    /// Done in the request, all or none.
    Sent {
        copies: Vec<MessageView>,
        outcome: SendOutcome,
    },
    /// Handed to the worker: per-target failures in the job.
    Queued { job_id: Uuid },
}

/// `POST /messages/{id}/forward-bulk`: up to `BULK_SYNC_MAX` target chats
/// in the request, all or none ([`forwards`]); more (up to
/// `BULK_MAX_RECEIVERS`) by the worker as a job, where a target the caller
/// cannot post in is a failure of that target. The caller must be able to
/// read the source either way.
///
/// Errors: 422 `target_chat_ids` (none, or too many), `client_message_id`
/// (missing for a job); 404 `message_not_found`; 403 `not_a_member`; 409
/// `client_message_id_conflict`; otherwise as [`forwards::forward`].
pub async fn forward_bulk(
    ctx: &AppContext,
    auth: &AuthContext,
    message_id: i64,
    req: &ForwardBulkRequest,
) -> AppResult<ForwardOutcome> {
    let me = auth.user_id;
    let targets = forwards::distinct_targets(&req.target_chat_ids);
    let max = ctx.settings.jobs.bulk_max_receivers;
    if targets.is_empty() || targets.len() > max {
        return Err(AppError::validation(
            "target_chat_ids",
            format!("target_chat_ids must name 1 to {max} chats."),
        ));
    }
    if targets.len() <= ctx.settings.jobs.bulk_sync_max {
        let (copies, outcome) = forwards::forward_bulk_now(
            ctx,
            me,
            message_id,
            &targets,
            req.client_message_id.as_deref(),
        )
        .await?;
        return Ok(ForwardOutcome::Sent { copies, outcome });
    }
    let client_id = validate::text_field(
        "client_message_id",
        req.client_message_id.as_deref().unwrap_or_default(),
        1,
        MAX_CLIENT_ID_CHARS,
    )?;
    {
        let mut conn = ctx.db.get().await?;
        let (source, _, _) = history::visible_message(&mut conn, message_id, me, false).await?;
        if source.deleted_at.is_some() {
            return Err(history::message_not_found());
        }
    }
    ctx.limits.check(Limit::Message, &me.to_string()).await?;
    let stored = Stored::Forward {
        message_id,
        target_chat_ids: targets,
    };
    let job_id = start_job(ctx, me, &client_id, &stored).await?;
    Ok(ForwardOutcome::Queued { job_id })
}

/// Records the job of `stored` (or finds the one a retry of the same
/// request made) and queues it; returns its id.
///
/// Errors: 409 `client_message_id_conflict` (the id started another
/// request's job).
async fn start_job(ctx: &AppContext, me: i64, client_id: &str, stored: &Stored) -> AppResult<Uuid> {
    let kind = stored.kind();
    let mut conn = ctx.db.get().await?;
    if let Some(job) = BulkJob::find_by_client_id(&mut conn, me, kind, client_id).await? {
        return same_request(&job, stored).map(|()| job.id);
    }
    let request =
        serde_json::to_value(stored).map_err(|e| AppError::internal(anyhow::Error::from(e)))?;
    let new = NewBulkJob {
        id: Uuid::new_v4(),
        kind,
        user_id: me,
        client_message_id: client_id,
        request,
        total: stored.items().len() as i32,
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
            tracing::info!(job.id = %job.id, user.id = me, kind, items = job.total, "bulk job queued");
            job
        }
        // A concurrent retry created it first.
        None => BulkJob::find_by_client_id(&mut conn, me, kind, client_id)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("bulk job vanished")))?,
    };
    same_request(&job, stored)?;
    Ok(job.id)
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
    for item in stored.items() {
        match process_item(ctx, me, stored, *item, client_id).await? {
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
