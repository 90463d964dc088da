//! Session checks of concurrent requests, answered together (issue 13,
//! item 2). Every authenticated request must know that its session is
//! still active (not revoked, not expired), which is a query; while one
//! such query is in flight, the checks that arrive wait and go together in
//! the next, so a busy replica runs one query per batch, not one per
//! request. A lone check runs its query at once. A module of its own so
//! that the context ([`crate::domain::context::AppContext::sessions`]) can
//! own it.

use tokio::sync::oneshot;
use uuid::Uuid;

use crate::domain::error::{AppError, AppResult};
use crate::domain::models::session::Session;
use crate::domain::send_queue::{BatchQueue, next_batch};
use crate::infra::db::DbPool;

/// The most sessions one query checks.
const MAX_BATCH: usize = 256;
/// Checks waiting before a request waits to queue its own.
const QUEUE: usize = 4096;

/// A waiting check: `(session jti, user id)` and where its answer goes.
type Check = ((Uuid, i64), oneshot::Sender<AppResult<bool>>);

/// The session checks of one process; cheap to clone. One task, started
/// by the first check, runs the queries one after the other.
#[derive(Clone)]
pub struct SessionChecks {
    queue: BatchQueue<Check>,
}

impl Default for SessionChecks {
    fn default() -> Self {
        SessionChecks {
            queue: BatchQueue::new(QUEUE),
        }
    }
}

impl SessionChecks {
    /// `true` if session `jti` exists, belongs to `user_id`, is not revoked
    /// and has not expired; checked in one query with the checks that
    /// arrive while another is in flight.
    ///
    /// Errors: 503 when the database is unavailable.
    pub async fn is_active(&self, db: &DbPool, jti: Uuid, user_id: i64) -> AppResult<bool> {
        // The queries run in a task of their own: a request that goes away
        // (its client hung up) must not take the others' answers with it.
        self.queue.start_once(|receiver| {
            let db = db.clone();
            tokio::spawn(async move {
                while let Some(batch) = next_batch(&receiver, MAX_BATCH).await {
                    answer(&db, batch).await;
                }
            });
        });
        let gone = || AppError::internal(anyhow::anyhow!("the session checks stopped"));
        let (answer, answered) = oneshot::channel();
        self.queue
            .push(((jti, user_id), answer))
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
