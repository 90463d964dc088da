//! The variables as read (their names are the contract, ARCHITECTURE §8),
//! their defaults, and how they become the nested [`Settings`].

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use super::*;

impl From<Raw> for Settings {
    fn from(raw: Raw) -> Self {
        Settings {
            env: raw.env,
            log_format: raw.log_format,
            data_dir: raw.data_dir,
            http: HttpSettings {
                bind: raw.bind,
                workers: raw.http_workers,
                public_url: raw.public_url,
                metrics_token: raw.metrics_token.map(SecretString::from),
            },
            db: DbSettings {
                url: raw.database_url,
                pool_size: raw.database_pool_size,
            },
            redis: RedisSettings {
                url: raw.redis_url,
                cluster_urls: raw
                    .redis_cluster_urls
                    .split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(str::to_owned)
                    .collect(),
                prefix: raw.redis_prefix,
            },
            auth: AuthSettings {
                jwt_secret: raw.jwt_secret,
                access_token_ttl_secs: raw.access_token_ttl_secs,
                refresh_token_ttl_secs: raw.refresh_token_ttl_secs,
                require_verified_email: raw.auth_require_verified_email,
            },
            mail: MailSettings {
                smtp_url: raw.smtp_url,
                from: raw.mail_from,
            },
            realtime: RealtimeSettings {
                ws_heartbeat_interval_ms: raw.ws_heartbeat_interval_ms,
                sse_heartbeat_interval_ms: raw.sse_heartbeat_interval_ms,
                ws_outbound_queue: raw.ws_outbound_queue,
                ws_slow_close_linger_ms: raw.ws_slow_close_linger_ms,
                ws_write_delay_ms: raw.ws_write_delay_ms,
                room_idle_timeout_ms: raw.room_idle_timeout_ms,
                presence_ttl_secs: raw.presence_ttl_secs,
                ws_allowed_origins: raw.ws_allowed_origins,
            },
            limits: LimitSettings {
                message_per_minute: raw.message_rate_limit_per_minute,
                duplicate_message_cooldown_seconds: raw.duplicate_message_cooldown_seconds,
                login_per_minute: raw.login_rate_limit_per_minute,
                register_per_minute: raw.register_rate_limit_per_minute,
                refresh_per_minute: raw.refresh_rate_limit_per_minute,
                reset_per_minute: raw.reset_rate_limit_per_minute,
            },
            retention: RetentionSettings {
                chat_events_days: raw.chat_events_retention_days,
                interval_secs: raw.retention_interval_secs,
            },
            media: MediaSettings {
                s3_endpoint: raw.s3_endpoint,
                s3_bucket: raw.s3_bucket,
                s3_region: raw.s3_region,
                s3_access_key: raw.s3_access_key,
                s3_secret_key: raw.s3_secret_key,
                max_upload_size_bytes: raw.max_upload_size_bytes,
                url_ttl_secs: raw.media_url_ttl_secs,
            },
            push: PushSettings {
                vapid_key_file: raw.web_push_vapid_key_file.map(PathBuf::from),
                subject: raw.web_push_subject,
            },
            search: SearchSettings {
                meilisearch_url: raw.meilisearch_url,
                meilisearch_api_key: raw.meilisearch_api_key.map(SecretString::from),
                meilisearch_index: raw.meilisearch_index,
                index_interval_ms: raw.search_index_interval_ms,
                timeout_ms: raw.search_timeout_ms,
            },
            jobs: JobSettings {
                bulk_sync_max: raw.bulk_sync_max,
                bulk_max_receivers: raw.bulk_max_receivers,
                lease_secs: raw.job_lease_secs,
                sweep_interval_secs: raw.job_sweep_interval_secs,
                metrics_bind: raw.worker_metrics_bind,
            },
        }
    }
}

/// The variables as read, flat (their names are the contract); turned into
/// the nested [`Settings`] at once.
#[derive(Deserialize)]
pub(super) struct Raw {
    /// `DATABASE_URL`: PostgreSQL connection string.
    database_url: String,
    /// `REDIS_URL`: Redis; `None` (empty variable) = in-process event bus,
    /// one API replica, no worker jobs.
    #[serde(default, deserialize_with = "empty_as_none")]
    redis_url: Option<String>,
    /// `REDIS_CLUSTER_URLS`: comma-separated seed nodes of a Redis Cluster
    /// for the bus, presence, rate limits and recent messages; empty = all
    /// on `REDIS_URL`.
    redis_cluster_urls: String,
    /// `PARLEY_REDIS_PREFIX`: prefix of every Redis key and channel, so that
    /// several deployments (or tests) can share one Redis. Default `parley`.
    #[serde(rename = "parley_redis_prefix")]
    redis_prefix: String,
    /// `PARLEY_BIND`: the API's listen address, e.g. `127.0.0.1:8080`
    /// (port 0 picks a free port).
    #[serde(rename = "parley_bind")]
    bind: String,
    /// `HTTP_WORKERS`: the API's worker threads; 0 = one per CPU core.
    http_workers: usize,
    /// `PARLEY_DATA_DIR`: local files (mail in `mail/`, uploads later).
    #[serde(rename = "parley_data_dir")]
    data_dir: PathBuf,
    /// `PARLEY_ENV`.
    #[serde(rename = "parley_env")]
    env: Environment,
    /// `JWT_SECRET`: HMAC key of access and refresh tokens.
    jwt_secret: SecretString,
    /// `ACCESS_TOKEN_TTL_SECS`: access token lifetime in seconds.
    access_token_ttl_secs: i64,
    /// `REFRESH_TOKEN_TTL_SECS`: refresh token (session) lifetime in seconds.
    refresh_token_ttl_secs: i64,
    /// `SMTP_URL`, e.g. `smtp://127.0.0.1:1025`; `None` = `.eml` files under
    /// `<data_dir>/mail`.
    #[serde(default, deserialize_with = "empty_as_none")]
    smtp_url: Option<String>,
    /// `MAIL_FROM`: the sender of Parley's emails.
    mail_from: String,
    /// `PUBLIC_URL`: base of links put in emails.
    public_url: String,
    /// `METRICS_TOKEN`; empty = `/metrics` is open.
    #[serde(default, deserialize_with = "empty_as_none")]
    metrics_token: Option<String>,
    /// `LOG_FORMAT`.
    log_format: LogFormat,
    /// `DATABASE_POOL_SIZE`: connections per process.
    database_pool_size: usize,
    /// `WS_HEARTBEAT_INTERVAL_MS`: how often the server pings a socket and
    /// how often clients are told to send `ping`.
    ws_heartbeat_interval_ms: u64,
    /// `SSE_HEARTBEAT_INTERVAL_MS`: how often an SSE stream gets a
    /// `: heartbeat` comment (seed 002 §12).
    sse_heartbeat_interval_ms: u64,
    /// `WS_OUTBOUND_QUEUE`: frames buffered per socket before a slow client
    /// is closed with 1013.
    ws_outbound_queue: usize,
    /// `WS_SLOW_CLOSE_LINGER_MS`.
    ws_slow_close_linger_ms: u64,
    /// `WS_WRITE_DELAY_MS`.
    ws_write_delay_ms: u64,
    /// `ROOM_IDLE_TIMEOUT_MS`.
    room_idle_timeout_ms: u64,
    /// `PRESENCE_TTL_SECS`: a socket counts as present this long after its
    /// replica last renewed it; a dead replica's users go offline within it.
    presence_ttl_secs: u64,
    /// `CHAT_EVENTS_RETENTION_DAYS`: how long the per-chat event log keeps
    /// events; a client further behind gets `resync_required`.
    chat_events_retention_days: i64,
    /// `RETENTION_INTERVAL_SECS`: how often the worker prunes.
    retention_interval_secs: u64,
    /// `MESSAGE_RATE_LIMIT_PER_MINUTE`: sends per user per minute (0 = off).
    message_rate_limit_per_minute: u32,
    /// `DUPLICATE_MESSAGE_COOLDOWN_SECONDS`: the same text to the same chat
    /// again within this many seconds is refused (0 = off).
    duplicate_message_cooldown_seconds: i64,
    /// `LOGIN_RATE_LIMIT_PER_MINUTE`: per client IP (0 = off).
    login_rate_limit_per_minute: u32,
    /// `REGISTER_RATE_LIMIT_PER_MINUTE`: per client IP (0 = off).
    register_rate_limit_per_minute: u32,
    /// `REFRESH_RATE_LIMIT_PER_MINUTE`: per client IP (0 = off).
    refresh_rate_limit_per_minute: u32,
    /// `RESET_RATE_LIMIT_PER_MINUTE`: verification / reset flows, per IP (0 = off).
    reset_rate_limit_per_minute: u32,
    /// `WS_ALLOWED_ORIGINS`: comma-separated origins allowed to open sockets
    /// and SSE streams (browsers send `Origin`); empty = any.
    ws_allowed_origins: String,
    /// `AUTH_REQUIRE_VERIFIED_EMAIL`: refuse login until the email is verified.
    auth_require_verified_email: bool,
    /// `BULK_SYNC_MAX`: bulk sends up to this many receivers are done in
    /// the request.
    bulk_sync_max: usize,
    /// `BULK_MAX_RECEIVERS`: the most receivers of one bulk send.
    bulk_max_receivers: usize,
    /// `JOB_LEASE_SECS`: a bulk job's lease without progress.
    job_lease_secs: i64,
    /// `JOB_SWEEP_INTERVAL_SECS`: how often stale jobs are re-queued.
    job_sweep_interval_secs: u64,
    /// `WORKER_METRICS_BIND`; empty = no metrics server.
    #[serde(default, deserialize_with = "empty_as_none")]
    worker_metrics_bind: Option<String>,
    /// `S3_ENDPOINT`; empty = files on local disk.
    #[serde(default, deserialize_with = "empty_as_none")]
    s3_endpoint: Option<String>,
    /// `S3_BUCKET`.
    s3_bucket: String,
    /// `S3_REGION`.
    s3_region: String,
    /// `S3_ACCESS_KEY`.
    s3_access_key: String,
    /// `S3_SECRET_KEY`.
    s3_secret_key: SecretString,
    /// `MAX_UPLOAD_SIZE_BYTES`.
    max_upload_size_bytes: i64,
    /// `MEDIA_URL_TTL_SECS`.
    media_url_ttl_secs: u64,
    /// `WEB_PUSH_VAPID_KEY_FILE`; empty = web pushes are logged.
    #[serde(default, deserialize_with = "empty_as_none")]
    web_push_vapid_key_file: Option<String>,
    /// `WEB_PUSH_SUBJECT`.
    web_push_subject: String,
    /// `MEILISEARCH_URL`; empty = search on PostgreSQL.
    #[serde(default, deserialize_with = "empty_as_none")]
    meilisearch_url: Option<String>,
    /// `MEILISEARCH_API_KEY`; empty = none.
    #[serde(default, deserialize_with = "empty_as_none")]
    meilisearch_api_key: Option<String>,
    /// `MEILISEARCH_INDEX`.
    meilisearch_index: String,
    /// `SEARCH_INDEX_INTERVAL_MS`.
    search_index_interval_ms: u64,
    /// `SEARCH_TIMEOUT_MS`.
    search_timeout_ms: u64,
}

fn empty_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(d)?;
    Ok(value.filter(|s| !s.trim().is_empty()))
}

pub(super) const DEFAULTS: &[(&str, &str)] = &[
    ("database_url", "postgres://postgres@127.0.0.1:5432/parley"),
    ("redis_url", "redis://127.0.0.1:6379"),
    ("redis_cluster_urls", ""),
    ("parley_redis_prefix", "parley"),
    ("parley_bind", "127.0.0.1:8080"),
    ("http_workers", "0"),
    ("parley_data_dir", "./data"),
    ("parley_env", "development"),
    ("jwt_secret", DEV_JWT_SECRET),
    ("access_token_ttl_secs", "900"),
    ("refresh_token_ttl_secs", "2592000"),
    ("smtp_url", ""),
    ("mail_from", "Parley <no-reply@parley.localhost>"),
    ("public_url", "http://127.0.0.1:8080"),
    ("metrics_token", ""),
    ("log_format", "pretty"),
    ("database_pool_size", "16"),
    ("ws_heartbeat_interval_ms", "25000"),
    ("ws_outbound_queue", "1024"),
    ("ws_slow_close_linger_ms", "30000"),
    ("ws_write_delay_ms", "0"),
    ("room_idle_timeout_ms", "1800000"),
    ("sse_heartbeat_interval_ms", "15000"),
    ("presence_ttl_secs", "45"),
    ("chat_events_retention_days", "30"),
    ("retention_interval_secs", "3600"),
    ("auth_require_verified_email", "false"),
    ("message_rate_limit_per_minute", "600"),
    ("duplicate_message_cooldown_seconds", "0"),
    ("login_rate_limit_per_minute", "30"),
    ("register_rate_limit_per_minute", "20"),
    ("refresh_rate_limit_per_minute", "60"),
    ("reset_rate_limit_per_minute", "10"),
    ("ws_allowed_origins", ""),
    ("bulk_sync_max", "20"),
    ("bulk_max_receivers", "10000"),
    ("job_lease_secs", "30"),
    ("job_sweep_interval_secs", "10"),
    ("worker_metrics_bind", "127.0.0.1:9091"),
    ("s3_endpoint", ""),
    ("s3_bucket", "parley"),
    ("s3_region", "us-east-1"),
    ("s3_access_key", ""),
    ("s3_secret_key", ""),
    ("max_upload_size_bytes", "26214400"),
    ("media_url_ttl_secs", "900"),
    ("web_push_vapid_key_file", ""),
    ("web_push_subject", "mailto:admin@parley.localhost"),
    ("meilisearch_url", ""),
    ("meilisearch_api_key", ""),
    ("meilisearch_index", "parley_messages"),
    ("search_index_interval_ms", "1000"),
    ("search_timeout_ms", "5000"),
];
