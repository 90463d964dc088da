//! The PostgreSQL pool (diesel-async + deadpool) and the embedded migrations.

use std::time::Duration;

use diesel::ConnectionError;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
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
    // `Verified` (the default) runs `SELECT 1` at every checkout: two round
    // trips of a send's nine (issue 13's profile). A connection whose
    // socket closed or whose transaction broke is still dropped at
    // checkout (`is_broken`); one that dies unnoticed fails its query.
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::new_with_config(database_url, config);
    let pool = DbPool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(5)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()?;
    Ok(pool)
}

/// A pool of at most `size` connections for one lane of the send path
/// ([`crate::domain::send_queue::BatchQueue`]), to be built on the lane's
/// thread: a connection is driven by a task on the runtime that opened it,
/// so a lane on a one-thread runtime (an actix-web worker) that opens its
/// own keeps its queries on its thread. Its connections come on top of
/// `DATABASE_POOL_SIZE`, opened when the lane first needs them. Same
/// settings as [`build_pool`]; `shared` when the pool cannot be built.
pub fn lane_pool(shared: &DbPool, database_url: &str, size: usize) -> DbPool {
    build_pool(database_url, size).unwrap_or_else(|err| {
        tracing::warn!(
            error = format!("{err:#}"),
            "a lane's pool could not be built; it uses the shared pool"
        );
        shared.clone()
    })
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

/// `EXPLAIN <query>`: the plan PostgreSQL chooses for a diesel query with
/// its real binds, one line of text per row (load it as `String`). The
/// query-plan tests use it to keep history and catch-up reads on their
/// indexes (issue 13, item 5).
#[derive(Debug, Clone)]
pub struct Explain<Q>(pub Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        // Not worth a prepared statement: a test runs each once.
        out.unsafe_to_cache_prepared();
        out.push_sql("EXPLAIN ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Explain<Q> {
    type SqlType = diesel::sql_types::Text;
}
