//! The worker's side of bulk sends ([`crate::domain::bulk`]): one
//! receiver's send, and a job's run from its recorded position under a
//! lease. Below the job queue (`domain::jobs` runs it), so it stages
//! nothing itself.

use futures_util::{StreamExt, stream};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::chats::private_chat_with;
use crate::domain::context::AppContext;
use crate::domain::error::AppResult;
use crate::domain::messages::{self, MessageCreateRequest, SendOutcome, Throttle};
use crate::domain::models::bulk_job::{BulkJob, Progress};
use crate::domain::views::{BulkFailure, MessageView};

/// Receivers a job run sends to between two progress records.
pub(crate) const BATCH: usize = 100;
/// Sends of one batch in flight at once (each in its own chat).
pub(crate) const IN_FLIGHT: usize = 8;

/// What a job stores of its request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Stored {
    pub receiver_ids: Vec<i64>,
    pub text: String,
}

/// The idempotency key of the message to `receiver`.
pub(crate) fn receiver_key(client_id: &str, receiver: i64) -> String {
    format!("{client_id}@{receiver}")
}

/// Sends to one receiver: `Ok(Err(failure))` for a refusal that is theirs
/// (a 4xx), `Err` for a failure of Parley's (the job retries).
pub(crate) async fn send_to(
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
