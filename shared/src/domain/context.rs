//! [`AppContext`]: what every domain operation needs (database, event bus,
//! token keys, job queue, mailer). Built once per process; cheap to clone.

use std::sync::Arc;

use redis::aio::ConnectionManager;

use crate::config::Settings;
use crate::domain::send_queue::SendQueue;
use crate::domain::session_checks::SessionChecks;
use crate::infra::bus::{BusSink, EventBus};
use crate::infra::db::DbPool;
use crate::infra::jobs::JobQueue;
use crate::infra::mail::Mailer;
use crate::infra::meili::MeiliIndex;
use crate::infra::presence_store::Presence;
use crate::infra::push::Pusher;
use crate::infra::ratelimit::RateLimits;
use crate::infra::recent_cache::RecentCache;
use crate::infra::redis_conn::{RedisConn, connect_cluster};
use crate::infra::storage::ObjectStore;
use crate::infra::tokens::TokenKeys;

/// Shared services of one process. API handlers, socket frames and worker
/// jobs all call domain functions with it, so one rule has one home.
#[derive(Clone)]
pub struct AppContext {
    pub settings: Arc<Settings>,
    pub db: DbPool,
    /// `REDIS_URL`'s server: the job queue's; `None` without `REDIS_URL`.
    pub redis: Option<ConnectionManager>,
    /// The Redis of live state (the bus, presence, rate limits, recent
    /// messages): the Redis Cluster of `REDIS_CLUSTER_URLS`, else
    /// `REDIS_URL`'s server; `None` without either.
    pub live: Option<RedisConn>,
    pub bus: EventBus,
    pub tokens: Arc<TokenKeys>,
    /// The job queue; `None` without Redis (emails are then sent inline).
    pub jobs: Option<JobQueue>,
    pub mailer: Mailer,
    pub presence: Arc<Presence>,
    pub limits: RateLimits,
    /// Where attachments are stored (S3, or the local default).
    pub storage: ObjectStore,
    /// Push delivery to devices.
    pub push: Pusher,
    /// The Meilisearch index when `MEILISEARCH_URL` is set; `None` =
    /// search on PostgreSQL.
    pub meili: Option<MeiliIndex>,
    /// Chats' recent messages in Redis ([`crate::domain::recent`]); `None`
    /// without Redis.
    pub recent: Option<RecentCache>,
    /// Sends waiting to be written together
    /// ([`crate::domain::group_commit`]).
    pub sends: SendQueue,
    /// Session checks of concurrent requests, one query per batch
    /// ([`crate::domain::session_checks`]).
    pub sessions: SessionChecks,
}

impl AppContext {
    /// Builds the context: the pool (lazy), Redis and the Redis Cluster
    /// (required when configured), the bus, the job queue and the mailer. With `sink`, the
    /// bus also subscribes (an API replica) and hands arriving events to it;
    /// without, it only publishes (the worker).
    pub async fn build(settings: Settings, sink: Option<BusSink>) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        let db = crate::infra::db::build_pool(&settings.db.url, settings.db.pool_size)?;
        let redis = match &settings.redis.url {
            Some(url) => Some(crate::infra::connect_redis(url).await?),
            None => None,
        };
        let live = if settings.redis.cluster_urls.is_empty() {
            redis.clone().map(RedisConn::Single)
        } else {
            Some(RedisConn::Cluster(
                connect_cluster(&settings.redis.cluster_urls).await?,
            ))
        };
        let bus = match &live {
            Some(conn) => EventBus::redis(&settings.redis, conn.clone(), sink).await?,
            None => EventBus::local(&settings.redis.prefix, sink),
        };
        let jobs = redis
            .as_ref()
            .map(|conn| JobQueue::new(conn.clone(), &settings.redis.prefix));
        let mailer = Mailer::from_settings(&settings)?;
        let presence = Arc::new(Presence::new(
            live.clone(),
            &settings.redis.prefix,
            std::time::Duration::from_secs(settings.realtime.presence_ttl_secs),
        ));
        let storage = ObjectStore::from_settings(&settings);
        if let ObjectStore::S3(s3) = &storage
            && let Err(err) = s3.ensure_bucket().await
        {
            // Not fatal: S3 may come up later; uploads fail until it does.
            tracing::warn!(error = format!("{err:#}"), "S3 bucket not ready");
        }
        let push = Pusher::from_settings(&settings)?;
        let meili = MeiliIndex::from_settings(&settings.search)?;
        let recent = live
            .as_ref()
            .map(|conn| RecentCache::new(conn.clone(), &settings.redis.prefix));
        Ok(AppContext {
            sends: SendQueue::default(),
            sessions: SessionChecks::new(db.clone(), &settings.db.url),
            recent,
            meili,
            push,
            storage,
            limits: RateLimits::from_settings(&settings, live.clone()),
            presence,
            tokens: Arc::new(TokenKeys::from_settings(&settings)),
            settings,
            db,
            redis,
            live,
            bus,
            jobs,
            mailer,
        })
    }
}
