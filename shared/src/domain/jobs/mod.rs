//! Background jobs (ARCHITECTURE §4): one file per job, each a serde
//! struct of ids implementing [`Job`]. The worker registers every job of
//! [`all`] the same way; the API stages a job in the outbox in its own
//! transaction ([`stage`]) or, without Redis, runs it in process
//! ([`run_inline`]). Jobs reload their rows and are idempotent.

pub mod bulk_send;
pub mod send_email;

use std::future::Future;

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::domain::context::AppContext;

/// A kind of background job.
pub trait Job: Serialize + DeserializeOwned + Clone + Send + Sync + Unpin + 'static {
    /// The job's name: its queue is `{prefix}:jobs:{NAME}`, and its outbox
    /// rows carry it.
    const NAME: &'static str;

    /// Two runs with the same key do the work once.
    fn idempotency_key(&self) -> Uuid;

    /// Does the work. An error makes the queue retry the job.
    fn run(&self, ctx: &AppContext) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Writes `job` to the outbox in the caller's transaction; the worker's
/// relay queues it after commit (see [`crate::infra::jobs`]).
pub async fn stage<J: Job>(conn: &mut AsyncPgConnection, job: &J) -> QueryResult<()> {
    crate::infra::jobs::stage(conn, J::NAME, job.idempotency_key(), job).await
}

/// Runs `job` in this process in the background, for a process without a
/// queue (no Redis, so no worker). A failure is logged.
pub fn run_inline<J: Job>(ctx: &AppContext, job: J) {
    let ctx = ctx.clone();
    tokio::spawn(async move {
        if let Err(err) = job.run(&ctx).await {
            tracing::error!(
                job = J::NAME,
                job.id = %job.idempotency_key(),
                error = format!("{err:#}"),
                "inline job failed"
            );
        }
    });
}

/// Calls `f` once per kind of job: how the worker registers them all.
pub trait JobVisitor {
    fn visit<J: Job>(&mut self);
}

/// The name of every kind of job ([`Job::NAME`]).
pub fn kinds() -> Vec<&'static str> {
    struct Names(Vec<&'static str>);
    impl JobVisitor for Names {
        fn visit<J: Job>(&mut self) {
            self.0.push(J::NAME);
        }
    }
    let mut names = Names(Vec::new());
    all(&mut names);
    names.0
}

/// Every kind of job, for `visitor`.
pub fn all(visitor: &mut impl JobVisitor) {
    visitor.visit::<send_email::SendEmail>();
    visitor.visit::<bulk_send::BulkSend>();
}
