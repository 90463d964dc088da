//! Session checks of concurrent requests, answered together (issue 13,
//! item 2). Every authenticated request must know that its session is
//! still active (not revoked, not expired), which is a query; while one
//! such query is in flight, the checks that arrive wait and go together in
//! the next, so a busy replica runs one query per batch, not one per
//! request. A lone check runs its query at once. A module of its own so
//! that the context ([`crate::domain::context::AppContext::sessions`]) can
//! own it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;
use uuid::Uuid;

use crate::domain::error::{AppError, AppResult};
use crate::domain::models::session::Session;
use crate::infra::db::DbPool;

/// The most sessions one query checks.
const MAX_BATCH: usize = 256;

/// A waiting check: `(session jti, user id)` and where its answer goes.
type Check = ((Uuid, i64), oneshot::Sender<AppResult<bool>>);

/// The session checks of one process; cheap to clone.
#[derive(Clone, Default)]
pub struct SessionChecks {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    queue: Mutex<Vec<Check>>,
    /// A task is taking batches from the queue.
    draining: AtomicBool,
}

impl SessionChecks {
    /// `true` if session `jti` exists, belongs to `user_id`, is not revoked
    /// and has not expired; checked in one query with the checks that
    /// arrive while another is in flight.
    ///
    /// Errors: 503 when the database is unavailable.
    pub async fn is_active(&self, db: &DbPool, jti: Uuid, user_id: i64) -> AppResult<bool> {
        let (answer, answered) = oneshot::channel();
        self.queue().push(((jti, user_id), answer));
        // The queries run in a task of their own: a request that goes away
        // (its client hung up) must not take the others' answers with it.
        if self.claim() {
            tokio::spawn(self.clone().drain(db.clone()));
        }
        answered
            .await
            .map_err(|_| AppError::internal(anyhow::anyhow!("the session checks stopped")))?
    }

    fn queue(&self) -> MutexGuard<'_, Vec<Check>> {
        self.inner.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `true` when this caller is now the one that drains the queue.
    fn claim(&self) -> bool {
        self.inner
            .draining
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    async fn drain(self, db: DbPool) {
        loop {
            loop {
                let batch: Vec<Check> = {
                    let mut queue = self.queue();
                    let n = queue.len().min(MAX_BATCH);
                    queue.drain(..n).collect()
                };
                if batch.is_empty() {
                    break;
                }
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
            self.inner.draining.store(false, Ordering::SeqCst);
            // A check queued after the last take, whose caller still saw
            // `draining` set, is left to us.
            if self.queue().is_empty() || !self.claim() {
                return;
            }
        }
    }
}
