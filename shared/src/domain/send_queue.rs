//! The queue between the send path and the group-commit writers
//! ([`crate::domain::group_commit`], issue 13, item 2): what a queued send
//! holds and how a writer takes a batch ([`BatchQueue`], which the session
//! checks use too). A module of its own so that the
//! context ([`crate::domain::context::AppContext::sends`]) can own the
//! queue without depending on the writers, which depend on the context.

use std::sync::{Arc, OnceLock};

use tokio::sync::{Mutex, mpsc, oneshot};

use crate::domain::error::AppResult;
use crate::domain::events::LoggedEvent;
use crate::domain::kinds::MessageType;
use crate::domain::views::MessageView;

/// The most sends one transaction writes.
pub const MAX_BATCH: usize = 64;
/// Sends waiting for a writer before a send waits too.
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

/// A queue whose consumers take what is waiting as one batch
/// ([`next_batch`]): the sends for group commit ([`SendQueue`]), the
/// session checks ([`crate::domain::session_checks`]). Cheap to clone. The
/// consumers start with the first item ([`BatchQueue::start_once`]) on the
/// runtime that pushes it.
pub struct BatchQueue<T> {
    sender: mpsc::Sender<T>,
    receiver: Arc<Mutex<mpsc::Receiver<T>>>,
    started: Arc<OnceLock<()>>,
}

/// The queue of one process's sends.
pub type SendQueue = BatchQueue<Pending>;

impl<T> Clone for BatchQueue<T> {
    fn clone(&self) -> Self {
        BatchQueue {
            sender: self.sender.clone(),
            receiver: self.receiver.clone(),
            started: self.started.clone(),
        }
    }
}

impl<T> std::fmt::Debug for BatchQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchQueue").finish_non_exhaustive()
    }
}

impl Default for SendQueue {
    fn default() -> Self {
        BatchQueue::new(QUEUE)
    }
}

impl<T> BatchQueue<T> {
    /// A queue of at most `capacity` waiting items.
    pub fn new(capacity: usize) -> Self {
        let (sender, receiver) = mpsc::channel(capacity);
        BatchQueue {
            sender,
            receiver: Arc::new(Mutex::new(receiver)),
            started: Arc::new(OnceLock::new()),
        }
    }

    /// Runs `start` once per queue (whichever clone calls first): it is
    /// given the receiving end to hand to the consumers it spawns.
    pub fn start_once(&self, start: impl FnOnce(Arc<Mutex<mpsc::Receiver<T>>>)) {
        self.started.get_or_init(|| start(self.receiver.clone()));
    }

    /// Queues an item; waits while the queue is full. `Err` when no
    /// consumer will ever take it (the queue closed).
    pub async fn push(&self, item: T) -> Result<(), T> {
        self.sender.send(item).await.map_err(|e| e.0)
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
