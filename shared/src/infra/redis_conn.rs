//! The Redis that holds Parley's live state (the event bus, presence, rate
//! limits, recent messages): one server, or a Redis Cluster when
//! `REDIS_CLUSTER_URLS` is set (docs/scaling.md). The job queue is not
//! here: it stays on `REDIS_URL`'s server ([`super::jobs`]).

use std::time::Duration;

use redis::aio::{AsyncPushSender, ConnectionLike, ConnectionManager};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, ProtocolVersion, RedisFuture, Value};

/// A connection to one Redis server or to a Redis Cluster; cheap to clone,
/// and both reconnect by themselves.
///
/// On a cluster each command goes to the node that holds its key's slot,
/// so a pipeline or a script may touch one slot only: keys that must go
/// together share a `{hash tag}` (presence's shards), and callers split
/// the rest per slot ([`slot_of`]).
#[derive(Clone)]
pub enum RedisConn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl RedisConn {
    /// `true` on a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self, RedisConn::Cluster(_))
    }
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConn::Single(conn) => conn.req_packed_command(cmd),
            RedisConn::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConn::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            RedisConn::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConn::Single(conn) => conn.get_db(),
            RedisConn::Cluster(conn) => conn.get_db(),
        }
    }
}

/// The cluster slot (0..16384) of `key`: its `{hash tag}` if it has one,
/// else the whole key. Keys of one slot may share a pipeline or a script.
pub fn slot_of(key: &str) -> redis::cluster_routing::Slot {
    redis::cluster_routing::Slot::for_key(key)
}

/// Opens a connection to the Redis Cluster that `seeds` (node URLs, any
/// subset of the cluster) belong to; it learns the other nodes and the
/// slot map from them and follows the map when it changes.
///
/// Errors: no seed answers, or they are not a cluster.
pub async fn connect_cluster(seeds: &[String]) -> anyhow::Result<ClusterConnection> {
    Ok(cluster_builder(seeds)
        .build()?
        .get_async_connection()
        .await?)
}

/// Like [`connect_cluster`], for a subscriber: the connection speaks RESP3
/// and hands what the nodes push (sharded pub/sub messages,
/// `Disconnection` when a node's connection drops) to `push`, and it
/// subscribes again by itself after reconnecting or when slots move.
///
/// Errors: as [`connect_cluster`].
pub async fn connect_cluster_subscriber(
    seeds: &[String],
    push: impl AsyncPushSender,
) -> anyhow::Result<ClusterConnection> {
    Ok(cluster_builder(seeds)
        .use_protocol(ProtocolVersion::RESP3)
        .push_sender(push)
        .build()?
        .get_async_connection()
        .await?)
}

fn cluster_builder(seeds: &[String]) -> ClusterClientBuilder {
    ClusterClientBuilder::new(seeds.iter().map(String::as_str))
        .connection_timeout(Duration::from_secs(3))
        .response_timeout(Duration::from_secs(5))
        .retries(2)
}
