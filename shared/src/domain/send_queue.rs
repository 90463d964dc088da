//! The queue between the send path and the group-commit writers
//! ([`crate::domain::group_commit`], issue 13, item 2): what a queued send
//! holds and how a writer takes a batch ([`BatchQueue`], which the session
//! checks use too). A module of its own so that the
//! context ([`crate::domain::context::AppContext::sends`]) can own the
//! queue without depending on the writers, which depend on the context.

use std::sync::{Arc, Mutex as StdMutex};

use thread_local::ThreadLocal;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::domain::error::AppResult;
use crate::domain::events::LoggedEvent;
use crate::domain::kinds::MessageType;
use crate::domain::views::MessageView;

/// The most sends one transaction writes.
pub const MAX_BATCH: usize = 64;
/// Sends waiting for a thread's writers before a send waits too.
const QUEUE: usize = 4096;

/// A new text or media message (its caption) as the send path queues it:
/// the chat, the content and the sender's idempotency key.
#[derive(Debug, Clone)]
pub struct NewPost {
    pub chat_id: i64,
    pub message_type: MessageType,
    pub text: String,
    pub reply_to_message_id: Option<i64>,
    pub client_message_id: Option<String>,
}

/// A posted message: its logged event (published once answered) and the
/// sender's view of it.
pub type Posted = (LoggedEvent, MessageView);

/// One queued send and where its answer goes.
#[derive(Debug)]
pub struct Pending {
    pub sender_id: i64,
    pub post: NewPost,
    pub answer: oneshot::Sender<AppResult<Posted>>,
}

/// The receiving end of one lane of a [`BatchQueue`], shared by the
/// lane's consumers ([`next_batch`]).
pub type LaneReceiver<T> = Arc<Mutex<mpsc::Receiver<T>>>;

/// A queue whose consumers take what is waiting as one batch
/// ([`next_batch`]): the sends for group commit ([`SendQueue`]), the
/// session checks ([`crate::domain::session_checks`]). Cheap to clone.
///
/// Each thread that pushes has a lane of its own: its own queue and its
/// own consumers, which its first push starts on the runtime that pushes
/// ([`BatchQueue::push`]). actix-web's workers each run a runtime of one
/// thread, so a request, the batch that carries it, the consumer that
/// writes the batch and the database connections that consumer opens all
/// stay on the thread that read the request: no thread is woken to hand
/// a send over and back (issue 13, item 2: a sixth to a third of the
/// API's CPU per send; docs/benchmarks.md). A lane whose consumers are
/// gone (their runtime stopped) is started again by the next push.
pub struct BatchQueue<T: Send> {
    lanes: Arc<ThreadLocal<Lane<T>>>,
    capacity: usize,
}

/// One thread's lane: where its pushes go, `None` before its first.
struct Lane<T> {
    sender: StdMutex<Option<mpsc::Sender<T>>>,
}

impl<T> Default for Lane<T> {
    fn default() -> Self {
        Lane {
            sender: StdMutex::new(None),
        }
    }
}

/// The queue of one process's sends.
pub type SendQueue = BatchQueue<Pending>;

impl<T: Send> Clone for BatchQueue<T> {
    fn clone(&self) -> Self {
        BatchQueue {
            lanes: self.lanes.clone(),
            capacity: self.capacity,
        }
    }
}

impl<T: Send> std::fmt::Debug for BatchQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchQueue").finish_non_exhaustive()
    }
}

impl Default for SendQueue {
    fn default() -> Self {
        BatchQueue::new(QUEUE)
    }
}

impl<T: Send> BatchQueue<T> {
    /// A queue of at most `capacity` waiting items per lane.
    pub fn new(capacity: usize) -> Self {
        BatchQueue {
            lanes: Arc::new(ThreadLocal::new()),
            capacity,
        }
    }

    /// Queues an item on the calling thread's lane; waits while the lane is
    /// full. When the lane has no consumers yet (this thread's first push,
    /// or its consumers stopped) `start` is given the lane's receiving end
    /// to spawn them, on the current runtime. `Err` when no consumer will
    /// take the item (they stopped while it waited).
    pub async fn push(&self, item: T, start: impl FnOnce(LaneReceiver<T>)) -> Result<(), T> {
        let sender = {
            let lane = self.lanes.get_or_default();
            let mut slot = lane.sender.lock().unwrap_or_else(|e| e.into_inner());
            match slot.as_ref() {
                Some(sender) if !sender.is_closed() => sender.clone(),
                _ => {
                    let (sender, receiver) = mpsc::channel(self.capacity);
                    start(Arc::new(Mutex::new(receiver)));
                    *slot = Some(sender.clone());
                    sender
                }
            }
        };
        sender.send(item).await.map_err(|e| e.0)
    }
}

/// What is queued, at most `max`, once there is something; `None` when
/// the queue closed. Consumers take turns: one waits, the others work on
/// what they took.
pub async fn next_batch<T>(receiver: &Mutex<mpsc::Receiver<T>>, max: usize) -> Option<Vec<T>> {
    let mut receiver = receiver.lock().await;
    let first = receiver.recv().await?;
    let mut batch = vec![first];
    while batch.len() < max {
        match receiver.try_recv() {
            Ok(next) => batch.push(next),
            Err(_) => break,
        }
    }
    Some(batch)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    use super::*;

    /// Pushes `items` to `queue` from a new one-thread runtime on the
    /// calling thread, and returns how many times a lane was started and
    /// what the started consumers took, in order. The runtime (and the
    /// consumers it runs) ends with the call, once `all` threads got there.
    fn push_from_this_thread(
        queue: &BatchQueue<u32>,
        items: &[u32],
        all: &Barrier,
    ) -> (usize, Vec<u32>) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let starts = Arc::new(AtomicUsize::new(0));
            let (taken_tx, mut taken) = mpsc::unbounded_channel();
            for item in items {
                let (starts, taken_tx) = (starts.clone(), taken_tx.clone());
                let start = move |receiver: LaneReceiver<u32>| {
                    starts.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(async move {
                        while let Some(batch) = next_batch(&receiver, MAX_BATCH).await {
                            for item in batch {
                                let _ = taken_tx.send(item);
                            }
                        }
                    });
                };
                queue.push(*item, start).await.expect("a consumer");
            }
            // Only the consumers started here hold a sender now: what they
            // did not take ends the loop below with `None`.
            drop(taken_tx);
            // The timeout only bounds how long a lane that lost items keeps
            // the test waiting; what was taken is what the test asserts.
            let mut took = Vec::new();
            while took.len() < items.len() {
                match tokio::time::timeout(Duration::from_secs(5), taken.recv()).await {
                    Ok(Some(item)) => took.push(item),
                    Ok(None) | Err(_) => break,
                }
            }
            // Every thread's consumers stay alive until all have pushed.
            all.wait();
            (starts.load(Ordering::SeqCst), took)
        })
    }

    #[test]
    fn each_thread_pushes_to_a_lane_of_its_own() {
        let (queue, all) = (BatchQueue::new(16), Barrier::new(2));
        let (first, second) = std::thread::scope(|scope| {
            let first = scope.spawn(|| push_from_this_thread(&queue, &[1, 2, 3], &all));
            let second = scope.spawn(|| push_from_this_thread(&queue, &[10, 20, 30], &all));
            (first.join().unwrap(), second.join().unwrap())
        });
        // One start per thread, and each thread's consumers took exactly
        // that thread's items, in order.
        assert_eq!(first, (1, vec![1, 2, 3]));
        assert_eq!(second, (1, vec![10, 20, 30]));
    }

    #[test]
    fn a_lane_whose_consumers_stopped_is_started_again() {
        let (queue, alone) = (BatchQueue::new(16), Barrier::new(1));
        assert_eq!(
            push_from_this_thread(&queue, &[1, 2], &alone),
            (1, vec![1, 2])
        );
        // The first runtime is gone with its consumers; the same thread's
        // lane gets new ones instead of refusing the push.
        assert_eq!(push_from_this_thread(&queue, &[3], &alone), (1, vec![3]));
    }
}
