//! Configuration: one [`Settings`] value read from the environment (and a
//! `.env` file in the working directory, if any), passed into app state.
//! Variable names and defaults are those of ARCHITECTURE §8.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

mod raw;

use raw::{DEFAULTS, Raw};

/// The JWT secret used when `JWT_SECRET` is unset. Refused in production.
pub const DEV_JWT_SECRET: &str = "parley-development-secret-change-me";

/// `development` (the default) or `production` (`PARLEY_ENV`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

/// Log output format (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
    /// Seed 003 §7: `[timestamp] [LEVEL] [PID:n] [userId] [roomId] - message`.
    Room,
}

/// Everything both binaries read at start, one group per subsystem. Build
/// it with [`Settings::from_env`]; tests build it with
/// [`Settings::from_map`]. Each field names its environment variable (the
/// names are those of ARCHITECTURE §8, unchanged by the grouping).
#[derive(Clone)]
pub struct Settings {
    /// `PARLEY_ENV`.
    pub env: Environment,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `PARLEY_DATA_DIR`: local files (mail in `mail/`, uploads later).
    pub data_dir: PathBuf,
    pub http: HttpSettings,
    pub db: DbSettings,
    pub redis: RedisSettings,
    pub auth: AuthSettings,
    pub mail: MailSettings,
    pub realtime: RealtimeSettings,
    pub limits: LimitSettings,
    pub retention: RetentionSettings,
    pub jobs: JobSettings,
    pub media: MediaSettings,
    pub push: PushSettings,
    pub search: SearchSettings,
}

/// The HTTP server.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// `PARLEY_BIND`: the API's listen address, e.g. `127.0.0.1:8080`
    /// (port 0 picks a free port).
    pub bind: String,
    /// `HTTP_WORKERS`: the API's worker threads (each reads requests and
    /// runs its sockets, and has its own lane of the send path:
    /// [`crate::domain::send_queue`]); 0 = one per CPU core, as actix-web.
    pub workers: usize,
    /// `PUBLIC_URL`: the base URL clients reach (links in emails).
    pub public_url: String,
    /// `METRICS_TOKEN`: when set, `GET /metrics` wants `Authorization:
    /// Bearer <it>` (a Prometheus `authorization` credential); unset, it is
    /// open to whoever reaches the port.
    pub metrics_token: Option<SecretString>,
}

/// PostgreSQL.
#[derive(Debug, Clone)]
pub struct DbSettings {
    /// `DATABASE_URL`: the connection string.
    pub url: String,
    /// `DATABASE_POOL_SIZE`: connections per process.
    pub pool_size: usize,
}

/// Redis: the event bus, presence and the job queue.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `REDIS_URL`; `None` (empty variable) = in-process event bus, one API
    /// replica, no worker jobs.
    pub url: Option<String>,
    /// `REDIS_CLUSTER_URLS` (comma-separated seed nodes, e.g.
    /// `redis://10.0.0.1:6379,redis://10.0.0.2:6379`): when not empty, the
    /// event bus (sharded pub/sub), presence, rate limits and the
    /// recent-messages cache live on this Redis Cluster; the job queue stays
    /// on `REDIS_URL` (docs/scaling.md says why). Empty = all on `REDIS_URL`.
    pub cluster_urls: Vec<String>,
    /// `PARLEY_REDIS_PREFIX`: prefix of every Redis key and channel, so that
    /// several deployments (or tests) can share one Redis. Default `parley`.
    pub prefix: String,
}

/// Tokens and login rules.
#[derive(Clone)]
pub struct AuthSettings {
    /// `JWT_SECRET`: HMAC key of access and refresh tokens.
    pub jwt_secret: SecretString,
    /// `ACCESS_TOKEN_TTL_SECS`: access token lifetime in seconds.
    pub access_token_ttl_secs: i64,
    /// `REFRESH_TOKEN_TTL_SECS`: refresh token (session) lifetime in seconds.
    pub refresh_token_ttl_secs: i64,
    /// `AUTH_REQUIRE_VERIFIED_EMAIL`: refuse login until the email is verified.
    pub require_verified_email: bool,
}

/// Outgoing email.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `SMTP_URL`, e.g. `smtp://127.0.0.1:1025`; `None` = `.eml` files under
    /// `<data_dir>/mail`.
    pub smtp_url: Option<String>,
    /// `MAIL_FROM`: the sender of Parley's emails.
    pub from: String,
}

/// Sockets, SSE and presence.
#[derive(Debug, Clone)]
pub struct RealtimeSettings {
    /// `WS_HEARTBEAT_INTERVAL_MS`: how often the server pings a socket and
    /// how often clients are told to send `ping`.
    pub ws_heartbeat_interval_ms: u64,
    /// `SSE_HEARTBEAT_INTERVAL_MS`: how often an SSE stream gets a
    /// `: heartbeat` comment (seed 002 §12).
    pub sse_heartbeat_interval_ms: u64,
    /// `WS_OUTBOUND_QUEUE`: frames buffered per socket before a slow client
    /// is closed with 1013.
    pub ws_outbound_queue: usize,
    /// `WS_SLOW_CLOSE_LINGER_MS`: how long the 1013 close of a client that
    /// stopped reading waits behind the frames already queued for it
    /// before the connection is dropped (default 30000).
    pub ws_slow_close_linger_ms: u64,
    /// `WS_WRITE_DELAY_MS`: how long a socket's frames may wait for others
    /// to leave with them in one write (0, the default: each leaves at
    /// once). Latency for CPU where sockets get many frames: one write to
    /// the kernel per batch instead of per frame (issue 13, item 3).
    pub ws_write_delay_ms: u64,
    /// `ROOM_IDLE_TIMEOUT_MS`: how long a chat's room on a replica stays
    /// idle (subscribed, no local socket) before it closes (seed 003 §4;
    /// default 1800000, the document's 30 minutes).
    pub room_idle_timeout_ms: u64,
    /// `PRESENCE_TTL_SECS`: a socket counts as present this long after its
    /// replica last renewed it; a dead replica's users go offline within it.
    pub presence_ttl_secs: u64,
    /// `WS_ALLOWED_ORIGINS`: comma-separated origins allowed to open sockets
    /// and SSE streams (browsers send `Origin`); empty = any.
    pub ws_allowed_origins: String,
}

/// Rate limits (seed 004 §12); 0 turns one off.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// `MESSAGE_RATE_LIMIT_PER_MINUTE`: sends per user per minute.
    pub message_per_minute: u32,
    /// `DUPLICATE_MESSAGE_COOLDOWN_SECONDS`: the same text to the same chat
    /// again within this many seconds is refused.
    pub duplicate_message_cooldown_seconds: i64,
    /// `LOGIN_RATE_LIMIT_PER_MINUTE`: per client IP.
    pub login_per_minute: u32,
    /// `REGISTER_RATE_LIMIT_PER_MINUTE`: per client IP.
    pub register_per_minute: u32,
    /// `REFRESH_RATE_LIMIT_PER_MINUTE`: per client IP.
    pub refresh_per_minute: u32,
    /// `RESET_RATE_LIMIT_PER_MINUTE`: verification / reset flows, per IP.
    pub reset_per_minute: u32,
}

/// What the worker prunes, and how often.
#[derive(Debug, Clone)]
pub struct RetentionSettings {
    /// `CHAT_EVENTS_RETENTION_DAYS`: how long the per-chat event log keeps
    /// events; a client further behind gets `resync_required`.
    pub chat_events_days: i64,
    /// `RETENTION_INTERVAL_SECS`: how often the worker prunes.
    pub interval_secs: u64,
}

/// Attachments (seed 004 §9): where files go and the upload rules.
#[derive(Debug, Clone)]
pub struct MediaSettings {
    /// `S3_ENDPOINT`, e.g. `http://127.0.0.1:9000`; `None` = files under
    /// `<data_dir>/media` behind HMAC-signed URLs of the API itself.
    pub s3_endpoint: Option<String>,
    /// `S3_BUCKET`.
    pub s3_bucket: String,
    /// `S3_REGION`.
    pub s3_region: String,
    /// `S3_ACCESS_KEY`.
    pub s3_access_key: String,
    /// `S3_SECRET_KEY`.
    pub s3_secret_key: SecretString,
    /// `MAX_UPLOAD_SIZE_BYTES`: the largest file.
    pub max_upload_size_bytes: i64,
    /// `MEDIA_URL_TTL_SECS`: how long an upload or download URL works.
    pub url_ttl_secs: u64,
}

/// Push delivery (seed 004 §10).
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// `WEB_PUSH_VAPID_KEY_FILE`: a P-256 private key (PEM) that signs Web
    /// Push requests; `None` = web pushes are logged, not sent.
    pub vapid_key_file: Option<PathBuf>,
    /// `WEB_PUSH_SUBJECT`: the VAPID `sub` claim (`mailto:` or `https:`).
    pub subject: String,
}

/// Search (issue 10): PostgreSQL unless `MEILISEARCH_URL` is set.
#[derive(Debug, Clone)]
pub struct SearchSettings {
    /// `MEILISEARCH_URL`, e.g. `http://127.0.0.1:7700`: search messages
    /// with Meilisearch (the worker keeps its index in step); `None` =
    /// PostgreSQL, which needs nothing else.
    pub meilisearch_url: Option<String>,
    /// `MEILISEARCH_API_KEY`: a key allowed to search, index and change
    /// settings; `None` for a server without a master key.
    pub meilisearch_api_key: Option<SecretString>,
    /// `MEILISEARCH_INDEX`: the index of message documents (default
    /// `parley_messages`).
    pub meilisearch_index: String,
    /// `SEARCH_INDEX_INTERVAL_MS`: how often the worker looks for chats
    /// whose messages changed since they were last indexed (default
    /// 1000).
    pub index_interval_ms: u64,
    /// `SEARCH_TIMEOUT_MS`: the longest a search request waits for
    /// Meilisearch before answering 503 `search_unavailable` (default
    /// 5000).
    pub timeout_ms: u64,
}

/// Background jobs (bulk sends).
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// `BULK_SYNC_MAX`: a bulk send to at most this many receivers is done
    /// in the request; a larger one goes to the worker (`202 {job_id}`).
    pub bulk_sync_max: usize,
    /// `BULK_MAX_RECEIVERS`: the most receivers of one bulk send.
    pub bulk_max_receivers: usize,
    /// `JOB_LEASE_SECS`: how long a worker holds a bulk job without
    /// reporting progress before another may take it over.
    pub lease_secs: i64,
    /// `JOB_SWEEP_INTERVAL_SECS`: how often the worker re-queues jobs whose
    /// lease ran out (their worker died).
    pub sweep_interval_secs: u64,
    /// `WORKER_METRICS_BIND`: where the worker serves `GET /metrics`
    /// (behind `METRICS_TOKEN` when set); `None` = not served.
    pub metrics_bind: Option<String>,
}

/// A configuration that cannot be used; the message says which variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(String),
    #[error("configuration: {0}")]
    Source(#[from] config::ConfigError),
}

impl Settings {
    /// Reads `.env` (if present) and the process environment.
    ///
    /// Errors: a variable that does not parse, or an unsafe production
    /// setting (see [`Settings::validate`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is normal; a malformed one is worth a warning only.
        let _ = dotenvy::dotenv();
        Self::build(None)
    }

    /// Builds settings from an explicit map of lower- or upper-case variable
    /// names (as the environment would give them), over the defaults.
    /// Used by tests, which must not depend on the process environment.
    pub fn from_map(vars: HashMap<String, String>) -> Result<Self, ConfigError> {
        let vars = vars
            .into_iter()
            .map(|(k, v)| (k.to_uppercase(), v))
            .collect();
        Self::build(Some(vars))
    }

    fn build(source: Option<HashMap<String, String>>) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder();
        for (key, value) in DEFAULTS {
            builder = builder.set_default(*key, *value)?;
        }
        let env = config::Environment::default()
            .try_parsing(true)
            .source(source);
        let raw: Raw = builder.add_source(env).build()?.try_deserialize()?;
        let settings = Settings::from(raw);
        settings.validate()?;
        Ok(settings)
    }

    /// Refuses what would be unsafe: in production, the development JWT
    /// secret, a secret shorter than 32 bytes, or the file mailer.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.retention.chat_events_days < 1 || self.retention.interval_secs == 0 {
            return Err(ConfigError::Invalid(
                "CHAT_EVENTS_RETENTION_DAYS and RETENTION_INTERVAL_SECS must be at least 1".into(),
            ));
        }
        if self.media.max_upload_size_bytes < 1 || self.media.url_ttl_secs == 0 {
            return Err(ConfigError::Invalid(
                "MAX_UPLOAD_SIZE_BYTES and MEDIA_URL_TTL_SECS must be at least 1".into(),
            ));
        }
        if self.jobs.lease_secs < 1
            || self.jobs.sweep_interval_secs == 0
            || self.jobs.bulk_max_receivers == 0
        {
            return Err(ConfigError::Invalid(
                "JOB_LEASE_SECS, JOB_SWEEP_INTERVAL_SECS and BULK_MAX_RECEIVERS must be at least 1"
                    .into(),
            ));
        }
        if self.auth.access_token_ttl_secs <= 0 || self.auth.refresh_token_ttl_secs <= 0 {
            return Err(ConfigError::Invalid(
                "ACCESS_TOKEN_TTL_SECS and REFRESH_TOKEN_TTL_SECS must be positive".into(),
            ));
        }
        if self.realtime.ws_outbound_queue == 0
            || self.db.pool_size == 0
            || self.realtime.presence_ttl_secs < 2
        {
            return Err(ConfigError::Invalid(
                "WS_OUTBOUND_QUEUE and DATABASE_POOL_SIZE must be at least 1, PRESENCE_TTL_SECS at least 2".into(),
            ));
        }
        if self.env == Environment::Production {
            let secret = self.auth.jwt_secret.expose_secret();
            if secret == DEV_JWT_SECRET || secret.len() < 32 {
                return Err(ConfigError::Invalid(
                    "PARLEY_ENV=production needs JWT_SECRET set to a random value of at least 32 bytes".into(),
                ));
            }
            if self.mail.smtp_url.is_none() {
                return Err(ConfigError::Invalid(
                    "PARLEY_ENV=production needs SMTP_URL (the file mailer is for development)"
                        .into(),
                ));
            }
        }
        Ok(())
    }

    /// The origins of `WS_ALLOWED_ORIGINS`; empty = any origin.
    pub fn allowed_origins(&self) -> Vec<String> {
        self.realtime
            .ws_allowed_origins
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect()
    }

    /// The directory `.eml` files are written to when no SMTP server is set.
    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir.join("mail")
    }
}

/// Removes the password from a URL such as `postgres://user:pw@host/db`.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Printed once at start: every setting, secrets redacted.
impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = if self.auth.jwt_secret.expose_secret() == DEV_JWT_SECRET {
            "<development default>"
        } else {
            "<set>"
        };
        write!(
            f,
            "env={:?} bind={} database_url={} redis_url={} redis_cluster={} redis_prefix={} data_dir={} \
             smtp_url={} jwt_secret={} access_ttl={}s refresh_ttl={}s log_format={:?} pool={} http_workers={}",
            self.env,
            self.http.bind,
            redact_url(&self.db.url),
            self.redis
                .url
                .as_deref()
                .map(redact_url)
                .unwrap_or_else(|| "<none: in-process bus>".into()),
            if self.redis.cluster_urls.is_empty() {
                "<none>".to_owned()
            } else {
                self.redis
                    .cluster_urls
                    .iter()
                    .map(|u| redact_url(u))
                    .collect::<Vec<_>>()
                    .join(",")
            },
            self.redis.prefix,
            self.data_dir.display(),
            self.mail
                .smtp_url
                .as_deref()
                .map(redact_url)
                .unwrap_or_else(|| format!("<none: files in {}>", self.mail_dir().display())),
            secret,
            self.auth.access_token_ttl_secs,
            self.auth.refresh_token_ttl_secs,
            self.log_format,
            self.db.pool_size,
            self.http.workers,
        )
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_apply_and_empty_redis_means_none() {
        let s = Settings::from_map(vars(&[("REDIS_URL", "")])).unwrap();
        assert_eq!(s.redis.url, None);
        assert_eq!(s.http.bind, "127.0.0.1:8080");
        assert_eq!(s.auth.access_token_ttl_secs, 900);
        assert_eq!(s.env, Environment::Development);
        assert!(s.redis.cluster_urls.is_empty());
        assert_eq!(s.http.workers, 0, "0: one worker per core");
    }

    #[test]
    fn http_workers_is_read() {
        let s = Settings::from_map(vars(&[("HTTP_WORKERS", "1")])).unwrap();
        assert_eq!(s.http.workers, 1);
        assert!(s.to_string().contains("http_workers=1"));
    }

    #[test]
    fn redis_cluster_urls_are_a_comma_separated_list() {
        let s = Settings::from_map(vars(&[(
            "REDIS_CLUSTER_URLS",
            " redis://10.0.0.1:7000, redis://10.0.0.2:7000,,",
        )]))
        .unwrap();
        assert_eq!(
            s.redis.cluster_urls,
            ["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"]
        );
    }

    #[test]
    fn production_refuses_the_default_secret() {
        let err = Settings::from_map(vars(&[
            ("PARLEY_ENV", "production"),
            ("SMTP_URL", "smtp://127.0.0.1:25"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("JWT_SECRET"), "{err}");
    }

    #[test]
    fn production_refuses_the_file_mailer() {
        let err = Settings::from_map(vars(&[
            ("PARLEY_ENV", "production"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef-long"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("SMTP_URL"), "{err}");
    }

    #[test]
    fn display_redacts_secrets() {
        let s = Settings::from_map(vars(&[
            ("DATABASE_URL", "postgres://app:hunter2@db:5432/parley"),
            ("JWT_SECRET", "super-secret-value-that-is-long-enough"),
        ]))
        .unwrap();
        let shown = s.to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("super-secret"), "{shown}");
        assert!(
            shown.contains("postgres://app:***@db:5432/parley"),
            "{shown}"
        );
    }

    #[test]
    fn a_bad_number_is_an_error() {
        assert!(Settings::from_map(vars(&[("ACCESS_TOKEN_TTL_SECS", "soon")])).is_err());
    }
}
