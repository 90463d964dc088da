//! The PostgreSQL pool (diesel-async + deadpool) and the embedded migrations.

use std::time::Duration;

use diesel::ConnectionError;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

pub use diesel_async::pooled_connection::deadpool::PoolError;

/// The pool every process shares; cheap to clone.
pub type DbPool = diesel_async::pooled_connection::deadpool::Pool<AsyncPgConnection>;
/// A connection checked out of [`DbPool`].
pub type DbConn = diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>;

/// Every migration under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// A statement running longer than this is cancelled by PostgreSQL.
const STATEMENT_TIMEOUT_MS: u64 = 30_000;

fn establish(url: &str) -> BoxFuture<'_, diesel::ConnectionResult<AsyncPgConnection>> {
    async move {
        let mut conn = AsyncPgConnection::establish(url).await?;
        conn.batch_execute(&format!(
            "SET statement_timeout = {STATEMENT_TIMEOUT_MS}; SET application_name = 'parley'"
        ))
        .await
        .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
        Ok(conn)
    }
    .boxed()
}

/// Builds the pool (`max_size` connections, 5 s to wait for one). Connects
/// lazily: an unreachable database shows up as 503s and in `/health/ready`.
pub fn build_pool(database_url: &str, max_size: usize) -> anyhow::Result<DbPool> {
    let mut config = ManagerConfig::default();
    config.custom_setup = Box::new(establish);
    let manager = AsyncDieselConnectionManager::new_with_config(database_url, config);
    let pool = DbPool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(5)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()?;
    Ok(pool)
}

/// Applies every pending migration and returns their names.
pub async fn run_migrations(database_url: &str) -> anyhow::Result<Vec<String>> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        use diesel::Connection;
        use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
        let mut conn = <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(&url)?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
        Ok(applied.iter().map(|m| m.to_string()).collect())
    })
    .await?
}

/// `SELECT 1` within `timeout`: the readiness probe's database check.
pub async fn ping(pool: &DbPool, timeout: Duration) -> bool {
    let check = async {
        let mut conn = pool.get().await.ok()?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await.ok()
    };
    matches!(tokio::time::timeout(timeout, check).await, Ok(Some(_)))
}

/// How many times [`crate::transaction!`] runs a transaction that lost a
/// race (deadlock or serialization failure) before it answers
/// [`crate::AppError::Contention`].
pub const TRANSACTION_ATTEMPTS: u32 = 4;

/// Waits a little before the next attempt of a transaction that lost a race:
/// 5–20 ms, growing with `attempt`, with jitter so that the racers part.
pub async fn contention_backoff(attempt: u32) {
    use rand::Rng;
    let base = 5 * u64::from(attempt.min(4));
    let jitter = rand::rng().random_range(0..=base);
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

/// `transaction!(conn, async |conn| { ... })`: runs the body in one
/// transaction of `conn` (an `AsyncPgConnection` or a pooled one) and
/// returns its `AppResult`. A transaction that fails with a deadlock or a
/// serialization failure is rolled back and run again, up to
/// [`db::TRANSACTION_ATTEMPTS`](crate::db::TRANSACTION_ATTEMPTS) times;
/// after that the caller gets [`AppError::Contention`](crate::AppError)
/// (503), never a 500. The body may therefore run more than once: it must
/// only borrow what it captures, and publish nothing before commit.
///
/// A macro rather than a function because diesel-async's transaction takes
/// an `async` closure whose future must be `Send`, a bound an `AsyncFnMut`
/// parameter cannot state on stable Rust.
#[macro_export]
macro_rules! transaction {
    ($conn:expr, async |$c:ident| $body:block) => {{
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let result = diesel_async::AsyncConnection::transaction::<_, $crate::AppError, _>(
                &mut *$conn,
                async |$c| $body,
            )
            .await;
            match result {
                Err($crate::AppError::Contention) if attempt < $crate::db::TRANSACTION_ATTEMPTS => {
                    tracing::debug!(attempt, "transaction lost a race; retrying");
                    $crate::db::contention_backoff(attempt).await;
                }
                other => break other,
            }
        }
    }};
}
