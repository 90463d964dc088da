//! A socket's queue of the hub's items (ARCHITECTURE §3: bounded, and a
//! full one marks the socket as too slow). It lives on the socket's worker
//! thread, where the hub's items are put on it ([`super::local`]), so it
//! needs no atomics, and an idle socket's queue allocates nothing beyond
//! its shared cell: tokio's bounded channel allocated about 2 KB per socket
//! (its shared state and a first block of 32 slots) before any item came
//! (issue 13, item 4). The queue grows on demand up to its bound. A full
//! queue raises the socket's [`OverflowSignal`] (a flag and a wake-up of
//! the same task, where a `Notify` took a lock to register and drop a
//! waiter at every turn of the socket's loop and every frame it sent).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

use rustc_hash::FxHashMap;

use super::{ConnId, Outbound};

thread_local! {
    /// The inboxes of this worker thread's sockets (FxHash: looked up once
    /// per delivery, keyed by ids the hub hands out).
    static INBOXES: RefCell<FxHashMap<ConnId, Rc<Shared>>> = RefCell::new(FxHashMap::default());
}

/// Above this many slots an emptied queue gives its memory back (a burst
/// grew it; most sockets hold a few items at a time).
const KEEP_SLOTS: usize = 64;

struct Shared {
    /// Shared with the worker's other sockets that get the same item.
    items: RefCell<VecDeque<Rc<Outbound>>>,
    capacity: usize,
    /// An item was refused since the socket last looked.
    overflowed: Cell<bool>,
    /// The socket task, waiting for an item or an overflow.
    waker: Cell<Option<Waker>>,
}

impl Shared {
    fn park(&self, waker: &Waker) {
        let parked = self.waker.take();
        self.waker.set(match parked {
            Some(parked) if parked.will_wake(waker) => Some(parked),
            _ => Some(waker.clone()),
        });
    }

    fn wake(&self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// The socket's end of its queue; dropping it removes the queue (items
/// offered afterwards are discarded: the socket is gone).
pub struct Inbox {
    conn: ConnId,
    shared: Rc<Shared>,
}

/// What became of an offered item.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Offered {
    Queued,
    /// The queue holds `capacity` items: the item was dropped.
    Full,
    /// No socket `conn` on this thread any more.
    Gone,
}

impl Inbox {
    /// Opens socket `conn`'s queue, of at most `capacity` items, on the
    /// current thread (the thread its items must be offered on).
    pub(super) fn open(conn: ConnId, capacity: usize) -> Inbox {
        let shared = Rc::new(Shared {
            items: RefCell::new(VecDeque::new()),
            capacity,
            overflowed: Cell::new(false),
            waker: Cell::new(None),
        });
        INBOXES.with(|inboxes| inboxes.borrow_mut().insert(conn, shared.clone()));
        Inbox { conn, shared }
    }

    /// The next item, waiting for one.
    pub async fn recv(&mut self) -> Rc<Outbound> {
        poll_fn(|cx| match self.try_recv() {
            Some(item) => Poll::Ready(item),
            None => {
                self.shared.park(cx.waker());
                Poll::Pending
            }
        })
        .await
    }

    /// The next item if one is queued.
    pub fn try_recv(&mut self) -> Option<Rc<Outbound>> {
        let mut items = self.shared.items.borrow_mut();
        let item = items.pop_front();
        if items.is_empty() && items.capacity() > KEEP_SLOTS {
            *items = VecDeque::new();
        }
        item
    }

    /// The signal raised when this queue refuses an item.
    pub fn overflow_signal(&self) -> OverflowSignal {
        OverflowSignal(self.shared.clone())
    }
}

/// Raised when a socket's queue is full (it then closes as too slow, or
/// catches up from the log). Used by the socket's own task only.
#[derive(Clone)]
pub struct OverflowSignal(Rc<Shared>);

impl OverflowSignal {
    /// Resolves once the queue has refused an item since the last call
    /// that resolved (at once if it already has).
    pub async fn notified(&self) {
        poll_fn(|cx| {
            if self.0.overflowed.replace(false) {
                Poll::Ready(())
            } else {
                self.0.park(cx.waker());
                Poll::Pending
            }
        })
        .await
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        // `try_with`: at thread exit the map may already be gone.
        let _ = INBOXES.try_with(|inboxes| inboxes.borrow_mut().remove(&self.conn));
    }
}

/// Puts `outbound` on socket `conn`'s queue and wakes its task; a full
/// queue refuses it and raises the socket's [`OverflowSignal`]. Must run
/// on the thread that opened the queue.
pub(super) fn offer(conn: ConnId, outbound: Rc<Outbound>) -> Offered {
    let Some(shared) = INBOXES.with(|inboxes| inboxes.borrow().get(&conn).cloned()) else {
        return Offered::Gone;
    };
    {
        let mut items = shared.items.borrow_mut();
        if items.len() >= shared.capacity {
            drop(items);
            shared.overflowed.set(true);
            shared.wake();
            return Offered::Full;
        }
        items.push_back(outbound);
    }
    shared.wake();
    Offered::Queued
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn item(n: i64) -> Rc<Outbound> {
        Rc::new(Outbound::ChatLeft { chat_id: 1, seq: n })
    }

    fn seq(item: Rc<Outbound>) -> i64 {
        match *item {
            Outbound::ChatLeft { seq, .. } => seq,
            ref other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn items_come_out_in_order_and_a_waiting_socket_is_woken() {
        let mut inbox = Inbox::open(7, 4);
        assert_eq!(offer(7, item(1)), Offered::Queued);
        assert_eq!(offer(7, item(2)), Offered::Queued);
        assert_eq!(seq(inbox.recv().await), 1);
        assert_eq!(seq(inbox.try_recv().unwrap()), 2);
        assert!(inbox.try_recv().is_none());
        let shared = inbox.shared.clone();
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async move {
                let waiting = tokio::task::spawn_local(async move { seq(inbox.recv().await) });
                tokio::task::yield_now().await;
                let waker = shared.waker.take();
                assert!(waker.is_some(), "the socket task is waiting");
                shared.waker.set(waker);
                assert_eq!(offer(7, item(3)), Offered::Queued);
                assert_eq!(waiting.await.unwrap(), 3);
            })
            .await;
    }

    #[tokio::test]
    async fn a_full_queue_refuses_and_raises_the_signal_and_a_closed_one_is_gone() {
        let mut inbox = Inbox::open(8, 2);
        let signal = inbox.overflow_signal();
        assert_eq!(offer(8, item(1)), Offered::Queued);
        assert_eq!(offer(8, item(2)), Offered::Queued);
        assert!(
            !signal.0.overflowed.get(),
            "not raised before an item is refused"
        );
        assert_eq!(offer(8, item(3)), Offered::Full);
        // Raised, resolves once, and is down again after.
        signal.notified().await;
        assert!(!signal.0.overflowed.get());
        assert_eq!(seq(inbox.try_recv().unwrap()), 1);
        assert_eq!(offer(8, item(4)), Offered::Queued);
        assert_eq!(seq(inbox.try_recv().unwrap()), 2);
        assert_eq!(seq(inbox.try_recv().unwrap()), 4);
        drop(inbox);
        assert_eq!(offer(8, item(5)), Offered::Gone);
    }

    #[test]
    fn an_emptied_queue_that_a_burst_grew_gives_its_memory_back() {
        let mut inbox = Inbox::open(9, 1000);
        for n in 0..500 {
            assert_eq!(offer(9, item(n)), Offered::Queued);
        }
        assert!(inbox.shared.items.borrow().capacity() >= 500);
        for n in 0..500 {
            assert_eq!(seq(inbox.try_recv().unwrap()), n);
        }
        assert_eq!(inbox.shared.items.borrow().capacity(), 0);
    }
}
