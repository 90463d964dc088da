//! The bus that carries published events between API replicas
//! (ARCHITECTURE §3): topics, Redis pub/sub (sharded pub/sub on a Redis
//! Cluster) or an in-process loop.
//!
//! Durable chat events are written to `chat_events` in the transaction that
//! makes the change (see [`crate::domain::models::event`]); after the commit they are
//! published here. Live delivery is at-most-once; the log makes it complete.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use tokio::sync::{Notify, mpsc};

use super::redis_conn::{RedisConn, connect_cluster_subscriber, slot_of};
use crate::config::RedisSettings;
use crate::telemetry::metrics::{BUS_LAG, BUS_PUBLISHED};

/// Where an event is published. Never a format string at the call site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Every member of the chat.
    Chat(i64),
    /// Every socket of one user (chat membership changes, delete-for-me).
    User(i64),
}

impl Topic {
    /// The Redis channel name: `{prefix}:chat:{id}` / `{prefix}:user:{id}`.
    pub fn channel(&self, prefix: &str) -> String {
        match self {
            Topic::Chat(id) => format!("{prefix}:chat:{id}"),
            Topic::User(id) => format!("{prefix}:user:{id}"),
        }
    }

    /// The inverse of [`Topic::channel`]; `None` for a foreign channel.
    pub fn parse(prefix: &str, channel: &str) -> Option<Topic> {
        let rest = channel.strip_prefix(prefix)?.strip_prefix(':')?;
        let (kind, id) = rest.split_once(':')?;
        let id = id.parse().ok()?;
        match kind {
            "chat" => Some(Topic::Chat(id)),
            "user" => Some(Topic::User(id)),
            _ => None,
        }
    }
}

/// The first byte of a payload stamped with its publish time: JSON (what
/// publishers before the stamp sent, and what follows it) never starts
/// with it, so both read.
const STAMPED: u8 = 0x01;

/// `payload` as published on Redis: [`STAMPED`], the publish time in
/// microseconds since the Unix epoch (8 bytes, big-endian), the payload.
fn stamp(payload: &[u8], published_at_us: i64) -> Vec<u8> {
    let mut stamped = Vec::with_capacity(payload.len() + 9);
    stamped.push(STAMPED);
    stamped.extend_from_slice(&published_at_us.to_be_bytes());
    stamped.extend_from_slice(payload);
    stamped
}

/// Counts `events` published (or failed) and logs a failure, naming
/// `channel` (the first of a pipeline's).
fn counted(result: redis::RedisResult<()>, events: usize, channel: &str) {
    let outcome = if result.is_ok() { "ok" } else { "failed" };
    metrics::counter!(BUS_PUBLISHED, "result" => outcome).increment(events as u64);
    if let Err(err) = result {
        tracing::warn!(%channel, events, error = %err, "publish failed; clients will catch up from the log");
    }
}

/// The publish time (µs since the epoch) and payload of what [`stamp`]
/// wrote; an unstamped payload comes back whole, without a time.
fn unstamp(received: Bytes) -> (Option<i64>, Bytes) {
    if received.len() >= 9 && received[0] == STAMPED {
        let mut time = [0u8; 8];
        time.copy_from_slice(&received[1..9]);
        (Some(i64::from_be_bytes(time)), received.slice(9..))
    } else {
        (None, received)
    }
}

/// What the bus hands to the replica's hub: an event that arrived on a topic
/// this replica subscribed to, or a note that the connection to Redis was lost
/// (live events may have been missed; sockets should catch up from the log).
#[derive(Debug, Clone)]
pub enum BusMessage {
    Event { topic: Topic, payload: Bytes },
    Reconnected,
}

/// The bounded queue from the bus to a replica's hub. When it is full an
/// arriving event is dropped, counted, and the hub is told
/// ([`OverflowSignal::notified`]) so that every socket catches up from the
/// log: an overflow costs a catch-up, never a lost event.
#[derive(Clone)]
pub struct BusSink {
    tx: mpsc::Sender<BusMessage>,
    shared: Arc<Overflow>,
}

struct Overflow {
    dropped: AtomicU64,
    notify: Notify,
}

/// The hub's end of a [`BusSink`]: the messages, and the signal that some
/// were dropped.
pub struct BusReceiver {
    pub messages: mpsc::Receiver<BusMessage>,
    pub overflow: OverflowSignal,
}

/// Tells the hub that the queue was full and messages were dropped.
pub struct OverflowSignal {
    shared: Arc<Overflow>,
}

/// The queue was closed (the hub is gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkClosed;

impl BusSink {
    /// A queue of `capacity` messages.
    pub fn new(capacity: usize) -> (BusSink, BusReceiver) {
        let (tx, rx) = mpsc::channel(capacity);
        let shared = Arc::new(Overflow {
            dropped: AtomicU64::new(0),
            notify: Notify::new(),
        });
        (
            BusSink {
                tx,
                shared: shared.clone(),
            },
            BusReceiver {
                messages: rx,
                overflow: OverflowSignal { shared },
            },
        )
    }

    /// Queues `message` without waiting; a full queue drops it and tells
    /// the receiver.
    ///
    /// Errors: [`SinkClosed`].
    pub fn offer(&self, message: BusMessage) -> Result<(), SinkClosed> {
        match self.tx.try_send(message) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                self.shared.notify.notify_one();
                Ok(())
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SinkClosed),
        }
    }
}

impl OverflowSignal {
    /// Resolves when messages were dropped since the last call (the queue
    /// was full).
    pub async fn notified(&self) {
        self.shared.notify.notified().await;
    }

    /// How many messages were dropped since this process started.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

/// Publishes events and (on API replicas) subscribes to topics. Cheap to
/// clone. With Redis it reaches every replica; without, it loops back inside
/// this process (one replica only).
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

struct Inner {
    prefix: String,
    backend: Backend,
    sink: Option<BusSink>,
}

enum Backend {
    Redis {
        publisher: RedisConn,
        subscriber: Option<Subscriber>,
    },
    Local,
}

/// The connection a replica subscribes on: plain pub/sub on one server,
/// sharded pub/sub (`SSUBSCRIBE`) on a cluster, where a chat's topic lives
/// on the node of its slot and a publish reaches only that node.
#[derive(Clone)]
enum Subscriber {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl EventBus {
    /// A bus over Redis. `publisher` is the app's shared connection to the
    /// live-state Redis ([`RedisConn`]): on a cluster events go out with
    /// `SPUBLISH`, else `PUBLISH`. When `sink` is given, a second RESP3
    /// connection subscribes (to `settings.url`, or to the cluster) and
    /// forwards what arrives; it resubscribes by itself after reconnecting.
    ///
    /// Errors: the subscriber connection cannot be opened.
    pub async fn redis(
        settings: &RedisSettings,
        publisher: RedisConn,
        sink: Option<BusSink>,
    ) -> anyhow::Result<Self> {
        let prefix = settings.prefix.as_str();
        let subscriber = match (&sink, &publisher) {
            (None, _) => None,
            (Some(sink), RedisConn::Cluster(_)) => {
                let push = forward_pushes(prefix, sink.clone());
                Some(Subscriber::Cluster(
                    connect_cluster_subscriber(&settings.cluster_urls, push).await?,
                ))
            }
            (Some(sink), RedisConn::Single(_)) => {
                let url = settings
                    .url
                    .as_deref()
                    .ok_or_else(|| anyhow::anyhow!("the Redis bus needs REDIS_URL"))?;
                Some(Subscriber::Single(
                    subscriber_connection(url, prefix, sink.clone()).await?,
                ))
            }
        };
        Ok(EventBus {
            inner: Arc::new(Inner {
                prefix: prefix.to_owned(),
                backend: Backend::Redis {
                    publisher,
                    subscriber,
                },
                sink,
            }),
        })
    }

    /// An in-process bus: what is published comes straight back to `sink`.
    pub fn local(prefix: &str, sink: Option<BusSink>) -> Self {
        EventBus {
            inner: Arc::new(Inner {
                prefix: prefix.to_owned(),
                backend: Backend::Local,
                sink,
            }),
        }
    }

    /// Publishes `payload` on `topic`. Live delivery is best-effort: a
    /// failure is logged and the event log fills the hole on catch-up.
    pub async fn publish(&self, topic: Topic, payload: Bytes) {
        self.publish_all(vec![(topic, payload)]).await;
    }

    /// Publishes each `(topic, payload)`, in order, as [`EventBus::publish`]
    /// does one. On one Redis server they go in one pipeline: one round
    /// trip for a group commit's batch, not one per event. On a cluster
    /// they go one after the other (a pipeline there reaches one node, and
    /// the topics of a batch fall on several).
    pub async fn publish_all(&self, items: Vec<(Topic, Bytes)>) {
        if items.is_empty() {
            return;
        }
        let Backend::Redis { publisher, .. } = &self.inner.backend else {
            let count = items.len() as u64;
            if let Some(sink) = &self.inner.sink {
                for (topic, payload) in items {
                    let _ = sink.offer(BusMessage::Event { topic, payload });
                }
            }
            metrics::counter!(BUS_PUBLISHED, "result" => "ok").increment(count);
            return;
        };
        let published_at = chrono::Utc::now().timestamp_micros();
        let mut conn = publisher.clone();
        let commands = items.iter().map(|(topic, payload)| {
            (
                topic.channel(&self.inner.prefix),
                stamp(payload, published_at),
            )
        });
        if conn.is_cluster() {
            for (channel, stamped) in commands {
                let result: redis::RedisResult<i64> = redis::cmd("SPUBLISH")
                    .arg(&channel)
                    .arg(stamped)
                    .query_async(&mut conn)
                    .await;
                counted(result.map(drop), 1, &channel);
            }
        } else {
            let mut pipe = redis::pipe();
            for (channel, stamped) in commands {
                pipe.cmd("PUBLISH").arg(channel).arg(stamped).ignore();
            }
            let result: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
            let first = items
                .first()
                .map(|(topic, _)| topic.channel(&self.inner.prefix));
            counted(result, items.len(), first.as_deref().unwrap_or_default());
        }
    }

    /// Subscribes to `topics`; returns when Redis has confirmed.
    pub async fn subscribe(&self, topics: &[Topic]) -> redis::RedisResult<()> {
        self.subscription(topics, true).await
    }

    /// Unsubscribes from `topics`.
    pub async fn unsubscribe(&self, topics: &[Topic]) -> redis::RedisResult<()> {
        self.subscription(topics, false).await
    }

    async fn subscription(&self, topics: &[Topic], subscribe: bool) -> redis::RedisResult<()> {
        let Backend::Redis {
            subscriber: Some(subscriber),
            ..
        } = &self.inner.backend
        else {
            return Ok(());
        };
        if topics.is_empty() {
            return Ok(());
        }
        let channels: Vec<String> = topics
            .iter()
            .map(|t| t.channel(&self.inner.prefix))
            .collect();
        match subscriber {
            Subscriber::Single(conn) => {
                let mut conn = conn.clone();
                if subscribe {
                    conn.subscribe(&channels).await
                } else {
                    conn.unsubscribe(&channels).await
                }
            }
            Subscriber::Cluster(conn) => {
                // One command names channels of one slot only.
                let mut by_slot: HashMap<_, Vec<String>> = HashMap::new();
                for channel in channels {
                    by_slot.entry(slot_of(&channel)).or_default().push(channel);
                }
                let calls = by_slot.into_values().map(|channels| {
                    let mut conn = conn.clone();
                    async move {
                        if subscribe {
                            conn.ssubscribe(&channels).await
                        } else {
                            conn.sunsubscribe(&channels).await
                        }
                    }
                });
                futures_util::future::try_join_all(calls).await.map(|_| ())
            }
        }
    }

    /// `true` when events cross replicas (Redis), `false` for the in-process bus.
    pub fn is_distributed(&self) -> bool {
        matches!(self.inner.backend, Backend::Redis { .. })
    }

    /// Pings Redis through the subscriber connection (every node of a
    /// cluster), which makes a dropped connection reconnect (and
    /// resubscribe). `Ok` for the local bus.
    pub async fn ping_subscriber(&self) -> redis::RedisResult<()> {
        if let Backend::Redis {
            subscriber: Some(subscriber),
            ..
        } = &self.inner.backend
        {
            let ping = redis::cmd("PING");
            match subscriber.clone() {
                Subscriber::Single(mut conn) => ping.query_async::<String>(&mut conn).await?,
                Subscriber::Cluster(mut conn) => ping.query_async::<String>(&mut conn).await?,
            };
        }
        Ok(())
    }
}

/// What the subscriber connection does with a push from Redis: a message
/// (`message`, or `smessage` from sharded pub/sub) on one of our topics
/// goes to `sink` with its bus lag recorded; a dropped connection becomes
/// [`BusMessage::Reconnected`]; the rest (subscription confirmations) is
/// ignored.
fn forward_pushes(
    prefix: &str,
    sink: BusSink,
) -> impl Fn(redis::PushInfo) -> Result<(), redis::aio::SendError> + Send + Sync + 'static {
    let prefix = prefix.to_owned();
    move |push: redis::PushInfo| {
        let message = match push.kind {
            redis::PushKind::Message | redis::PushKind::SMessage => {
                let mut data = push.data.into_iter();
                match (data.next(), data.next()) {
                    (
                        Some(redis::Value::BulkString(channel)),
                        Some(redis::Value::BulkString(payload)),
                    ) => std::str::from_utf8(&channel)
                        .ok()
                        .and_then(|c| Topic::parse(&prefix, c))
                        .map(|topic| {
                            let (published_at_us, payload) = unstamp(Bytes::from(payload));
                            if let Some(at) = published_at_us {
                                let lag_us = chrono::Utc::now().timestamp_micros() - at;
                                metrics::histogram!(BUS_LAG).record(lag_us.max(0) as f64 / 1e6);
                            }
                            BusMessage::Event { topic, payload }
                        }),
                    _ => None,
                }
            }
            redis::PushKind::Disconnection => Some(BusMessage::Reconnected),
            _ => None,
        };
        match message {
            Some(message) => sink.offer(message).map_err(|_| redis::aio::SendError),
            None => Ok(()),
        }
    }
}

async fn subscriber_connection(
    redis_url: &str,
    prefix: &str,
    sink: BusSink,
) -> anyhow::Result<ConnectionManager> {
    let info = redis::IntoConnectionInfo::into_connection_info(redis_url)?;
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(redis::ProtocolVersion::RESP3);
    let client = redis::Client::open(info.set_redis_settings(settings))?;
    let config = ConnectionManagerConfig::new()
        .set_automatic_resubscription()
        .set_push_sender(forward_pushes(prefix, sink));
    Ok(client.get_connection_manager_with_config(config).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamped_payloads_carry_their_publish_time_and_unstamped_ones_pass() {
        let json = br#"{"live":"typing"}"#;
        let (at, payload) = unstamp(Bytes::from(stamp(json, 1_700_000_000_123_456)));
        assert_eq!(at, Some(1_700_000_000_123_456));
        assert_eq!(payload.as_ref(), json);
        let (at, payload) = unstamp(Bytes::from_static(json));
        assert_eq!(at, None);
        assert_eq!(payload.as_ref(), json);
    }

    #[test]
    fn topics_round_trip_through_channel_names() {
        for topic in [Topic::Chat(42), Topic::User(7)] {
            let channel = topic.channel("t1");
            assert_eq!(Topic::parse("t1", &channel), Some(topic));
            assert_eq!(Topic::parse("t2", &channel), None);
        }
        assert_eq!(Topic::chat_or_none("t1:chat:x"), None);
    }

    impl Topic {
        fn chat_or_none(channel: &str) -> Option<Topic> {
            Topic::parse("t1", channel)
        }
    }
}
