//! The per-replica hub (ARCHITECTURE §3): which local sockets belong to
//! which user and follow which chat, and the Redis subscriptions that
//! follow from that (`chat:{id}` while a local socket follows the chat,
//! `user:{id}` while the user has a local socket).
//!
//! The bus hands every arriving event to [`Hub::dispatch`] (`routing.rs`),
//! which decodes it once ([`parley_shared::domain::live::LiveEvent`]),
//! routes it on its typed fields and puts the same shared [`Frame`] on each
//! interested socket's bounded queue, through one handoff per worker
//! thread (`local.rs`). A socket whose queue is full is told to close
//! (1013); it recovers by catching up.
//!
//! The maps are sharded (by socket id and by topic), so that sockets of
//! different chats do not contend for one lock. Each topic carries its own
//! subscription state: a SUBSCRIBE and an UNSUBSCRIBE of one topic reach
//! Redis in the order they were decided, while different topics go to
//! Redis concurrently (pipelined on the one connection).

use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::future::join_all;
use parley_shared::AppError;
use parley_shared::infra::bus::{BusReceiver, EventBus, Topic};
use parley_shared::infra::db::DbPool;
use parley_shared::telemetry::metrics::{BUS_OVERFLOWS, BUS_RECEIVED, FRAMES_DROPPED};

use crate::realtime::frame::Frame;

mod inbox;
mod local;
mod rooms;
mod routing;
mod shards;

use inbox::Offered;
pub use inbox::{Inbox, OverflowSignal};
use local::{Handoff, WorkerQueue};
use rooms::{Room, RoomCounts};
pub use rooms::{RoomState, RoomTally};
use shards::{Sharded, lock};

/// A local socket's id within this replica.
pub type ConnId = u64;

/// What the hub puts on a socket's queue.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A durable chat event at `seq`: the socket orders it, drops it if it
    /// already sent it, and fills any gap before it from the log.
    ChatEvent {
        chat_id: i64,
        seq: i64,
        frame: Arc<Frame>,
        /// For an edit: who, among this replica's followers of the chat,
        /// may not see the message's content (they get a stub).
        hidden: Hidden,
    },
    /// The socket's user now belongs to `chat_id` (from `seq` on): follow it.
    ChatJoined {
        chat_id: i64,
        seq: i64,
        frame: Arc<Frame>,
    },
    /// The socket's user left `chat_id` (after `seq`): stop following it.
    ChatLeft { chat_id: i64, seq: i64 },
    /// A typing signal: only for sockets that focused the chat, and not
    /// for the typist's own sockets.
    Typing {
        chat_id: i64,
        user_id: i64,
        frame: Arc<Frame>,
    },
    /// A session of this socket's user was revoked: the socket of that
    /// session sends it and closes.
    SessionRevoked {
        session_id: String,
        frame: Arc<Frame>,
    },
    /// A user-scoped or ephemeral event, sent as it is.
    Direct(Arc<Frame>),
    /// Live events may have been lost (Redis reconnected): catch every chat
    /// up from the log.
    Resync,
}

/// Who may not see an edited message's content, looked up once per event
/// and replica (not once per socket).
#[derive(Debug, Clone)]
pub enum Hidden {
    /// Not an edit: nothing to hide.
    Nobody,
    /// An edit of `message_id`; these users hid it or cleared past it.
    Users {
        message_id: i64,
        users: Arc<HashSet<i64>>,
    },
    /// An edit of `message_id`, but the lookup failed: each socket asks.
    Unknown { message_id: i64 },
}

/// One local socket.
struct Conn {
    id: ConnId,
    user_id: i64,
    /// The worker thread its task runs on ([`local`]), where its
    /// [`Inbox`] is.
    worker: WorkerQueue,
    /// The chats it follows (to leave them when it goes).
    chats: Mutex<HashSet<i64>>,
}

/// The local followers of one topic, and whether Redis has it subscribed
/// (`true` once a SUBSCRIBE was confirmed). The async lock orders the
/// topic's SUBSCRIBE / UNSUBSCRIBE.
struct TopicEntry {
    followers: HashMap<ConnId, Arc<Conn>>,
    subscribed: Arc<tokio::sync::Mutex<bool>>,
    /// For a chat: the last seq this replica handed to its sockets, once
    /// it has handed one.
    position: Option<i64>,
    /// For a chat: its room's lifecycle ([`rooms`]).
    room: Room,
}

/// See the module documentation.
pub struct Hub {
    /// Itself, for the rooms' idle timers.
    this: Weak<Hub>,
    bus: EventBus,
    /// For the per-event lookups of routing (hidden edits).
    db: DbPool,
    conns: Sharded<ConnId, Arc<Conn>>,
    topics: Sharded<Topic, TopicEntry>,
    next_id: AtomicU64,
    /// This replica's id, part of every socket's presence key.
    replica_id: String,
    /// `false` from the loss of the Redis subscription connection until it
    /// is back: new realtime connections are refused (503) meanwhile.
    bus_up: AtomicBool,
    /// Rooms by state.
    rooms: RoomCounts,
    /// `ROOM_IDLE_TIMEOUT_MS`.
    room_idle_timeout: Duration,
}

impl Hub {
    /// A hub over `bus`, whose idle rooms close after `room_idle_timeout`.
    /// Feed it with [`Hub::dispatch`].
    pub fn new(bus: EventBus, db: DbPool, room_idle_timeout: Duration) -> Arc<Hub> {
        Arc::new_cyclic(|this| Hub {
            this: this.clone(),
            bus,
            db,
            conns: Sharded::new(),
            topics: Sharded::new(),
            next_id: AtomicU64::new(1),
            replica_id: uuid::Uuid::new_v4().simple().to_string(),
            bus_up: AtomicBool::new(true),
            rooms: RoomCounts::default(),
            room_idle_timeout,
        })
    }

    /// Refuses a new realtime connection while the bus is down: it could
    /// not follow any chat (issue 6, item 11).
    ///
    /// Errors: 503 `service_unavailable`.
    pub fn check_bus(&self) -> Result<(), AppError> {
        if self.bus_up.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err(AppError::Unavailable {
                detail: "Realtime is unavailable while Redis is away; retry shortly.".into(),
            })
        }
    }

    /// Adds a socket of `user_id` with a queue of at most `capacity`
    /// items; returns its id and queue once this replica is subscribed to
    /// the user's topic.
    /// Called on the socket's worker thread (its items are handed there).
    ///
    /// Errors: Redis refused the subscription (the socket is not added).
    pub async fn register(
        &self,
        user_id: i64,
        capacity: usize,
    ) -> redis::RedisResult<(ConnId, Inbox)> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let inbox = Inbox::open(id, capacity);
        let conn = Arc::new(Conn {
            id,
            user_id,
            worker: WorkerQueue::current(),
            chats: Mutex::new(HashSet::new()),
        });
        self.conns.lock(&id).insert(id, conn.clone());
        let subscribed = self.follow(Topic::User(user_id), &conn);
        if let Err(err) = self.reconcile(Topic::User(user_id), subscribed).await {
            self.unregister(id).await;
            return Err(err);
        }
        Ok((id, inbox))
    }

    /// Makes socket `conn` follow `chat_ids`; returns once this replica is
    /// subscribed to each of them.
    ///
    /// Errors: Redis refused a subscription.
    pub async fn join_chats(&self, conn: ConnId, chat_ids: &[i64]) -> redis::RedisResult<()> {
        let Some(conn) = self.conns.lock(&conn).get(&conn).cloned() else {
            return Ok(());
        };
        lock(&conn.chats).extend(chat_ids.iter().copied());
        let changes: Vec<_> = chat_ids
            .iter()
            .map(|chat_id| {
                let topic = Topic::Chat(*chat_id);
                (topic, self.follow(topic, &conn))
            })
            .collect();
        join_all(changes.into_iter().map(|(t, s)| self.reconcile(t, s)))
            .await
            .into_iter()
            .collect()
    }

    /// Removes socket `conn` and drops the subscriptions nobody here needs.
    pub async fn unregister(&self, conn: ConnId) {
        let Some(conn) = self.conns.lock(&conn).remove(&conn) else {
            return;
        };
        let chats: Vec<i64> = lock(&conn.chats).drain().collect();
        let topics = chats
            .into_iter()
            .map(Topic::Chat)
            .chain([Topic::User(conn.user_id)]);
        let changes: Vec<_> = topics
            .filter_map(|topic| self.unfollow(topic, conn.id).map(|s| (topic, s)))
            .collect();
        for result in join_all(changes.into_iter().map(|(t, s)| self.reconcile(t, s))).await {
            if let Err(err) = result {
                tracing::warn!(error = %err, "unsubscribe failed");
            }
        }
    }

    /// Makes socket `conn` stop following `chat_id`, and drops the
    /// subscription when no local socket follows it any more.
    pub async fn leave_chat(&self, conn: ConnId, chat_id: i64) {
        if let Some(entry) = self.conns.lock(&conn).get(&conn) {
            lock(&entry.chats).remove(&chat_id);
        }
        let topic = Topic::Chat(chat_id);
        if let Some(subscribed) = self.unfollow(topic, conn)
            && let Err(err) = self.reconcile(topic, subscribed).await
        {
            tracing::warn!(chat.id = chat_id, error = %err, "unsubscribe failed");
        }
    }

    /// Adds `conn` to the topic's followers; returns the topic's
    /// subscription state, to [`Hub::reconcile`].
    fn follow(&self, topic: Topic, conn: &Arc<Conn>) -> Arc<tokio::sync::Mutex<bool>> {
        let mut shard = self.topics.lock(&topic);
        let entry = shard.entry(topic).or_insert_with(|| TopicEntry {
            followers: HashMap::new(),
            subscribed: Arc::new(tokio::sync::Mutex::new(false)),
            position: None,
            room: match topic {
                Topic::Chat(chat_id) => self.room_created(chat_id),
                _ => Room::new(),
            },
        });
        if let Topic::Chat(chat_id) = topic {
            match entry.room.state {
                RoomState::Idle => self.transition(chat_id, &mut entry.room, RoomState::Active),
                // Reopened: it becomes active once subscribed again.
                RoomState::Closing => {
                    self.transition(chat_id, &mut entry.room, RoomState::Creating)
                }
                RoomState::Creating | RoomState::Active => {}
            }
        }
        entry.followers.insert(conn.id, conn.clone());
        entry.subscribed.clone()
    }

    /// Removes `conn` from the topic's followers; the topic's subscription
    /// state when nobody here follows it any more. A chat's room idles
    /// instead (its subscription is kept until it closes).
    fn unfollow(&self, topic: Topic, conn: ConnId) -> Option<Arc<tokio::sync::Mutex<bool>>> {
        let mut shard = self.topics.lock(&topic);
        let entry = shard.get_mut(&topic)?;
        if entry.followers.remove(&conn).is_none() || !entry.followers.is_empty() {
            return None;
        }
        match topic {
            Topic::Chat(chat_id) => {
                self.room_idle(chat_id, &mut entry.room);
                None
            }
            _ => Some(entry.subscribed.clone()),
        }
    }

    /// Brings Redis in line with the topic's followers as they are now
    /// (subscribed while anyone here follows it), under the topic's own
    /// lock; forgets the topic once it is unfollowed and unsubscribed.
    /// Changes decided in any order converge on the last state.
    async fn reconcile(
        &self,
        topic: Topic,
        state: Arc<tokio::sync::Mutex<bool>>,
    ) -> redis::RedisResult<()> {
        let mut subscribed = state.lock().await;
        let current = |entry: &TopicEntry| Arc::ptr_eq(&entry.subscribed, &state);
        // Followed here, or an idle room waiting for its timer.
        let needed =
            |entry: &TopicEntry| !entry.followers.is_empty() || entry.room.state == RoomState::Idle;
        let wanted = self
            .topics
            .lock(&topic)
            .get(&topic)
            .is_some_and(|entry| current(entry) && needed(entry));
        if wanted && !*subscribed {
            self.bus.subscribe(&[topic]).await?;
            *subscribed = true;
        } else if !wanted && *subscribed {
            self.bus.unsubscribe(&[topic]).await?;
            *subscribed = false;
        }
        let mut shard = self.topics.lock(&topic);
        let Some(entry) = shard.get_mut(&topic).filter(|entry| current(entry)) else {
            return Ok(());
        };
        if *subscribed {
            if let Topic::Chat(chat_id) = topic
                && entry.room.state == RoomState::Creating
            {
                self.transition(chat_id, &mut entry.room, RoomState::Active);
            }
        } else if needed(entry) {
            // Events were missed while unsubscribed.
            entry.position = None;
        } else {
            if let Topic::Chat(chat_id) = topic {
                self.room_closed(chat_id, &entry.room);
            }
            shard.remove(&topic);
        }
        Ok(())
    }

    /// The presence key of socket `conn`: `{replica}:{conn}`.
    pub fn presence_key(&self, conn: ConnId) -> String {
        format!("{}:{conn}", self.replica_id)
    }

    /// Every local socket as `(user_id, presence key)`.
    pub fn presence_entries(&self) -> Vec<(i64, String)> {
        let mut entries = Vec::new();
        self.conns.each(|shard| {
            entries.extend(
                shard
                    .values()
                    .map(|conn| (conn.user_id, self.presence_key(conn.id))),
            );
        });
        entries
    }

    /// The number of sockets connected to this replica.
    pub fn socket_count(&self) -> usize {
        let mut count = 0;
        self.conns.each(|shard| count += shard.len());
        count
    }

    /// The local sockets following `topic`.
    fn followers(&self, topic: Topic) -> Vec<Arc<Conn>> {
        self.topics
            .lock(&topic)
            .get(&topic)
            .map(|entry| entry.followers.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Pings Redis until the subscriber connection is back (it resubscribes
    /// by itself), then tells every socket to catch up.
    async fn recover_subscriptions(&self) {
        let mut delay = Duration::from_millis(100);
        while let Err(err) = self.bus.ping_subscriber().await {
            tracing::debug!(error = %err, "redis still down");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
        tracing::info!("redis subscription restored; sockets catch up from the log");
        self.bus_up.store(true, Ordering::Relaxed);
        self.resync_all();
    }

    /// Tells every local socket to catch each of its chats up from the log
    /// (live events may have been lost).
    pub fn resync_all(&self) {
        self.conns.each(|shard| {
            hand_all(shard.values(), &Outbound::Resync);
        });
    }

    /// Offers `outbound` to every local socket following `topic`.
    fn broadcast(&self, topic: Topic, outbound: Outbound) {
        if let Some(entry) = self.topics.lock(&topic).get(&topic) {
            hand_all(entry.followers.values(), &outbound);
        }
    }
}

/// Hands `outbound` to socket `conn`, on its worker thread ([`local`]).
fn hand(conn: &Arc<Conn>, outbound: Outbound) {
    conn.worker.hand(Handoff::One(conn.id, outbound));
}

/// Hands `outbound` to each of `conns`: one handoff per worker thread.
fn hand_all<'a>(conns: impl Iterator<Item = &'a Arc<Conn>>, outbound: &Outbound) {
    // Workers are few (one per core): a short list beats a map.
    let mut by_worker: Vec<(WorkerQueue, Vec<ConnId>)> = Vec::new();
    for conn in conns {
        match by_worker.iter_mut().find(|(w, _)| w.same(&conn.worker)) {
            Some((_, group)) => group.push(conn.id),
            None => by_worker.push((conn.worker.clone(), vec![conn.id])),
        }
    }
    for (worker, group) in by_worker {
        worker.hand(Handoff::Many(group, outbound.clone()));
    }
}

/// Queues without waiting; a full queue marks the socket as too slow.
/// Runs on the socket's worker thread ([`local`]).
fn offer(conn: ConnId, outbound: Rc<Outbound>) {
    if inbox::offer(conn, outbound) == Offered::Full {
        metrics::counter!(FRAMES_DROPPED).increment(1);
    }
}

/// Starts the task that feeds the hub from the bus, in arrival order.
pub fn spawn_dispatcher(hub: Arc<Hub>, rx: BusReceiver) {
    let BusReceiver {
        mut messages,
        overflow,
    } = rx;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                message = messages.recv() => match message {
                    Some(message) => {
                        metrics::counter!(BUS_RECEIVED).increment(1);
                        hub.dispatch(message).await;
                    }
                    None => return,
                },
                () = overflow.notified() => {
                    metrics::counter!(BUS_OVERFLOWS).increment(1);
                    tracing::warn!(dropped = overflow.dropped(), "bus queue overflowed; sockets catch up from the log");
                    hub.resync_all();
                }
            }
        }
    });
}

/// Starts the replica's presence loop: every third of the TTL it renews its
/// sockets and sweeps for users whose replica died, announcing changes.
pub fn spawn_presence_loop(hub: Arc<Hub>, ctx: parley_shared::AppContext) {
    tokio::spawn(async move {
        let period = ctx.presence.ttl() / 3;
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match ctx.presence.renew(&hub.presence_entries()).await {
                Ok(back) => {
                    for user_id in back {
                        parley_shared::domain::presence::announce(&ctx, user_id, true).await;
                    }
                }
                Err(err) => tracing::warn!(error = %err, "presence renewal failed"),
            }
            match ctx.presence.sweep().await {
                Ok(gone) => {
                    for user_id in gone {
                        tracing::info!(user.id = user_id, "presence expired");
                        parley_shared::domain::presence::announce(&ctx, user_id, false).await;
                    }
                }
                Err(err) => tracing::warn!(error = %err, "presence sweep failed"),
            }
        }
    });
}
