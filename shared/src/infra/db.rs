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

/// A statement of fixed text that each connection prepares once and then
/// only binds and runs: diesel's statement cache keys it by its text.
/// diesel prepares anew at every call each `sql_query`, each `UPDATE`
/// and each multi-row `INSERT` (their text may vary), so PostgreSQL
/// parses and plans them every time; a group commit's statements, written
/// over `unnest` of one array per column, have one text for every batch
/// size (issue 13: parsing and planning were about a fifth of
/// PostgreSQL's CPU on the send path; docs/benchmarks.md).
///
/// Parameters are `$1`, `$2`… bound with [`CachedSql::bind`] in that
/// order, each written once in the text and in that order (no other `$`
/// followed by a digit: diesel numbers them itself); rows load by
/// column name (`QueryableByName`), as `sql_query`'s do. Only for text
/// known when compiling: every distinct text stays prepared on every
/// connection that ran it.
#[derive(Debug, Clone, Copy)]
pub struct CachedSql(pub &'static str);

impl CachedSql {
    /// Binds `$1`, of SQL type `ST`.
    pub fn bind<ST, V>(self, value: V) -> CachedSqlBind<Self, V, ST> {
        CachedSqlBind::new(self, value)
    }
}

impl QueryFragment<Pg> for CachedSql {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        out.push_sql(self.0);
        Ok(())
    }
}

impl QueryId for CachedSql {
    type QueryId = ();
    // Not one id for the type: each text is a statement of its own.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for CachedSql {
    type SqlType = diesel::sql_types::Untyped;
}

/// A [`CachedSql`] with its parameters so far: `value`, of SQL type `ST`,
/// is the one after those of `query`.
#[derive(Debug, Clone, Copy)]
pub struct CachedSqlBind<Q, V, ST> {
    query: Q,
    value: V,
    sql_type: std::marker::PhantomData<ST>,
}

impl<Q, V, ST> CachedSqlBind<Q, V, ST> {
    fn new(query: Q, value: V) -> Self {
        CachedSqlBind {
            query,
            value,
            sql_type: std::marker::PhantomData,
        }
    }

    /// Binds the next parameter, of SQL type `ST2`.
    pub fn bind<ST2, V2>(self, value: V2) -> CachedSqlBind<Self, V2, ST2> {
        CachedSqlBind::new(self, value)
    }
}

/// The text and parameters of a [`CachedSql`] up to its last parameter.
/// diesel writes each bound parameter's `$n` itself, so the text is
/// written in pieces around its placeholders, in one pass: up to each
/// placeholder by the node that binds it, the rest by the outermost node.
pub trait Parameters {
    /// The statement's whole text.
    fn text(&self) -> &'static str;
    /// Writes the text up to the last bound parameter, that parameter
    /// included; returns where the text goes on after its placeholder.
    fn walk_parameters<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<usize>;
}

impl Parameters for CachedSql {
    fn text(&self) -> &'static str {
        self.0
    }

    fn walk_parameters<'b>(&'b self, _: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<usize> {
        Ok(0)
    }
}

impl<Q, V, ST> Parameters for CachedSqlBind<Q, V, ST>
where
    Q: Parameters,
    Pg: diesel::sql_types::HasSqlType<ST>,
    V: diesel::serialize::ToSql<ST, Pg>,
{
    fn text(&self) -> &'static str {
        self.query.text()
    }

    fn walk_parameters<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<usize> {
        let from = self.query.walk_parameters(out.reborrow())?;
        let text = self.text();
        let (at, end) = next_placeholder(text, from).ok_or_else(|| {
            diesel::result::Error::QueryBuilderError(
                "more parameters bound than the statement's text has".into(),
            )
        })?;
        out.push_sql(&text[from..at]);
        out.push_bind_param::<ST, V>(&self.value)?;
        Ok(end)
    }
}

impl<Q, V, ST> QueryFragment<Pg> for CachedSqlBind<Q, V, ST>
where
    Self: Parameters,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        let from = self.walk_parameters(out.reborrow())?;
        out.push_sql(&self.text()[from..]);
        Ok(())
    }
}

impl<Q, V, ST> QueryId for CachedSqlBind<Q, V, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, V, ST> Query for CachedSqlBind<Q, V, ST> {
    type SqlType = diesel::sql_types::Untyped;
}

/// The first placeholder (`$` and digits) in `text` from byte `from`:
/// where it starts and where it ends.
fn next_placeholder(text: &str, from: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut at = from;
    while let Some(found) = text[at..].find('$') {
        let start = at + found;
        let digits = bytes[start + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits > 0 {
            return Some((start, start + 1 + digits));
        }
        at = start + 1;
    }
    None
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

#[cfg(test)]
mod tests {
    use super::next_placeholder;

    #[test]
    fn placeholders_are_found_whole_and_in_order() {
        let text = "SELECT $1::jsonb ? 'a', $10, $2 FROM t";
        // `$10` is one placeholder; `?` and text between are not.
        assert_eq!(next_placeholder(text, 0), Some((7, 9)));
        assert_eq!(next_placeholder(text, 9), Some((24, 27)));
        assert_eq!(next_placeholder(text, 27), Some((29, 31)));
        assert_eq!(next_placeholder(text, 31), None);
        assert_eq!(next_placeholder("a $ b", 0), None);
    }
}
