//! The per-replica hub (ARCHITECTURE §3): which local sockets belong to
//! which user and follow which chat, and the Redis subscriptions that
//! follow from that (`chat:{id}` while a local socket follows the chat,
//! `user:{id}` while the user has a local socket).
//!
//! The bus hands every arriving event to [`Hub::dispatch`], which decodes
//! it once ([`LiveEvent`]), routes it on its typed fields and puts the same
//! shared [`Frame`] on each interested socket's bounded queue. A socket
//! whose queue is full is told to close (1013); it recovers by catching up.
//!
//! The maps are sharded (by socket id and by topic), so that sockets of
//! different chats do not contend for one lock. Each topic carries its own
//! subscription state: a SUBSCRIBE and an UNSUBSCRIBE of one topic reach
//! Redis in the order they were decided, while different topics go to
//! Redis concurrently (pipelined on the one connection).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::future::join_all;
use parley_shared::AppError;
use parley_shared::domain::catchup;
use parley_shared::domain::events::{DomainEvent, LoggedEvent};
use parley_shared::domain::live::LiveEvent;
use parley_shared::domain::models::Message;
use parley_shared::infra::bus::{BusMessage, BusReceiver, EventBus, Topic};
use parley_shared::infra::db::DbPool;
use tokio::sync::{Notify, mpsc};

use crate::realtime::frame::Frame;

/// A local socket's id within this replica.
pub type ConnId = u64;

/// How many locks each map is split into.
const SHARDS: usize = 32;

/// The largest gap in a chat's live events a replica fills from the log
/// for all its sockets; a wider one (after an outage) is left to each
/// socket's own catch-up.
const HUB_FILL_MAX: i64 = 200;

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
    tx: mpsc::Sender<Outbound>,
    overflow: Arc<Notify>,
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
}

/// A map split into [`SHARDS`] locks by key.
struct Sharded<K, V> {
    shards: Vec<Mutex<HashMap<K, V>>>,
}

/// Where a key's shard is.
trait ShardKey {
    fn shard(&self) -> usize;
}

impl ShardKey for ConnId {
    fn shard(&self) -> usize {
        (*self % SHARDS as u64) as usize
    }
}

impl ShardKey for Topic {
    fn shard(&self) -> usize {
        let (id, kind) = match self {
            Topic::Chat(id) => (*id, 0),
            Topic::User(id) => (*id, 1),
        };
        ((id.unsigned_abs() * 2 + kind) % SHARDS as u64) as usize
    }
}

impl<K: ShardKey, V> Sharded<K, V> {
    fn new() -> Self {
        Sharded {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn lock(&self, key: &K) -> MutexGuard<'_, HashMap<K, V>> {
        lock(&self.shards[key.shard()])
    }

    /// Every shard, one at a time.
    fn each(&self, mut f: impl FnMut(&HashMap<K, V>)) {
        for shard in &self.shards {
            f(&lock(shard));
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain maps behind; keep going.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// See the module documentation.
pub struct Hub {
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
}

impl Hub {
    /// A hub over `bus`. Feed it with [`Hub::dispatch`].
    pub fn new(bus: EventBus, db: DbPool) -> Arc<Hub> {
        Arc::new(Hub {
            bus,
            db,
            conns: Sharded::new(),
            topics: Sharded::new(),
            next_id: AtomicU64::new(1),
            replica_id: uuid::Uuid::new_v4().simple().to_string(),
            bus_up: AtomicBool::new(true),
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

    /// Adds a socket of `user_id`; returns once this replica is subscribed
    /// to the user's topic. `overflow` is notified when its queue is full.
    ///
    /// Errors: Redis refused the subscription (the socket is not added).
    pub async fn register(
        &self,
        user_id: i64,
        tx: mpsc::Sender<Outbound>,
        overflow: Arc<Notify>,
    ) -> redis::RedisResult<ConnId> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            id,
            user_id,
            tx,
            overflow,
            chats: Mutex::new(HashSet::new()),
        });
        self.conns.lock(&id).insert(id, conn.clone());
        let subscribed = self.follow(Topic::User(user_id), &conn);
        if let Err(err) = self.reconcile(Topic::User(user_id), subscribed).await {
            self.unregister(id).await;
            return Err(err);
        }
        Ok(id)
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
        });
        entry.followers.insert(conn.id, conn.clone());
        entry.subscribed.clone()
    }

    /// Removes `conn` from the topic's followers; the topic's subscription
    /// state when nobody here follows it any more.
    fn unfollow(&self, topic: Topic, conn: ConnId) -> Option<Arc<tokio::sync::Mutex<bool>>> {
        let mut shard = self.topics.lock(&topic);
        let entry = shard.get_mut(&topic)?;
        entry.followers.remove(&conn);
        entry.followers.is_empty().then(|| entry.subscribed.clone())
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
        let wanted = self
            .topics
            .lock(&topic)
            .get(&topic)
            .is_some_and(|entry| current(entry) && !entry.followers.is_empty());
        if wanted && !*subscribed {
            self.bus.subscribe(&[topic]).await?;
            *subscribed = true;
        } else if !wanted && *subscribed {
            self.bus.unsubscribe(&[topic]).await?;
            *subscribed = false;
        }
        if !*subscribed {
            let mut shard = self.topics.lock(&topic);
            if shard
                .get(&topic)
                .is_some_and(|entry| current(entry) && entry.followers.is_empty())
            {
                shard.remove(&topic);
            }
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

    /// Routes one message from the bus. Called in arrival order by one task.
    pub async fn dispatch(self: &Arc<Self>, message: BusMessage) {
        match message {
            BusMessage::Event { topic, payload } => match LiveEvent::decode(&payload) {
                Ok(event) => self.route(topic, Frame::new(event)).await,
                Err(err) => tracing::warn!(?topic, error = %err, "dropping a foreign event"),
            },
            BusMessage::Reconnected => {
                tracing::warn!("lost the Redis subscription connection; reconnecting");
                self.bus_up.store(false, Ordering::Relaxed);
                let hub = Arc::clone(self);
                tokio::spawn(async move { hub.recover_subscriptions().await });
            }
        }
    }

    /// Routes one decoded event on its typed fields.
    async fn route(&self, topic: Topic, frame: Arc<Frame>) {
        match (topic, &frame.event) {
            (Topic::User(user_id), LiveEvent::Chat(logged))
                if matches!(
                    logged.event,
                    DomainEvent::ChatCreated { .. } | DomainEvent::MemberJoined { .. }
                ) =>
            {
                let (chat_id, seq) = (logged.chat_id, logged.seq);
                self.user_joined_chat(user_id, chat_id, seq, &frame).await;
            }
            (Topic::Chat(chat_id), LiveEvent::Chat(logged)) => {
                self.chat_event_in_order(chat_id, logged.seq, frame.clone())
                    .await;
            }
            (Topic::Chat(chat_id), LiveEvent::Typing { user_id, .. }) => {
                let user_id = *user_id;
                self.broadcast(
                    topic,
                    Outbound::Typing {
                        chat_id,
                        user_id,
                        frame,
                    },
                );
            }
            (Topic::User(_), LiveEvent::SessionRevoked { session_id, .. }) => {
                let session_id = session_id.clone();
                self.broadcast(topic, Outbound::SessionRevoked { session_id, frame });
            }
            _ => self.broadcast(topic, Outbound::Direct(frame)),
        }
    }

    /// Hands a chat's logged event to the local followers in seq order,
    /// once: an event already handed (it was read to fill a gap) is
    /// dropped, and a gap before it is filled from the log once for all
    /// sockets (events published by two replicas often arrive out of
    /// order). Sockets still order what they get themselves
    /// ([`super::ordering`]), so a gap left here costs a per-socket fill,
    /// never a lost event.
    async fn chat_event_in_order(&self, chat_id: i64, seq: i64, frame: Arc<Frame>) {
        let topic = Topic::Chat(chat_id);
        let position = self
            .topics
            .lock(&topic)
            .get(&topic)
            .and_then(|entry| entry.position);
        match in_order(position, seq) {
            InOrder::Drop => return,
            InOrder::FillThenHand { after, up_to } => {
                for missing in self.read_gap(chat_id, after, up_to).await {
                    let missing_seq = missing.seq;
                    let missing = Frame::new(LiveEvent::Chat(missing));
                    self.hand_chat_event(chat_id, missing_seq, missing).await;
                }
            }
            InOrder::Hand => {}
        }
        self.hand_chat_event(chat_id, seq, frame).await;
    }

    /// The events between a replica's position and a later live event, or
    /// none when the log cannot give them whole.
    async fn read_gap(&self, chat_id: i64, after_seq: i64, up_to_seq: i64) -> Vec<LoggedEvent> {
        let read = async {
            let mut conn = self.db.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok::<_, anyhow::Error>(
                catchup::logged_range(&mut conn, chat_id, after_seq, up_to_seq).await?,
            )
        };
        match read.await {
            Ok(Some(events)) => events,
            Ok(None) => Vec::new(),
            Err(err) => {
                tracing::warn!(chat.id = chat_id, error = %err, "gap fill failed; sockets fill their own");
                Vec::new()
            }
        }
    }

    /// Offers one logged event to the chat's local followers and moves the
    /// replica's position.
    async fn hand_chat_event(&self, chat_id: i64, seq: i64, frame: Arc<Frame>) {
        let topic = Topic::Chat(chat_id);
        let LiveEvent::Chat(logged) = &frame.event else {
            return;
        };
        let hidden = match &logged.event {
            DomainEvent::MessageUpdated { message } => {
                self.hidden_among_followers(chat_id, message.id).await
            }
            _ => Hidden::Nobody,
        };
        let left = match &logged.event {
            DomainEvent::MemberLeft { user_id, .. } => Some(*user_id),
            _ => None,
        };
        if let Some(entry) = self.topics.lock(&topic).get_mut(&topic) {
            entry.position = Some(entry.position.map_or(seq, |p| p.max(seq)));
            let outbound = Outbound::ChatEvent {
                chat_id,
                seq,
                frame: frame.clone(),
                hidden,
            };
            for conn in entry.followers.values() {
                offer(conn, outbound.clone());
            }
        }
        if let Some(user_id) = left {
            self.user_left_chat(user_id, chat_id, seq).await;
        }
    }

    /// Who among this replica's followers of `chat_id` may not see the
    /// content of `message_id`: one query for all of them.
    async fn hidden_among_followers(&self, chat_id: i64, message_id: i64) -> Hidden {
        let mut followers: Vec<i64> = self
            .followers(Topic::Chat(chat_id))
            .iter()
            .map(|conn| conn.user_id)
            .collect();
        followers.sort_unstable();
        followers.dedup();
        if followers.is_empty() {
            return Hidden::Nobody;
        }
        let lookup = async {
            let mut conn = self.db.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok::<_, anyhow::Error>(Message::hidden_among(&mut conn, message_id, &followers).await?)
        };
        match lookup.await {
            Ok(users) => Hidden::Users {
                message_id,
                users: Arc::new(users.into_iter().collect()),
            },
            Err(err) => {
                tracing::warn!(message.id = message_id, error = %err, "hidden lookup failed; sockets ask");
                Hidden::Unknown { message_id }
            }
        }
    }

    /// The local sockets following `topic`.
    fn followers(&self, topic: Topic) -> Vec<Arc<Conn>> {
        self.topics
            .lock(&topic)
            .get(&topic)
            .map(|entry| entry.followers.values().cloned().collect())
            .unwrap_or_default()
    }

    async fn user_joined_chat(&self, user_id: i64, chat_id: i64, seq: i64, frame: &Arc<Frame>) {
        for conn in self.followers(Topic::User(user_id)) {
            if let Err(err) = self.join_chats(conn.id, &[chat_id]).await {
                tracing::warn!(chat.id = chat_id, error = %err, "subscribe failed");
            }
            offer(
                &conn,
                Outbound::ChatJoined {
                    chat_id,
                    seq,
                    frame: frame.clone(),
                },
            );
        }
    }

    async fn user_left_chat(&self, user_id: i64, chat_id: i64, seq: i64) {
        for conn in self.followers(Topic::User(user_id)) {
            offer(&conn, Outbound::ChatLeft { chat_id, seq });
            self.leave_chat(conn.id, chat_id).await;
        }
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
            for conn in shard.values() {
                offer(conn, Outbound::Resync);
            }
        });
    }

    /// Offers `outbound` to every local socket following `topic`.
    fn broadcast(&self, topic: Topic, outbound: Outbound) {
        if let Some(entry) = self.topics.lock(&topic).get(&topic) {
            for conn in entry.followers.values() {
                offer(conn, outbound.clone());
            }
        }
    }
}

/// What a replica does with a chat's live event at `seq`, given the last
/// seq it handed to its sockets.
#[derive(Debug, PartialEq, Eq)]
enum InOrder {
    /// Already handed (read from the log to fill a gap).
    Drop,
    /// Read `after < seq <= up_to` from the log and hand it first.
    FillThenHand { after: i64, up_to: i64 },
    /// Hand it: the next one, the first one, or past a gap too wide to
    /// fill here (sockets fill their own).
    Hand,
}

fn in_order(position: Option<i64>, seq: i64) -> InOrder {
    match position {
        Some(position) if seq <= position => InOrder::Drop,
        Some(position) if seq > position + 1 && seq - position - 1 <= HUB_FILL_MAX => {
            InOrder::FillThenHand {
                after: position,
                up_to: seq - 1,
            }
        }
        _ => InOrder::Hand,
    }
}

/// Queues without waiting; a full queue marks the socket as too slow.
fn offer(conn: &Conn, outbound: Outbound) {
    if let Err(mpsc::error::TrySendError::Full(_)) = conn.tx.try_send(outbound) {
        conn.overflow.notify_one();
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
                    Some(message) => hub.dispatch(message).await,
                    None => return,
                },
                () = overflow.notified() => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_chat_events_are_handed_once_in_order_with_gaps_filled() {
        assert_eq!(in_order(None, 7), InOrder::Hand);
        assert_eq!(in_order(Some(6), 7), InOrder::Hand);
        assert_eq!(in_order(Some(7), 7), InOrder::Drop);
        assert_eq!(in_order(Some(9), 7), InOrder::Drop);
        assert_eq!(
            in_order(Some(4), 7),
            InOrder::FillThenHand { after: 4, up_to: 6 }
        );
        // A gap of HUB_FILL_MAX + 1 events.
        let wide = 7 + HUB_FILL_MAX + 2;
        assert_eq!(in_order(Some(7), wide), InOrder::Hand);
        assert_eq!(
            in_order(Some(7), wide - 1),
            InOrder::FillThenHand {
                after: 7,
                up_to: wide - 2
            }
        );
    }

    #[test]
    fn topics_spread_over_the_shards() {
        let chat = Topic::Chat(5).shard();
        let user = Topic::User(5).shard();
        assert_ne!(chat, user);
        assert!(chat < SHARDS && user < SHARDS);
        assert!(Topic::Chat(-3).shard() < SHARDS);
    }
}
