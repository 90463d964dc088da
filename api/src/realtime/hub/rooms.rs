//! The room lifecycle (seed 003 §4–§5): each chat followed on this replica
//! is a room, `creating → active → idle → closing → closed`.
//!
//! - **creating**: the first local socket follows the chat; the replica
//!   subscribes to `chat:{id}`.
//! - **active**: the subscription is live and local sockets follow it.
//! - **idle**: the last local socket left. The subscription and the
//!   replica's position in the chat are kept for `ROOM_IDLE_TIMEOUT_MS`, so
//!   that a user who comes back (a reconnect, a page reload) finds the room
//!   warm: no SUBSCRIBE round trip, no gap to fill.
//! - **closing**: the timer expired; the replica unsubscribes. A socket that
//!   follows the chat meanwhile waits for the topic's lock and reopens it.
//! - **closed**: unsubscribed and forgotten.
//!
//! Every transition is logged (`INFO` for created / closed, `DEBUG` for the
//! others, with `chat.id`) and counted in [`RoomCounts`].

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use parley_shared::infra::bus::Topic;

use super::Hub;

/// A room's state; `closed` is the absence of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomState {
    Creating,
    Active,
    Idle,
    Closing,
}

impl RoomState {
    fn name(self) -> &'static str {
        match self {
            RoomState::Creating => "creating",
            RoomState::Active => "active",
            RoomState::Idle => "idle",
            RoomState::Closing => "closing",
        }
    }
}

/// The lifecycle part of a chat topic's entry.
#[derive(Debug)]
pub(super) struct Room {
    pub(super) state: RoomState,
    /// Bumped when the room goes idle: a timer closes the room only if it
    /// is still idle from the same moment.
    pub(super) idle_generation: u64,
}

impl Room {
    pub(super) fn new() -> Room {
        Room {
            state: RoomState::Creating,
            idle_generation: 0,
        }
    }
}

/// How many rooms of this replica are in each state (for logs, metrics
/// and tests).
#[derive(Debug, Default)]
pub struct RoomCounts {
    creating: AtomicI64,
    active: AtomicI64,
    idle: AtomicI64,
    closing: AtomicI64,
    /// Rooms closed since the replica started.
    closed: AtomicI64,
}

/// A snapshot of the room counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoomTally {
    pub creating: i64,
    pub active: i64,
    pub idle: i64,
    pub closing: i64,
    pub closed: i64,
}

impl RoomCounts {
    fn gauge(&self, state: RoomState) -> &AtomicI64 {
        match state {
            RoomState::Creating => &self.creating,
            RoomState::Active => &self.active,
            RoomState::Idle => &self.idle,
            RoomState::Closing => &self.closing,
        }
    }

    /// The counts now.
    pub fn tally(&self) -> RoomTally {
        RoomTally {
            creating: self.creating.load(Ordering::Relaxed),
            active: self.active.load(Ordering::Relaxed),
            idle: self.idle.load(Ordering::Relaxed),
            closing: self.closing.load(Ordering::Relaxed),
            closed: self.closed.load(Ordering::Relaxed),
        }
    }
}

impl Hub {
    /// Moves chat `chat_id`'s room to `to` (from `room.state`), logging and
    /// counting the transition.
    pub(super) fn transition(&self, chat_id: i64, room: &mut Room, to: RoomState) {
        let from = room.state;
        if from == to {
            return;
        }
        self.rooms.gauge(from).fetch_sub(1, Ordering::Relaxed);
        self.rooms.gauge(to).fetch_add(1, Ordering::Relaxed);
        room.state = to;
        tracing::debug!(
            chat.id = chat_id,
            from = from.name(),
            to = to.name(),
            "room state changed"
        );
    }

    /// A new room for `chat_id` (a first local follower).
    pub(super) fn room_created(&self, chat_id: i64) -> Room {
        self.rooms.creating.fetch_add(1, Ordering::Relaxed);
        tracing::info!(chat.id = chat_id, "Room created.");
        Room::new()
    }

    /// The room of `chat_id` was removed (unsubscribed, forgotten).
    pub(super) fn room_closed(&self, chat_id: i64, room: &Room) {
        self.rooms.gauge(room.state).fetch_sub(1, Ordering::Relaxed);
        self.rooms.closed.fetch_add(1, Ordering::Relaxed);
        tracing::info!(chat.id = chat_id, "Room closed.");
    }

    /// The last local follower of `chat_id` left: the room idles, and
    /// closes after `ROOM_IDLE_TIMEOUT_MS` unless someone comes back.
    pub(super) fn room_idle(&self, chat_id: i64, room: &mut Room) {
        self.transition(chat_id, room, RoomState::Idle);
        room.idle_generation += 1;
        let generation = room.idle_generation;
        let (hub, after) = (self.this.clone(), self.room_idle_timeout);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            if let Some(hub) = hub.upgrade() {
                hub.close_room(chat_id, generation).await;
            }
        });
    }

    /// The idle timer of `chat_id` fired: closes the room if it is still
    /// idle since the same moment.
    async fn close_room(self: Arc<Self>, chat_id: i64, generation: u64) {
        let topic = Topic::Chat(chat_id);
        let subscribed = {
            let mut shard = self.topics.lock(&topic);
            let Some(entry) = shard.get_mut(&topic) else {
                return;
            };
            if entry.room.state != RoomState::Idle || entry.room.idle_generation != generation {
                return;
            }
            tracing::info!(chat.id = chat_id, "Room idle timeout; closing.");
            self.transition(chat_id, &mut entry.room, RoomState::Closing);
            entry.subscribed.clone()
        };
        if let Err(err) = self.reconcile(topic, subscribed).await {
            tracing::warn!(chat.id = chat_id, error = %err, "closing a room: unsubscribe failed");
        }
    }

    /// This replica's rooms by state.
    pub fn room_tally(&self) -> RoomTally {
        self.rooms.tally()
    }

    /// The state of `chat_id`'s room here; `None` when closed.
    pub fn room_state(&self, chat_id: i64) -> Option<RoomState> {
        let topic = Topic::Chat(chat_id);
        self.topics
            .lock(&topic)
            .get(&topic)
            .map(|entry| entry.room.state)
    }
}
