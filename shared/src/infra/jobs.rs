//! The job queue (apalis over Redis) and the outbox (ARCHITECTURE §4).
//! Which jobs exist and what they do is the domain's
//! ([`crate::domain::jobs`]); here a job is a queue name and a serde
//! payload.
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
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::infra::schema::outbox;

/// The Redis queue of jobs named `name`: `{prefix}:jobs:{name}`.
pub fn queue_name(prefix: &str, name: &str) -> String {
    format!("{prefix}:jobs:{name}")
}

/// The apalis storage of the jobs named `name`, with payloads of type `T`.
pub fn storage<T>(conn: ConnectionManager, prefix: &str, name: &str) -> RedisStorage<T> {
    RedisStorage::new(conn).with_config(Config::default().queue(queue_name(prefix, name)))
}

/// How many jobs of one queue are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueState {
    /// Waiting for a worker.
    pub pending: u64,
    /// Failed, waiting to run again.
    pub retrying: u64,
    /// Taken by a worker, not finished.
    pub running: u64,
    /// Out of retries.
    pub failed: u64,
    /// Finished (apalis keeps their ids).
    pub done: u64,
}

/// Counts a queue's jobs by state, in one round trip. apalis 1.0's own
/// `Metrics::fetch_by_queue` reads keys of types its storage does not
/// write (and fails), so this reads the keys its `Config` names.
const QUEUE_STATE: &str = r#"
local running = 0
for _, worker in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
  running = running + redis.call('SCARD', ARGV[1] .. ':' .. worker)
end
return { redis.call('LLEN', KEYS[1]), redis.call('ZCARD', KEYS[2]), running,
         redis.call('SCARD', KEYS[3]), redis.call('SCARD', KEYS[4]) }
"#;

/// The states of the jobs named `name`.
///
/// Errors: Redis fails.
pub async fn queue_state(
    mut conn: ConnectionManager,
    prefix: &str,
    name: &str,
) -> anyhow::Result<QueueState> {
    let config = Config::default().queue(queue_name(prefix, name));
    let counts: Vec<u64> = redis::Script::new(QUEUE_STATE)
        .key(config.active_jobs_list())
        .key(config.scheduled_jobs_set())
        .key(config.dead_jobs_set())
        .key(config.done_jobs_set())
        .key(config.workers_set())
        .arg(config.inflight_jobs_set())
        .invoke_async(&mut conn)
        .await?;
    let [pending, retrying, running, failed, done] = counts[..] else {
        anyhow::bail!("queue state: {} counts", counts.len());
    };
    Ok(QueueState {
        pending,
        retrying,
        running,
        failed,
        done,
    })
}

/// Where the API and the relay push jobs. Cheap to clone.
#[derive(Clone)]
pub struct JobQueue {
    conn: ConnectionManager,
    prefix: String,
}

impl JobQueue {
    /// A queue over the shared Redis connection, namespaced by `prefix`.
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        JobQueue {
            conn,
            prefix: prefix.to_owned(),
        }
    }

    /// Pushes `payload` on the queue of the jobs named `name`.
    ///
    /// Errors: Redis refused or is unreachable.
    pub async fn push<T>(&self, name: &str, payload: T) -> anyhow::Result<()>
    where
        T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
    {
        let mut storage = storage::<T>(self.conn.clone(), &self.prefix, name);
        storage
            .push(payload)
            .await
            .map_err(|e| anyhow::anyhow!("push {name}: {e}"))
    }
}

/// Writes a job named `name` with id `job_id` to the outbox in the
/// caller's transaction; the worker's relay queues it after commit.
/// Idempotent by `job_id`.
pub async fn stage(
    conn: &mut AsyncPgConnection,
    name: &str,
    job_id: Uuid,
    payload: &impl Serialize,
) -> QueryResult<()> {
    let payload = serde_json::to_value(payload)
        .map_err(|e| diesel::result::Error::SerializationError(e.into()))?;
    diesel::insert_into(outbox::table)
        .values((
            outbox::job_id.eq(job_id),
            outbox::queue.eq(name),
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
/// can relay at once. The payload goes out as it was staged: the relay
/// needs no knowledge of the job's type.
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
        for (_, name, payload) in &rows {
            queue.push(name, payload.clone()).await?;
        }
        let ids: Vec<i64> = rows.iter().map(|(id, _, _)| *id).collect();
        diesel::delete(outbox::table.filter(outbox::id.eq_any(&ids)))
            .execute(conn)
            .await?;
        Ok(rows.len())
    })
    .await
}
