//! Presence (ARCHITECTURE §3): a user is online while at least one of
//! their sockets, on any replica, is alive.
//!
//! In Redis, users are spread over [`SHARDS`] shards by id; shard `s` has
//! the hash tag `{<prefix>:presence:<s>}` (below `{tag}`), so its keys share
//! one slot of a Redis Cluster and its scripts stay on one node, while the
//! shards spread over the nodes. Each user has a sorted set
//! `{tag}:user:<user_id>` of their sockets (`<replica>:<conn>`) scored by
//! expiry time (ms), renewed by the owning replica every third of the TTL;
//! `{tag}:online` scores each online user of the shard by their latest
//! expiry. When a replica dies its sockets are not renewed: any replica's
//! sweep finds the users whose sockets all expired and announces them
//! offline, within about the TTL. Scripts keep each step atomic, so exactly
//! one caller announces a transition. Without Redis, an in-process map
//! serves the one replica.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use futures_util::future::try_join_all;
use redis::Script;

use super::redis_conn::RedisConn;

/// How many shards users are spread over: enough to spread presence over
/// a cluster of up to 16 primaries; each sweep runs one script per shard.
/// Changing it renames every key (presence rebuilds itself within a TTL).
pub const SHARDS: i64 = 16;

/// Where presence lives.
pub struct Presence {
    backend: Backend,
    prefix: String,
    ttl: Duration,
}

enum Backend {
    Redis(RedisConn),
    Local(Mutex<HashMap<i64, HashSet<String>>>),
}

const CONNECT: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local before = redis.call('ZCARD', KEYS[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], 'GT', ARGV[2], ARGV[4])
if before == 0 then return 1 else return 0 end
";

const DISCONNECT: &str = r"
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) == 0 then
  return redis.call('ZREM', KEYS[2], ARGV[3])
end
return 0
";

const RENEW: &str = r"
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return redis.call('ZADD', KEYS[2], 'GT', ARGV[2], ARGV[3])
";

/// Sockets renewed per pipeline.
const RENEW_BATCH: usize = 1000;

const SWEEP: &str = r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 500)
local gone = {}
for _, user in ipairs(due) do
  local key = ARGV[2] .. user
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #top == 0 then
    redis.call('ZREM', KEYS[1], user)
    table.insert(gone, user)
  else
    redis.call('ZADD', KEYS[1], top[2], user)
  end
end
return gone
";

impl Presence {
    /// Presence in Redis (`Some`) or in this process (`None`); sockets
    /// expire `ttl` after their last renewal.
    pub fn new(redis: Option<RedisConn>, prefix: &str, ttl: Duration) -> Self {
        let backend = match redis {
            Some(conn) => Backend::Redis(conn),
            None => Backend::Local(Mutex::new(HashMap::new())),
        };
        Presence {
            backend,
            prefix: prefix.to_owned(),
            ttl,
        }
    }

    /// How long a socket stays present without renewal.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn shard(user_id: i64) -> i64 {
        user_id.rem_euclid(SHARDS)
    }

    /// `{<prefix>:presence:<shard>}`: the hash tag of a shard's keys.
    fn tag(&self, shard: i64) -> String {
        format!("{{{}:presence:{shard}}}", self.prefix)
    }

    fn user_key(&self, user_id: i64) -> String {
        format!("{}:user:{user_id}", self.tag(Self::shard(user_id)))
    }

    fn online_key(&self, shard: i64) -> String {
        format!("{}:online", self.tag(shard))
    }

    fn expiry_ms(&self) -> i64 {
        Utc::now().timestamp_millis() + self.ttl.as_millis() as i64
    }

    fn local(
        map: &Mutex<HashMap<i64, HashSet<String>>>,
    ) -> std::sync::MutexGuard<'_, HashMap<i64, HashSet<String>>> {
        map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Socket `conn_key` of `user_id` opened; `true` if the user just came online.
    pub async fn connect(&self, user_id: i64, conn_key: &str) -> redis::RedisResult<bool> {
        match &self.backend {
            Backend::Redis(conn) => {
                let mut conn = conn.clone();
                let came_online: i64 = Script::new(CONNECT)
                    .key(self.user_key(user_id))
                    .key(self.online_key(Self::shard(user_id)))
                    .arg(conn_key)
                    .arg(self.expiry_ms())
                    .arg(Utc::now().timestamp_millis())
                    .arg(user_id)
                    .arg(self.ttl.as_millis() as i64 * 2)
                    .invoke_async(&mut conn)
                    .await?;
                Ok(came_online == 1)
            }
            Backend::Local(map) => {
                let mut map = Self::local(map);
                let sockets = map.entry(user_id).or_default();
                sockets.insert(conn_key.to_owned());
                Ok(sockets.len() == 1)
            }
        }
    }

    /// Socket `conn_key` of `user_id` closed; `true` if that was the user's
    /// last socket (they just went offline).
    pub async fn disconnect(&self, user_id: i64, conn_key: &str) -> redis::RedisResult<bool> {
        match &self.backend {
            Backend::Redis(conn) => {
                let mut conn = conn.clone();
                let went_offline: i64 = Script::new(DISCONNECT)
                    .key(self.user_key(user_id))
                    .key(self.online_key(Self::shard(user_id)))
                    .arg(conn_key)
                    .arg(Utc::now().timestamp_millis())
                    .arg(user_id)
                    .invoke_async(&mut conn)
                    .await?;
                Ok(went_offline == 1)
            }
            Backend::Local(map) => {
                let mut map = Self::local(map);
                let Some(sockets) = map.get_mut(&user_id) else {
                    return Ok(false);
                };
                sockets.remove(conn_key);
                if sockets.is_empty() {
                    map.remove(&user_id);
                    return Ok(true);
                }
                Ok(false)
            }
        }
    }

    /// Extends the life of these live sockets by the TTL. Returns the users
    /// a sweep had meanwhile taken for gone (announce them online again).
    pub async fn renew(&self, sockets: &[(i64, String)]) -> redis::RedisResult<Vec<i64>> {
        let Backend::Redis(conn) = &self.backend else {
            return Ok(Vec::new());
        };
        let expiry = self.expiry_ms();
        let script = Script::new(RENEW);
        let by_shard = by_shard(sockets, |socket| socket.0);
        // One round trip per shard and batch, all at once: the script is
        // (re)loaded first in the same pipeline, so EVALSHA finds it even
        // after a Redis restart (or on a node that never ran it).
        let calls = by_shard.iter().flat_map(|(shard, sockets)| {
            sockets.chunks(RENEW_BATCH).map(|batch| {
                let mut pipe = redis::pipe();
                pipe.cmd("SCRIPT").arg("LOAD").arg(RENEW).ignore();
                for (user_id, conn_key) in batch {
                    pipe.cmd("EVALSHA")
                        .arg(script.get_hash())
                        .arg(2)
                        .arg(self.user_key(*user_id))
                        .arg(self.online_key(*shard))
                        .arg(conn_key)
                        .arg(expiry)
                        .arg(*user_id)
                        .arg(self.ttl.as_millis() as i64 * 2);
                }
                let mut conn = conn.clone();
                async move {
                    let added: Vec<i64> = pipe.query_async(&mut conn).await?;
                    Ok::<_, redis::RedisError>(
                        batch
                            .iter()
                            .zip(added)
                            .filter(|(_, added)| *added == 1)
                            .map(|(socket, _)| socket.0)
                            .collect::<Vec<i64>>(),
                    )
                }
            })
        });
        let mut back: Vec<i64> = try_join_all(calls).await?.concat();
        back.sort_unstable();
        back.dedup();
        Ok(back)
    }

    /// Finds users whose sockets all expired (their replica died) and
    /// returns them; each is returned to exactly one caller.
    pub async fn sweep(&self) -> redis::RedisResult<Vec<i64>> {
        let Backend::Redis(conn) = &self.backend else {
            return Ok(Vec::new());
        };
        let now = Utc::now().timestamp_millis();
        let script = Script::new(SWEEP);
        let calls = (0..SHARDS).map(|shard| {
            let mut conn = conn.clone();
            let mut invocation = script.prepare_invoke();
            invocation
                .key(self.online_key(shard))
                .arg(now)
                .arg(format!("{}:user:", self.tag(shard)));
            async move { invocation.invoke_async::<Vec<String>>(&mut conn).await }
        });
        let gone = try_join_all(calls).await?;
        Ok(gone
            .iter()
            .flatten()
            .filter_map(|u| u.parse().ok())
            .collect())
    }

    /// Which of `user_ids` are online now.
    pub async fn online(&self, user_ids: &[i64]) -> redis::RedisResult<HashSet<i64>> {
        match &self.backend {
            Backend::Redis(conn) => {
                if user_ids.is_empty() {
                    return Ok(HashSet::new());
                }
                let now = Utc::now().timestamp_millis();
                let by_shard = by_shard(user_ids.iter().copied(), |id| *id);
                // A pipeline per shard: on a cluster one names one slot.
                let calls = by_shard.into_values().map(|users| {
                    let mut pipe = redis::pipe();
                    for user_id in &users {
                        pipe.cmd("ZCOUNT")
                            .arg(self.user_key(*user_id))
                            .arg(now)
                            .arg("+inf");
                    }
                    let mut conn = conn.clone();
                    async move {
                        let counts: Vec<i64> = pipe.query_async(&mut conn).await?;
                        Ok::<_, redis::RedisError>(
                            users
                                .into_iter()
                                .zip(counts)
                                .filter(|(_, n)| *n > 0)
                                .map(|(id, _)| id)
                                .collect::<Vec<i64>>(),
                        )
                    }
                });
                Ok(try_join_all(calls).await?.into_iter().flatten().collect())
            }
            Backend::Local(map) => {
                let map = Self::local(map);
                Ok(user_ids
                    .iter()
                    .filter(|id| map.contains_key(id))
                    .copied()
                    .collect())
            }
        }
    }
}

/// `items` grouped by the presence shard of their user (`user`): a
/// pipeline or script names the keys of one shard only (one slot of a
/// cluster).
fn by_shard<T>(
    items: impl IntoIterator<Item = T>,
    user: impl Fn(&T) -> i64,
) -> HashMap<i64, Vec<T>> {
    let mut shards: HashMap<i64, Vec<T>> = HashMap::new();
    for item in items {
        shards
            .entry(Presence::shard(user(&item)))
            .or_default()
            .push(item);
    }
    shards
}
