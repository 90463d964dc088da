//! Session checks of concurrent requests, answered together (issue 13,
//! item 2). Every authenticated request must know that its session is
//! still active (not revoked, not expired), which is a query; while one
//! such query is in flight, the checks that arrive on the same thread
//! wait and go together in the next, so a busy replica runs one query per
//! batch, not one per request. A lone check runs its query at once. A
//! module of its own so that the context
//! ([`crate::domain::context::AppContext::sessions`]) can own it.

use std::sync::Arc;

use tokio::sync::oneshot;
use uuid::Uuid;

use crate::domain::error::{AppError, AppResult};
use crate::domain::models::session::Session;
use crate::domain::send_queue::{BatchQueue, LaneReceiver, next_batch};
use crate::infra::db::{DbPool, lane_pool};

/// The most sessions one query checks.
const MAX_BATCH: usize = 256;
/// Checks waiting before a request waits to queue its own.
const QUEUE: usize = 4096;

/// A waiting check: `(session jti, user id)` and where its answer goes.
type Check = ((Uuid, i64), oneshot::Sender<AppResult<bool>>);

/// The session checks of one process; cheap to clone. Each thread that
/// checks has its own lane ([`BatchQueue`]): one task, started by the
/// thread's first check on its runtime, runs the lane's queries one after
/// the other on a connection of its own.
#[derive(Clone)]
pub struct SessionChecks {
    queue: BatchQueue<Check>,
    /// The process's pool: what a lane uses if its own cannot be built.
    shared: DbPool,
    database_url: Arc<str>,
}

impl SessionChecks {
    /// The checks of a process whose database is `database_url` and whose
    /// shared pool is `shared`.
    pub fn new(shared: DbPool, database_url: &str) -> Self {
        SessionChecks {
            queue: BatchQueue::new(QUEUE),
            shared,
            database_url: database_url.into(),
        }
    }

    /// `true` if session `jti` exists, belongs to `user_id`, is not revoked
    /// and has not expired; checked in one query with the checks that
    /// arrive while another is in flight on this thread.
    ///
    /// Errors: 503 when the database is unavailable.
    pub async fn is_active(&self, jti: Uuid, user_id: i64) -> AppResult<bool> {
        // The queries run in a task of their own: a request that goes away
        // (its client hung up) must not take the others' answers with it.
        let start = |receiver: LaneReceiver<Check>| {
            let db = lane_pool(&self.shared, &self.database_url, 1);
            tokio::spawn(async move {
                while let Some(batch) = next_batch(&receiver, MAX_BATCH).await {
                    answer(&db, batch).await;
                }
            });
        };
        let gone = || AppError::internal(anyhow::anyhow!("the session checks stopped"));
        let (answer, answered) = oneshot::channel();
        self.queue
            .push(((jti, user_id), answer), start)
            .await
            .map_err(|_| gone())?;
        answered.await.map_err(|_| gone())?
    }
}

/// Runs one query for `batch` and answers each check.
async fn answer(db: &DbPool, batch: Vec<Check>) {
    let keys: Vec<(Uuid, i64)> = batch.iter().map(|(key, _)| *key).collect();
    let active = async {
        let mut conn = db.get().await?;
        Ok::<_, AppError>(Session::active_of(&mut conn, &keys).await?)
    }
    .await;
    match active {
        Ok(active) => {
            for (key, answer) in batch {
                let _ = answer.send(Ok(active.contains(&key)));
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, checks = batch.len(), "session check failed");
            for (_, answer) in batch {
                let _ = answer.send(Err(AppError::Unavailable {
                    detail: "The database is unavailable.".into(),
                }));
            }
        }
    }
}
