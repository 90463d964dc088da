//! The queue between the send path and the group-commit writers
//! ([`crate::domain::group_commit`], issue 13, item 2): what a queued send
//! holds and how a writer takes a batch. A module of its own so that the
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

/// The queue of one process; cheap to clone. The writers start with the
/// first send ([`SendQueue::start_once`]) on the runtime that makes it.
#[derive(Clone)]
pub struct SendQueue {
    sender: mpsc::Sender<Pending>,
    receiver: Arc<Mutex<mpsc::Receiver<Pending>>>,
    started: Arc<OnceLock<()>>,
}

impl std::fmt::Debug for SendQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendQueue").finish_non_exhaustive()
    }
}

impl Default for SendQueue {
    fn default() -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        SendQueue {
            sender,
            receiver: Arc::new(Mutex::new(receiver)),
            started: Arc::new(OnceLock::new()),
        }
    }
}

impl SendQueue {
    /// Runs `start` once per queue (whichever clone calls first): it is
    /// given the receiving end to hand to the writers it spawns.
    pub fn start_once(&self, start: impl FnOnce(Arc<Mutex<mpsc::Receiver<Pending>>>)) {
        self.started.get_or_init(|| start(self.receiver.clone()));
    }

    /// Queues a send; waits while 4,096 sends are already waiting.
    /// `Err` when no writer will ever take it (the queue closed).
    pub async fn push(&self, pending: Pending) -> Result<(), Pending> {
        self.sender.send(pending).await.map_err(|e| e.0)
    }
}

/// What is queued, at most [`MAX_BATCH`], once there is something;
/// `None` when the queue closed. Writers take turns: one waits, the others
/// write what they took.
pub async fn next_batch(receiver: &Mutex<mpsc::Receiver<Pending>>) -> Option<Vec<Pending>> {
    let mut receiver = receiver.lock().await;
    let first = receiver.recv().await?;
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match receiver.try_recv() {
            Ok(next) => batch.push(next),
            Err(_) => break,
        }
    }
    Some(batch)
}
