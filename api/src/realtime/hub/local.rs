//! The last step of the fan-out, run on the sockets' own worker threads
//! (issue 13, item 3). The hub routes on the bus's thread; a socket task
//! lives on the actix worker thread that accepted its connection. Waking
//! 500 socket tasks of another thread one by one costs a cross-thread
//! wake-up each (a lock and, when that worker is parked, an `eventfd`
//! write and an `epoll` return); handing the worker one item per event,
//! which puts it on each socket's queue there, costs one.
//!
//! Every item for a socket goes through its worker's queue, so a socket
//! gets them in the order the hub decided them.

use std::cell::OnceCell;
use std::rc::Rc;

use tokio::sync::mpsc;

use super::{ConnId, Outbound, offer};

/// What the hub hands a worker: items for some of its sockets, named by
/// id (an `Arc<Conn>` per socket would be a reference count shared by the
/// hub's thread and the worker's, touched twice per delivery).
pub(super) enum Handoff {
    /// One item for one socket.
    One(ConnId, Outbound),
    /// The same item for each of these sockets.
    Many(Vec<ConnId>, Outbound),
}

/// One worker thread's queue. Unbounded: it holds only what that thread
/// has not run yet (each item is put on the sockets' bounded queues as soon
/// as it runs, and those still close a client that stopped reading).
#[derive(Clone)]
pub(super) struct WorkerQueue(mpsc::UnboundedSender<Handoff>);

thread_local! {
    static QUEUE: OnceCell<WorkerQueue> = const { OnceCell::new() };
}

impl WorkerQueue {
    /// The queue of the current worker thread, started on first use. Must
    /// run inside the worker's `LocalSet` (a socket task does).
    pub(super) fn current() -> WorkerQueue {
        QUEUE.with(|queue| {
            queue
                .get_or_init(|| {
                    let (tx, rx) = mpsc::unbounded_channel();
                    tokio::task::spawn_local(run(rx));
                    WorkerQueue(tx)
                })
                .clone()
        })
    }

    /// Whether `other` is the same worker's queue.
    pub(super) fn same(&self, other: &WorkerQueue) -> bool {
        self.0.same_channel(&other.0)
    }

    /// Hands `handoff` to the worker. A worker that is gone has no sockets.
    pub(super) fn hand(&self, handoff: Handoff) {
        let _ = self.0.send(handoff);
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<Handoff>) {
    while let Some(handoff) = rx.recv().await {
        match handoff {
            Handoff::One(conn, outbound) => offer(conn, Rc::new(outbound)),
            Handoff::Many(conns, outbound) => {
                // The worker's sockets share the item: a count of this
                // thread's own per socket, not the frame's atomic one.
                let outbound = Rc::new(outbound);
                for conn in conns {
                    offer(conn, outbound.clone());
                }
            }
        }
    }
}
