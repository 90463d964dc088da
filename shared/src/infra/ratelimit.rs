//! Rate limits (seed 004 §12): per user for sends, per client IP for the
//! auth endpoints, each `n` per minute as a GCRA (a burst of `n`, then one
//! more every `60 / n` seconds). A 429 says when to retry.
//!
//! With Redis, the state of each key lives in Redis and every replica
//! counts against it (one script call per request, timed by Redis's own
//! clock), so `N` replicas admit `n` per minute in total, not `N × n`. A
//! Redis error lets the request through (logged): limits protect the
//! service, they must not take it down. Without Redis (one replica), the
//! in-memory limiters of `governor` do the same.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use redis::Script;

use super::redis_conn::RedisConn;
use crate::config::Settings;
use crate::telemetry::metrics::RATE_LIMIT_REFUSALS;

/// A request over its limit: retry after this many seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limit exceeded; retry in {retry_after_secs} s")]
pub struct RateLimited {
    pub retry_after_secs: u64,
}

/// What is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `MESSAGE_RATE_LIMIT_PER_MINUTE`, per sender.
    Message,
    /// `LOGIN_RATE_LIMIT_PER_MINUTE`, per IP.
    Login,
    /// `REGISTER_RATE_LIMIT_PER_MINUTE`, per IP.
    Register,
    /// `REFRESH_RATE_LIMIT_PER_MINUTE`, per IP.
    Refresh,
    /// `RESET_RATE_LIMIT_PER_MINUTE` (verification / reset flows), per IP.
    Reset,
}

impl Limit {
    const ALL: [Limit; 5] = [
        Limit::Message,
        Limit::Login,
        Limit::Register,
        Limit::Refresh,
        Limit::Reset,
    ];

    fn name(self) -> &'static str {
        match self {
            Limit::Message => "message",
            Limit::Login => "login",
            Limit::Register => "register",
            Limit::Refresh => "refresh",
            Limit::Reset => "reset",
        }
    }

    fn index(self) -> usize {
        match self {
            Limit::Message => 0,
            Limit::Login => 1,
            Limit::Register => 2,
            Limit::Refresh => 3,
            Limit::Reset => 4,
        }
    }

    fn per_minute(self, settings: &Settings) -> u32 {
        let limits = &settings.limits;
        match self {
            Limit::Message => limits.message_per_minute,
            Limit::Login => limits.login_per_minute,
            Limit::Register => limits.register_per_minute,
            Limit::Refresh => limits.refresh_per_minute,
            Limit::Reset => limits.reset_per_minute,
        }
    }
}

/// GCRA over one key. `KEYS[1]`: the key; `ARGV[1]`: the emission
/// interval in ms; `ARGV[2]`: the burst. Returns 0 when admitted, else the
/// ms to wait. The theoretical arrival time is kept as text with three
/// decimals (Lua would print a large float in exponent form).
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if allow_at > now then
  return math.ceil(allow_at - now)
end
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.ceil(new_tat - now) + 1)
return 0
";

type Limiter = Arc<DefaultKeyedRateLimiter<String>>;

/// The limits of one process. Cheap to clone.
#[derive(Clone)]
pub struct RateLimits {
    /// Per [`Limit`] (by [`Limit::index`]): `n` per minute, `None` when off.
    quotas: [Option<NonZeroU32>; 5],
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Redis {
        conn: RedisConn,
        prefix: Arc<str>,
        script: Arc<Script>,
    },
    Memory([Option<Limiter>; 5]),
}

impl RateLimits {
    /// Limits from the settings (a limit of 0 turns one off), kept in
    /// Redis when `redis` is given, else in this process.
    pub fn from_settings(settings: &Settings, redis: Option<RedisConn>) -> Self {
        let quotas = Limit::ALL.map(|limit| NonZeroU32::new(limit.per_minute(settings)));
        let backend = match redis {
            Some(conn) => Backend::Redis {
                conn,
                prefix: Arc::from(format!("{}:ratelimit", settings.redis.prefix)),
                script: Arc::new(Script::new(GCRA)),
            },
            None => Backend::Memory(
                quotas
                    .map(|quota| quota.map(|n| Arc::new(RateLimiter::keyed(Quota::per_minute(n))))),
            ),
        };
        RateLimits { quotas, backend }
    }

    /// Counts one request of `key` against `limit`.
    ///
    /// Errors: [`RateLimited`] with the seconds to wait (at least 1); the
    /// domain answers it as 429 `rate_limited`.
    pub async fn check(&self, limit: Limit, key: &str) -> Result<(), RateLimited> {
        let Some(per_minute) = self.quotas[limit.index()] else {
            return Ok(());
        };
        let wait_ms = match &self.backend {
            Backend::Memory(limiters) => match &limiters[limit.index()] {
                Some(limiter) => match limiter.check_key(&key.to_owned()) {
                    Ok(()) => 0.0,
                    Err(not_until) => {
                        let wait = not_until.wait_time_from(DefaultClock::default().now());
                        wait.as_secs_f64() * 1000.0
                    }
                },
                None => 0.0,
            },
            Backend::Redis {
                conn,
                prefix,
                script,
            } => {
                let interval_ms = 60_000.0 / f64::from(per_minute.get());
                let result: redis::RedisResult<i64> = script
                    .key(format!("{prefix}:{}:{key}", limit.name()))
                    .arg(format!("{interval_ms:.3}"))
                    .arg(per_minute.get())
                    .invoke_async(&mut conn.clone())
                    .await;
                match result {
                    Ok(ms) => ms as f64,
                    Err(err) => {
                        tracing::warn!(limit = limit.name(), error = %err, "rate limit unchecked: Redis failed");
                        0.0
                    }
                }
            }
        };
        if wait_ms > 0.0 {
            metrics::counter!(RATE_LIMIT_REFUSALS, "limit" => limit.name()).increment(1);
            Err(RateLimited {
                retry_after_secs: (wait_ms / 1000.0).ceil().max(1.0) as u64,
            })
        } else {
            Ok(())
        }
    }

    /// Forgets in-memory keys that are back to a full allowance (call now
    /// and then; Redis keys expire by themselves).
    pub fn shrink(&self) {
        if let Backend::Memory(limiters) = &self.backend {
            for limiter in limiters.iter().flatten() {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
    }
}
