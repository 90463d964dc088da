//! Rate limits (seed 004 §12), with `governor` (GCRA): per user for sends,
//! per client IP for the auth endpoints. A 429 says when to retry.
//!
//! The limiters live in each API replica's memory: behind a load balancer
//! that spreads one client over `N` replicas, the effective limit is up to
//! `N` times the configured one (set it accordingly).

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Settings;

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

type Limiter = Arc<DefaultKeyedRateLimiter<String>>;

/// The limiters of one replica. Cheap to clone.
#[derive(Clone)]
pub struct RateLimits {
    message: Option<Limiter>,
    login: Option<Limiter>,
    register: Option<Limiter>,
    refresh: Option<Limiter>,
    reset: Option<Limiter>,
}

fn limiter(per_minute: u32) -> Option<Limiter> {
    NonZeroU32::new(per_minute).map(|n| Arc::new(RateLimiter::keyed(Quota::per_minute(n))))
}

impl RateLimits {
    /// Limiters from the settings; a limit of 0 turns one off.
    pub fn from_settings(settings: &Settings) -> Self {
        RateLimits {
            message: limiter(settings.limits.message_per_minute),
            login: limiter(settings.limits.login_per_minute),
            register: limiter(settings.limits.register_per_minute),
            refresh: limiter(settings.limits.refresh_per_minute),
            reset: limiter(settings.limits.reset_per_minute),
        }
    }

    /// Counts one request of `key` against `limit`.
    ///
    /// Errors: [`RateLimited`] with the seconds to wait (at least 1); the
    /// domain answers it as 429 `rate_limited`.
    pub fn check(&self, limit: Limit, key: &str) -> Result<(), RateLimited> {
        let limiter = match limit {
            Limit::Message => &self.message,
            Limit::Login => &self.login,
            Limit::Register => &self.register,
            Limit::Refresh => &self.refresh,
            Limit::Reset => &self.reset,
        };
        let Some(limiter) = limiter else {
            return Ok(());
        };
        limiter.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            RateLimited {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            }
        })
    }

    /// Forgets keys that are back to a full allowance (call now and then).
    pub fn shrink(&self) {
        for limiter in [
            &self.message,
            &self.login,
            &self.register,
            &self.refresh,
            &self.reset,
        ]
        .into_iter()
        .flatten()
        {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}
