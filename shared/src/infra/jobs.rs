//! Background jobs (ARCHITECTURE §4): their types, the queue the API pushes
//! to, and what to do when there is no queue. Jobs carry ids, reload their
//! rows and are idempotent; the worker runs them (`parley-worker`).
//!
//! A job that must not be lost is not pushed by the request: it is written
//! to the `outbox` table in the request's own transaction ([`stage`]) and
//! the worker's relay ([`relay_outbox`]) moves it to the Redis queue, so a
//! Redis outage delays it but never drops it (issue 6, item 7).

use apalis::prelude::TaskSink;
use apalis_redis::{Config, RedisStorage};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::infra::schema::outbox;

/// The outbox name of the email queue.
const SEND_EMAIL: &str = "send_email";

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

/// Writes `job` to the outbox in the caller's transaction; the worker's
/// relay queues it after commit. Idempotent by `job_id`.
pub async fn stage(conn: &mut AsyncPgConnection, job: &SendEmail) -> QueryResult<()> {
    let payload = serde_json::to_value(job)
        .map_err(|e| diesel::result::Error::SerializationError(e.into()))?;
    diesel::insert_into(outbox::table)
        .values((
            outbox::job_id.eq(job.job_id),
            outbox::queue.eq(SEND_EMAIL),
            outbox::payload.eq(payload),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves up to `batch` outbox rows, oldest first, to their Redis queues and
/// deletes them, in one transaction; returns how many were queued. Rows
/// that another relay holds are skipped (`SKIP LOCKED`), so several workers
/// can relay at once. A row that cannot be decoded is logged and dropped.
///
/// Errors: the database, or a push to Redis failed (nothing is deleted; the
/// next pass tries again).
pub async fn relay_outbox(
    conn: &mut AsyncPgConnection,
    queue: &JobQueue,
    batch: i64,
) -> anyhow::Result<usize> {
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        let rows: Vec<(i64, String, serde_json::Value)> = outbox::table
            .order(outbox::id.asc())
            .limit(batch)
            .for_update()
            .skip_locked()
            .select((outbox::id, outbox::queue, outbox::payload))
            .load(conn)
            .await?;
        let mut queued = 0;
        for (id, name, payload) in &rows {
            match (
                name.as_str(),
                serde_json::from_value::<SendEmail>(payload.clone()),
            ) {
                (SEND_EMAIL, Ok(job)) => {
                    queue.push_send_email(job).await?;
                    queued += 1;
                }
                (other, _) => {
                    tracing::error!(
                        outbox.id = id,
                        queue = other,
                        "undecodable outbox row dropped"
                    );
                }
            }
        }
        let ids: Vec<i64> = rows.iter().map(|(id, _, _)| *id).collect();
        diesel::delete(outbox::table.filter(outbox::id.eq_any(&ids)))
            .execute(conn)
            .await?;
        Ok(queued)
    })
    .await
}
