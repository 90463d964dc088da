//! The per-replica hub (ARCHITECTURE §3): which local sockets belong to
//! which user and follow which chat, and the Redis subscriptions that
//! follow from that (`chat:{id}` while a local socket follows the chat,
//! `user:{id}` while the user has a local socket).
//!
//! The bus hands every arriving event to [`Hub::dispatch`], which routes the
//! same bytes to each interested socket's bounded queue. A socket whose
//! queue is full is told to close (1013); it recovers by catching up.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use parley_shared::AppError;
use parley_shared::domain::models::EventKind;
use parley_shared::domain::models::Message;
use parley_shared::infra::bus::{BusMessage, BusReceiver, EventBus, Topic};
use parley_shared::infra::db::DbPool;
use serde::Deserialize;
use tokio::sync::{Notify, mpsc};

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
        payload: Bytes,
        /// For an edit: who, among this replica's followers of the chat,
        /// may not see the message's content (they get a stub).
        hidden: Hidden,
    },
    /// The socket's user now belongs to `chat_id` (from `seq` on): follow it.
    ChatJoined {
        chat_id: i64,
        seq: i64,
        payload: Bytes,
    },
    /// The socket's user left `chat_id` (after `seq`): stop following it.
    ChatLeft { chat_id: i64, seq: i64 },
    /// A typing signal: only for sockets that focused the chat, and not
    /// for the typist's own sockets.
    Typing {
        chat_id: i64,
        user_id: i64,
        payload: Bytes,
    },
    /// A session of this socket's user was revoked: the socket of that
    /// session sends it and closes.
    SessionRevoked { session_id: String, payload: Bytes },
    /// A user-scoped or ephemeral event, sent as it is.
    Direct(Bytes),
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

/// The part of an event the hub reads to route it.
#[derive(Debug, Deserialize)]
struct Header {
    #[serde(rename = "type")]
    kind: String,
    chat_id: Option<i64>,
    seq: Option<i64>,
    user_id: Option<i64>,
    session_id: Option<String>,
    message: Option<MessageHead>,
}

#[derive(Debug, Deserialize)]
struct MessageHead {
    id: i64,
}

struct ConnEntry {
    user_id: i64,
    tx: mpsc::Sender<Outbound>,
    overflow: Arc<Notify>,
    chats: HashSet<i64>,
}

#[derive(Default)]
struct State {
    conns: HashMap<ConnId, ConnEntry>,
    by_user: HashMap<i64, HashSet<ConnId>>,
    by_chat: HashMap<i64, HashSet<ConnId>>,
}

/// See the module documentation.
pub struct Hub {
    bus: EventBus,
    /// For the per-event lookups of routing (hidden edits).
    db: DbPool,
    state: Mutex<State>,
    /// Serialises subscription changes, so that a SUBSCRIBE and an
    /// UNSUBSCRIBE of one topic reach Redis in the order they were decided.
    subscriptions: tokio::sync::Mutex<()>,
    next_id: AtomicU64,
    /// This replica's id, part of every socket's presence key.
    replica_id: String,
    /// `false` from the loss of the Redis subscription connection until it
    /// is back: new realtime connections are refused (503) meanwhile.
    bus_up: std::sync::atomic::AtomicBool,
}

impl Hub {
    /// A hub over `bus`. Feed it with [`Hub::dispatch`].
    pub fn new(bus: EventBus, db: DbPool) -> Arc<Hub> {
        Arc::new(Hub {
            bus,
            db,
            state: Mutex::new(State::default()),
            subscriptions: tokio::sync::Mutex::new(()),
            next_id: AtomicU64::new(1),
            replica_id: uuid::Uuid::new_v4().simple().to_string(),
            bus_up: std::sync::atomic::AtomicBool::new(true),
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

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain maps behind; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a socket of `user_id`; returns once this replica is subscribed
    /// to the user's topic. `overflow` is notified when its queue is full.
    ///
    /// Errors: Redis refused the subscription.
    pub async fn register(
        &self,
        user_id: i64,
        tx: mpsc::Sender<Outbound>,
        overflow: Arc<Notify>,
    ) -> redis::RedisResult<ConnId> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let _guard = self.subscriptions.lock().await;
        let first = {
            let mut state = self.state();
            state.conns.insert(
                id,
                ConnEntry {
                    user_id,
                    tx,
                    overflow,
                    chats: HashSet::new(),
                },
            );
            let conns = state.by_user.entry(user_id).or_default();
            conns.insert(id);
            conns.len() == 1
        };
        if first && let Err(err) = self.bus.subscribe(&[Topic::User(user_id)]).await {
            drop(_guard);
            self.unregister(id).await;
            return Err(err);
        }
        Ok(id)
    }

    /// Makes socket `conn` follow `chat_ids`; returns once this replica is
    /// subscribed to each of them.
    ///
    /// Errors: Redis refused the subscription.
    pub async fn join_chats(&self, conn: ConnId, chat_ids: &[i64]) -> redis::RedisResult<()> {
        let _guard = self.subscriptions.lock().await;
        let new_topics: Vec<Topic> = {
            let mut state = self.state();
            let Some(entry) = state.conns.get_mut(&conn) else {
                return Ok(());
            };
            entry.chats.extend(chat_ids.iter().copied());
            chat_ids
                .iter()
                .filter(|chat_id| {
                    let conns = state.by_chat.entry(**chat_id).or_default();
                    conns.insert(conn) && conns.len() == 1
                })
                .map(|chat_id| Topic::Chat(*chat_id))
                .collect()
        };
        self.bus.subscribe(&new_topics).await
    }

    /// Removes socket `conn` and drops the subscriptions nobody here needs.
    pub async fn unregister(&self, conn: ConnId) {
        let _guard = self.subscriptions.lock().await;
        let unused: Vec<Topic> = {
            let mut state = self.state();
            let Some(entry) = state.conns.remove(&conn) else {
                return;
            };
            let mut unused = Vec::new();
            for chat_id in &entry.chats {
                if let Some(conns) = state.by_chat.get_mut(chat_id) {
                    conns.remove(&conn);
                    if conns.is_empty() {
                        state.by_chat.remove(chat_id);
                        unused.push(Topic::Chat(*chat_id));
                    }
                }
            }
            if let Some(conns) = state.by_user.get_mut(&entry.user_id) {
                conns.remove(&conn);
                if conns.is_empty() {
                    state.by_user.remove(&entry.user_id);
                    unused.push(Topic::User(entry.user_id));
                }
            }
            unused
        };
        if let Err(err) = self.bus.unsubscribe(&unused).await {
            tracing::warn!(error = %err, "unsubscribe failed");
        }
    }

    /// The presence key of socket `conn`: `{replica}:{conn}`.
    pub fn presence_key(&self, conn: ConnId) -> String {
        format!("{}:{conn}", self.replica_id)
    }

    /// Every local socket as `(user_id, presence key)`.
    pub fn presence_entries(&self) -> Vec<(i64, String)> {
        self.state()
            .conns
            .iter()
            .map(|(conn, entry)| (entry.user_id, self.presence_key(*conn)))
            .collect()
    }

    /// The number of sockets connected to this replica.
    pub fn socket_count(&self) -> usize {
        self.state().conns.len()
    }

    /// Routes one message from the bus. Called in arrival order by one task.
    pub async fn dispatch(self: &Arc<Self>, message: BusMessage) {
        match message {
            BusMessage::Event { topic, payload } => {
                let Ok(header) = serde_json::from_slice::<Header>(&payload) else {
                    tracing::warn!(?topic, "dropping an event without a type");
                    return;
                };
                let kind = header.kind.parse::<EventKind>().ok();
                match (topic, header.chat_id, header.seq) {
                    (Topic::User(user_id), Some(chat_id), Some(seq))
                        if matches!(
                            kind,
                            Some(EventKind::ChatCreated | EventKind::MemberJoined)
                        ) =>
                    {
                        self.user_joined_chat(user_id, chat_id, seq, payload).await;
                    }
                    (Topic::Chat(chat_id), _, Some(seq)) => {
                        let edited = (kind == Some(EventKind::MessageUpdated))
                            .then(|| header.message.as_ref().map(|m| m.id))
                            .flatten();
                        let hidden = match edited {
                            Some(message_id) => {
                                self.hidden_among_followers(chat_id, message_id).await
                            }
                            None => Hidden::Nobody,
                        };
                        self.broadcast(
                            Topic::Chat(chat_id),
                            Outbound::ChatEvent {
                                chat_id,
                                seq,
                                payload: payload.clone(),
                                hidden,
                            },
                        );
                        if kind == Some(EventKind::MemberLeft)
                            && let Some(user_id) = header.user_id
                        {
                            self.user_left_chat(user_id, chat_id, seq).await;
                        }
                    }
                    (Topic::Chat(chat_id), _, None) if header.kind == "typing" => {
                        let user_id = header.user_id.unwrap_or_default();
                        self.broadcast(
                            Topic::Chat(chat_id),
                            Outbound::Typing {
                                chat_id,
                                user_id,
                                payload: payload.clone(),
                            },
                        );
                    }
                    (Topic::Chat(chat_id), _, None) => {
                        self.broadcast(Topic::Chat(chat_id), Outbound::Direct(payload.clone()));
                    }
                    (Topic::User(user_id), _, _) if header.kind == "session_revoked" => {
                        let session_id = header.session_id.unwrap_or_default();
                        self.broadcast(
                            Topic::User(user_id),
                            Outbound::SessionRevoked {
                                session_id,
                                payload,
                            },
                        );
                    }
                    (Topic::User(user_id), _, _) => {
                        self.broadcast(Topic::User(user_id), Outbound::Direct(payload));
                    }
                }
            }
            BusMessage::Reconnected => {
                tracing::warn!("lost the Redis subscription connection; reconnecting");
                self.bus_up.store(false, Ordering::Relaxed);
                let hub = Arc::clone(self);
                tokio::spawn(async move { hub.recover_subscriptions().await });
            }
        }
    }

    /// Who among this replica's followers of `chat_id` may not see the
    /// content of `message_id`: one query for all of them.
    async fn hidden_among_followers(&self, chat_id: i64, message_id: i64) -> Hidden {
        let followers: Vec<i64> = {
            let state = self.state();
            let mut users: Vec<i64> = state
                .by_chat
                .get(&chat_id)
                .into_iter()
                .flatten()
                .filter_map(|conn| state.conns.get(conn).map(|e| e.user_id))
                .collect();
            users.sort_unstable();
            users.dedup();
            users
        };
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

    /// The local sockets of `user_id`.
    fn conns_of(&self, user_id: i64) -> Vec<ConnId> {
        self.state()
            .by_user
            .get(&user_id)
            .map(|c| c.iter().copied().collect())
            .unwrap_or_default()
    }

    async fn user_joined_chat(&self, user_id: i64, chat_id: i64, seq: i64, payload: Bytes) {
        let conns = self.conns_of(user_id);
        for conn in conns {
            if let Err(err) = self.join_chats(conn, &[chat_id]).await {
                tracing::warn!(chat.id = chat_id, error = %err, "subscribe failed");
            }
            self.send_to(
                conn,
                Outbound::ChatJoined {
                    chat_id,
                    seq,
                    payload: payload.clone(),
                },
            );
        }
    }

    async fn user_left_chat(&self, user_id: i64, chat_id: i64, seq: i64) {
        let conns = self.conns_of(user_id);
        for conn in conns {
            self.send_to(conn, Outbound::ChatLeft { chat_id, seq });
            self.leave_chat(conn, chat_id).await;
        }
    }

    /// Makes socket `conn` stop following `chat_id`, and drops the
    /// subscription when no local socket follows it any more.
    pub async fn leave_chat(&self, conn: ConnId, chat_id: i64) {
        let _guard = self.subscriptions.lock().await;
        let unused = {
            let mut state = self.state();
            if let Some(entry) = state.conns.get_mut(&conn) {
                entry.chats.remove(&chat_id);
            }
            match state.by_chat.get_mut(&chat_id) {
                Some(conns) => {
                    conns.remove(&conn);
                    if conns.is_empty() {
                        state.by_chat.remove(&chat_id);
                        true
                    } else {
                        false
                    }
                }
                None => false,
            }
        };
        if unused && let Err(err) = self.bus.unsubscribe(&[Topic::Chat(chat_id)]).await {
            tracing::warn!(chat.id = chat_id, error = %err, "unsubscribe failed");
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
        let conns: Vec<ConnId> = self.state().conns.keys().copied().collect();
        for conn in conns {
            self.send_to(conn, Outbound::Resync);
        }
    }

    /// Offers `outbound` to every local socket following `topic`.
    fn broadcast(&self, topic: Topic, outbound: Outbound) {
        let state = self.state();
        let conns = match topic {
            Topic::Chat(id) => state.by_chat.get(&id),
            Topic::User(id) => state.by_user.get(&id),
        };
        for conn in conns.into_iter().flatten() {
            if let Some(entry) = state.conns.get(conn) {
                offer(entry, outbound.clone());
            }
        }
    }

    fn send_to(&self, conn: ConnId, outbound: Outbound) {
        if let Some(entry) = self.state().conns.get(&conn) {
            offer(entry, outbound);
        }
    }
}

/// Queues without waiting; a full queue marks the socket as too slow.
fn offer(entry: &ConnEntry, outbound: Outbound) {
    if let Err(mpsc::error::TrySendError::Full(_)) = entry.tx.try_send(outbound) {
        entry.overflow.notify_one();
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
