//! A chat's recent messages in Redis, labelled with the chat seq they were
//! read at (seed 003's "최근 채팅 기록": the last 20 messages of a chat).
//! Redis keeps what it is given; the domain ([`crate::domain::recent`])
//! decides what is current.

use redis::Script;

use super::redis_conn::RedisConn;

/// Writes `body` for a chat only when `seq` is newer than the stored one,
/// so that a slow writer never replaces a newer list with an older one.
const PUT: &str = r"
local stored = redis.call('HGET', KEYS[1], 'seq')
if stored and tonumber(stored) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'body', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
";

/// How long an unread entry stays in Redis, in milliseconds (a day): a
/// quiet chat's list is read from PostgreSQL again after it.
const TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// The recent-messages entries of one Redis (`{prefix}:recent:{chat_id}`).
#[derive(Clone)]
pub struct RecentCache {
    conn: RedisConn,
    prefix: String,
}

impl RecentCache {
    /// The entries under `prefix` (`REDIS_PREFIX`).
    pub fn new(conn: RedisConn, prefix: &str) -> RecentCache {
        RecentCache {
            conn,
            prefix: format!("{prefix}:recent"),
        }
    }

    fn key(&self, chat_id: i64) -> String {
        format!("{}:{chat_id}", self.prefix)
    }

    /// The stored `(seq, body)` of a chat, if any.
    ///
    /// Errors: Redis failed.
    pub async fn get(&self, chat_id: i64) -> redis::RedisResult<Option<(i64, String)>> {
        let mut conn = self.conn.clone();
        let (seq, body): (Option<i64>, Option<String>) = redis::cmd("HMGET")
            .arg(self.key(chat_id))
            .arg("seq")
            .arg("body")
            .query_async(&mut conn)
            .await?;
        Ok(seq.zip(body))
    }

    /// Stores `body` as the chat's list at `seq`, unless a list at the same
    /// or a later seq is there; `true` when written.
    ///
    /// Errors: Redis failed.
    pub async fn put(&self, chat_id: i64, seq: i64, body: &str) -> redis::RedisResult<bool> {
        let mut conn = self.conn.clone();
        let written: i64 = Script::new(PUT)
            .key(self.key(chat_id))
            .arg(seq)
            .arg(body)
            .arg(TTL_MS)
            .invoke_async(&mut conn)
            .await?;
        Ok(written == 1)
    }
}
