//! Background jobs (ARCHITECTURE §4): their types, the queue the API pushes
//! to, and what to do when there is no queue. Jobs carry ids, reload their
//! rows and are idempotent; the worker runs them (`parley-worker`).

use apalis::prelude::TaskSink;
use apalis_redis::{Config, RedisStorage};
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::context::AppContext;

/// Which email to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// Sent on register: welcome, with the email verification link.
    Welcome,
}

impl EmailKind {
    /// The name stored in `email_deliveries.kind`.
    pub fn as_str(&self) -> &'static str {
        match self {
            EmailKind::Welcome => "welcome",
        }
    }
}

/// Send one email to one user. `job_id` makes it idempotent: a job that
/// runs twice sends once (`email_deliveries`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendEmail {
    pub job_id: Uuid,
    pub user_id: i64,
    pub kind: EmailKind,
}

/// The Redis queue name of email jobs: `{prefix}:jobs:send_email`.
pub fn send_email_queue(prefix: &str) -> String {
    format!("{prefix}:jobs:send_email")
}

/// The apalis storage of email jobs over `conn`.
pub fn send_email_storage(conn: ConnectionManager, prefix: &str) -> RedisStorage<SendEmail> {
    RedisStorage::new(conn).with_config(Config::default().queue(send_email_queue(prefix)))
}

/// Where the API pushes jobs. Cheap to clone.
#[derive(Clone)]
pub struct JobQueue {
    send_email: RedisStorage<SendEmail>,
}

impl JobQueue {
    /// A queue over the shared Redis connection, namespaced by `prefix`.
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        JobQueue {
            send_email: send_email_storage(conn, prefix),
        }
    }

    /// Pushes an email job.
    pub async fn push_send_email(&self, job: SendEmail) -> anyhow::Result<()> {
        let mut storage = self.send_email.clone();
        storage
            .push(job)
            .await
            .map_err(|e| anyhow::anyhow!("push send_email: {e}"))
    }
}

/// Queues `job` after the caller's transaction committed. A failure to queue
/// is logged, not returned: the user's request already succeeded. Without a
/// queue (no Redis) the email is sent from this process in the background.
pub async fn enqueue_email_or_log(ctx: &AppContext, job: SendEmail) {
    match &ctx.jobs {
        Some(queue) => {
            if let Err(err) = queue.push_send_email(job.clone()).await {
                tracing::error!(job.id = %job.job_id, error = %err, "could not queue email job");
            }
        }
        None => {
            let ctx = ctx.clone();
            tokio::spawn(async move {
                if let Err(err) = crate::mail::perform_send_email(&ctx, &job).await {
                    tracing::error!(job.id = %job.job_id, error = %err, "inline email failed");
                }
            });
        }
    }
}
