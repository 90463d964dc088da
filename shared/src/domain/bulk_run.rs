//! The worker's side of bulk sends ([`crate::domain::bulk`]): one
//! receiver's send, and a job's run from its recorded position under a
//! lease. Below the job queue (`domain::jobs` runs it), so it stages
//! nothing itself.

use futures_util::{StreamExt, stream};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::chats::private_chat_with;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::forwards;
use crate::domain::messages::{self, MessageCreateRequest, SendOutcome, Throttle};
use crate::domain::models::bulk_job::{BulkJob, Progress};
use crate::domain::views::{BulkFailure, MessageView};

/// Receivers a job run sends to between two progress records.
pub(crate) const BATCH: usize = 100;
/// Sends of one batch in flight at once (each in its own chat).
pub(crate) const IN_FLIGHT: usize = 8;

/// What a job stores of its request (`bulk_jobs.request`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Stored {
    /// A bulk send: one message per receiver.
    Send {
        receiver_ids: Vec<i64>,
        text: String,
    },
    /// A bulk forward: one copy of `message_id` per target chat.
    Forward {
        message_id: i64,
        target_chat_ids: Vec<i64>,
    },
}

impl Stored {
    /// The receivers, or the target chats: one unit of work each.
    pub(crate) fn items(&self) -> &[i64] {
        match self {
            Stored::Send { receiver_ids, .. } => receiver_ids,
            Stored::Forward {
                target_chat_ids, ..
            } => target_chat_ids,
        }
    }

    /// `bulk_jobs.kind`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Stored::Send { .. } => "bulk_send",
            Stored::Forward { .. } => "forward_bulk",
        }
    }
}

/// Does one unit of `stored`'s work: the message to a receiver, or the
/// copy in a target chat. `Ok(Err(failure))` for a refusal that is the
/// item's (a 4xx), `Err` for a failure of Parley's (the job retries).
pub(crate) async fn process_item(
    ctx: &AppContext,
    me: i64,
    stored: &Stored,
    item: i64,
    client_id: &str,
) -> AppResult<Result<(MessageView, SendOutcome), BulkFailure>> {
    match stored {
        Stored::Send { text, .. } => send_to(ctx, me, item, text, client_id).await,
        Stored::Forward { message_id, .. } => {
            let key = [Some(receiver_key(client_id, item))];
            let attempt =
                forwards::forward_copies(ctx, me, *message_id, &[item], &key, Throttle::OnBehalf)
                    .await
                    .and_then(|(mut copies, outcome)| {
                        copies
                            .pop()
                            .map(|copy| (copy, outcome))
                            .ok_or_else(|| AppError::internal(anyhow::anyhow!("no copy")))
                    });
            Ok(as_failure(attempt, item)?)
        }
    }
}

/// A refusal of the item's own (a 4xx other than a rate limit) as a
/// failure; anything else as an error.
fn as_failure<T>(result: AppResult<T>, item: i64) -> AppResult<Result<T, BulkFailure>> {
    match result {
        Ok(done) => Ok(Ok(done)),
        Err(err) if err.status() < 500 && err.status() != 429 => Ok(Err(BulkFailure {
            receiver_id: item,
            code: err.code().to_owned(),
            detail: err.detail(),
        })),
        Err(err) => Err(err),
    }
}

/// The idempotency key of the message to `receiver`.
pub(crate) fn receiver_key(client_id: &str, receiver: i64) -> String {
    format!("{client_id}@{receiver}")
}

/// Sends to one receiver (see [`process_item`]).
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
    as_failure(attempt.await, receiver)
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
        let items = stored.items();
        let start = job.position.max(0) as usize;
        let end = (start + BATCH).min(items.len());
        let batch = &items[start..end];
        let results: Vec<AppResult<Result<(MessageView, SendOutcome), BulkFailure>>> =
            stream::iter(batch.iter().copied())
                .map(|item| process_item(ctx, job.user_id, &stored, item, &job.client_message_id))
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
        if end >= items.len() {
            tracing::info!(job.id = %job_id, kind = job.kind, total = job.total, "bulk job done");
            return Ok(());
        }
    }
}
