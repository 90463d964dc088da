//! Test databases: the admin connection, the template migrated once per
//! migration set, and [`TestDatabase`], a fresh clone for each test.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use tokio::sync::OnceCell;
use uuid::Uuid;

/// The admin connection string for creating and dropping test databases.
pub fn admin_database_url() -> String {
    std::env::var("PARLEY_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `admin_database_url()` with its database replaced by `name`.
pub fn database_url(name: &str) -> String {
    let admin = admin_database_url();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    format!("{base}/{name}")
}

async fn admin_conn() -> Result<AsyncPgConnection> {
    AsyncPgConnection::establish(&admin_database_url())
        .await
        .context("connect to PostgreSQL (is it running? see README)")
}

/// A name that identifies the migration set, so a changed migration gets a
/// fresh template.
fn template_name() -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut entries: Vec<PathBuf> = walk(&dir);
    entries.sort();
    let mut hasher = DefaultHasher::new();
    for path in entries {
        path.strip_prefix(&dir).ok().hash(&mut hasher);
        std::fs::read(&path).unwrap_or_default().hash(&mut hasher);
    }
    format!("parley_tpl_{:016x}", hasher.finish())
}

fn walk(dir: &PathBuf) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(read) = std::fs::read_dir(dir) {
        for entry in read.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// The migrated template database, created once (under an advisory lock, so
/// that concurrent test processes agree).
async fn template() -> Result<String> {
    TEMPLATE
        .get_or_try_init(|| async {
            let name = template_name();
            let mut admin = admin_conn().await?;
            admin
                .batch_execute("SELECT pg_advisory_lock(872201)")
                .await?;
            let result = async {
                let exists = database_exists(&mut admin, &name).await?;
                if !exists {
                    let building = format!("{name}_build");
                    admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
                        .await?;
                    admin
                        .batch_execute(&format!("CREATE DATABASE {building}"))
                        .await?;
                    parley_shared::infra::db::run_migrations(&database_url(&building)).await?;
                    admin
                        .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}"))
                        .await?;
                }
                drop_stale_test_databases(&mut admin).await?;
                Ok::<_, anyhow::Error>(())
            }
            .await;
            admin
                .batch_execute("SELECT pg_advisory_unlock(872201)")
                .await?;
            result?;
            Ok(name)
        })
        .await
        .cloned()
}

async fn database_exists(admin: &mut AsyncPgConnection, name: &str) -> Result<bool> {
    use diesel::sql_types::{Bool, Text};
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = Bool)]
        exists: bool,
    }
    let row: Exists = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<Text, _>(name),
        admin,
    )
    .await?;
    Ok(row.exists)
}

/// Drops test databases left by runs that were killed (older than 3 hours).
async fn drop_stale_test_databases(admin: &mut AsyncPgConnection) -> Result<()> {
    use diesel::sql_types::Text;
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        datname: String,
    }
    let names: Vec<Name> = diesel_async::RunQueryDsl::load(
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'parley_t\\_%'"),
        admin,
    )
    .await?;
    let now = chrono::Utc::now().timestamp();
    for Name { datname } in names {
        let created = datname
            .split('_')
            .nth(2)
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(now);
        if now - created > 3 * 3600 {
            let _ = admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)"))
                .await;
        }
    }
    Ok(())
}

/// A database of one test, cloned from the template; dropped with it.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    /// A fresh, migrated database.
    pub async fn create() -> Result<TestDatabase> {
        let template = template().await?;
        let name = format!(
            "parley_t_{}_{}",
            chrono::Utc::now().timestamp(),
            Uuid::new_v4().simple()
        );
        let mut admin = admin_conn().await?;
        // Concurrent clones of one template can collide briefly; retry.
        let mut attempt = 0;
        loop {
            match admin
                .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
                .await
            {
                Ok(()) => break,
                Err(err) if attempt < 20 => {
                    attempt += 1;
                    tracing_note(&format!("create database retry: {err}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => return Err(err.into()),
            }
        }
        Ok(TestDatabase {
            url: database_url(&name),
            name,
        })
    }

    /// An empty database (no migrations), for migration tests.
    pub async fn create_empty() -> Result<TestDatabase> {
        let name = format!(
            "parley_t_{}_{}",
            chrono::Utc::now().timestamp(),
            Uuid::new_v4().simple()
        );
        let mut admin = admin_conn().await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        Ok(TestDatabase {
            url: database_url(&name),
            name,
        })
    }

    /// A connection to this database.
    pub async fn connect(&self) -> Result<AsyncPgConnection> {
        Ok(AsyncPgConnection::establish(&self.url).await?)
    }
}

fn tracing_note(msg: &str) {
    if std::env::var_os("PARLEY_TEST_VERBOSE").is_some() {
        eprintln!("{msg}");
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime; use a thread of our own.
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut admin) = admin_conn().await {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        });
        let _ = handle.join();
    }
}
