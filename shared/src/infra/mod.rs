//! Infrastructure: the adapters to PostgreSQL, Redis, SMTP and the job
//! queue. Nothing here knows about chats or users' rules: this layer imports
//! nothing from [`crate::domain`] or [`crate::wire`] (a test holds it to
//! that, `tests/tests/integration/layers.rs`).

pub mod bus;
pub mod db;
pub mod jobs;
pub mod mail;
pub mod meili;
pub mod pg_enum;
pub mod presence_store;
pub mod push;
pub mod ratelimit;
pub mod recent_cache;
pub mod redis_conn;
pub mod schema;
pub mod sql_types;
pub mod storage;
pub mod tokens;

use redis::aio::ConnectionManager;

/// Opens the shared Redis connection (it reconnects by itself later).
///
/// Errors: Redis is unreachable now.
pub async fn connect_redis(url: &str) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url)?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(std::time::Duration::from_secs(3)))
        .set_response_timeout(Some(std::time::Duration::from_secs(5)))
        .set_number_of_retries(2);
    Ok(ConnectionManager::new_with_config(client, config).await?)
}
