//! In-process apps: [`TestApp`], its [`Worker`] and [`Replica`]s, and the
//! per-test environment they run with (Redis prefix, scratch dir, ports).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use uuid::Uuid;

use crate::db::TestDatabase;
use crate::http::Api;
use crate::processes::RedisServer;
use parley_shared::infra::connect_redis;
use parley_shared::infra::redis_conn::{RedisConn, connect_cluster};
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};

/// The Redis tests use.
pub fn redis_url() -> String {
    std::env::var("PARLEY_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The seed URLs (comma-separated) of the Redis Cluster tests use:
/// `PARLEY_TEST_REDIS_CLUSTER`, else the three local nodes `scripts/test`
/// starts (`ensure_redis_cluster` in `scripts/services.sh`).
pub fn redis_cluster_urls() -> String {
    std::env::var("PARLEY_TEST_REDIS_CLUSTER").unwrap_or_else(|_| {
        "redis://127.0.0.1:7101,redis://127.0.0.1:7102,redis://127.0.0.1:7103".to_owned()
    })
}

/// `true` when `PARLEY_TEST_ON_CLUSTER=1`: every app of this run keeps its
/// live state on the Redis Cluster (`scripts/test` runs the Redis-facing
/// tests once more so).
pub fn on_cluster() -> bool {
    std::env::var("PARLEY_TEST_ON_CLUSTER").is_ok_and(|v| v == "1")
}

/// A Redis prefix of its own for one test.
pub fn redis_prefix() -> String {
    format!("t{}", Uuid::new_v4().simple())
}

/// A scratch directory under the system temp dir.
pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir()
        .join("parley-tests")
        .join(Uuid::new_v4().simple().to_string());
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// A port that was free a moment ago (bind 0, read it back, release it).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// Environment (as `Settings` variables) for an app on `db` with `prefix`
/// (with `REDIS_CLUSTER_URLS` when [`on_cluster`]).
pub fn base_env(
    db: &TestDatabase,
    prefix: &str,
    data_dir: &std::path::Path,
) -> HashMap<String, String> {
    let cluster = if on_cluster() {
        redis_cluster_urls()
    } else {
        String::new()
    };
    HashMap::from([
        ("REDIS_CLUSTER_URLS".into(), cluster),
        ("DATABASE_URL".into(), db.url.clone()),
        ("REDIS_URL".into(), redis_url()),
        ("PARLEY_REDIS_PREFIX".into(), prefix.to_owned()),
        ("PARLEY_BIND".into(), "127.0.0.1:0".into()),
        ("PARLEY_DATA_DIR".into(), data_dir.display().to_string()),
        ("DATABASE_POOL_SIZE".into(), "8".into()),
        ("LOG_FORMAT".into(), "pretty".into()),
        // In-process workers serve no metrics (they would share a port);
        // tests/…/metrics.rs gives a worker process one.
        ("WORKER_METRICS_BIND".into(), String::new()),
    ])
}

/// An in-process API replica on its own database and Redis prefix.
pub struct TestApp {
    pub api: Api,
    pub port: u16,
    pub prefix: String,
    pub data_dir: PathBuf,
    pub env: HashMap<String, String>,
    /// The replica's hub, to observe its sockets.
    pub hub: std::sync::Arc<parley_api::realtime::hub::Hub>,
    // Dropped last: the server must let go of its connections first.
    pub db: TestDatabase,
}

impl TestApp {
    /// An app with Redis, a fresh database and default settings.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// An app whose environment `adjust` may change first.
    pub async fn spawn_with(adjust: impl FnOnce(&mut HashMap<String, String>)) -> TestApp {
        let db = TestDatabase::create().await.expect("test database");
        let prefix = redis_prefix();
        let data_dir = temp_dir();
        let mut env = base_env(&db, &prefix, &data_dir);
        adjust(&mut env);
        let settings = parley_shared::Settings::from_map(env.clone()).expect("settings");
        let app = parley_api::Application::build(settings)
            .await
            .expect("build app");
        let port = app.port();
        let hub = app.hub();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            api: Api::new(format!("http://127.0.0.1:{port}")),
            port,
            prefix,
            data_dir,
            env,
            hub,
            db,
        }
    }
}

impl TestApp {
    /// This app's settings, as it was built with them.
    pub fn settings(&self) -> parley_shared::Settings {
        parley_shared::Settings::from_map(self.env.clone()).expect("settings")
    }

    /// `access_token` (a valid access token of this app) signed again with
    /// this app's key after `adjust` changed its claims: e.g. an `exp` in the
    /// past, for an expired token of a live session without waiting for one
    /// to expire.
    pub fn resign_access_token(
        &self,
        access_token: &str,
        adjust: impl FnOnce(&mut parley_shared::infra::tokens::Claims),
    ) -> String {
        use parley_shared::infra::tokens::{TokenKeys, TokenKind};
        use secrecy::ExposeSecret;
        let settings = self.settings();
        let mut claims = TokenKeys::from_settings(&settings)
            .verify(access_token, TokenKind::Access)
            .expect("a valid access token");
        adjust(&mut claims);
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(
                settings.auth.jwt_secret.expose_secret().as_bytes(),
            ),
        )
        .expect("sign a token")
    }

    /// An app on a Redis server of its own (everything on it, the live
    /// state too), which the test may stop and restart in place
    /// (`RedisServer::start_on(redis.port)`).
    pub async fn spawn_with_redis() -> (TestApp, RedisServer) {
        let redis = RedisServer::start().await.expect("redis-server");
        let url = redis.url();
        let app = Self::spawn_with(|env| {
            env.insert("REDIS_URL".into(), url);
            env.insert("REDIS_CLUSTER_URLS".into(), String::new());
        })
        .await;
        (app, redis)
    }

    /// An app whose live state (bus, presence, rate limits, recent
    /// messages) is on the Redis Cluster, whatever [`on_cluster`] says.
    pub async fn spawn_on_cluster() -> TestApp {
        Self::spawn_with(|env| {
            env.insert("REDIS_CLUSTER_URLS".into(), redis_cluster_urls());
        })
        .await
    }

    /// A connection to this app's live-state Redis: its cluster, or
    /// `REDIS_URL`'s server.
    pub async fn live_redis(&self) -> RedisConn {
        let settings = self.settings();
        if settings.redis.cluster_urls.is_empty() {
            let url = settings.redis.url.expect("the app has Redis");
            RedisConn::Single(connect_redis(&url).await.expect("connect to Redis"))
        } else {
            RedisConn::Cluster(
                connect_cluster(&settings.redis.cluster_urls)
                    .await
                    .expect("connect to the Redis Cluster"),
            )
        }
    }

    /// How many connections subscribe to the app's pub/sub `channel`:
    /// `PUBSUB NUMSUB`, or on a cluster `PUBSUB SHARDNUMSUB` asked of the
    /// node that holds the channel's slot (sharded pub/sub counts there).
    pub async fn channel_subscribers(&self, channel: &str) -> i64 {
        let answer = match self.live_redis().await {
            RedisConn::Single(mut conn) => redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(channel)
                .query_async(&mut conn)
                .await
                .expect("PUBSUB NUMSUB"),
            RedisConn::Cluster(_) => {
                let mut cmd = redis::cmd("PUBSUB");
                cmd.arg("SHARDNUMSUB").arg(channel);
                self.ask_node_of(channel, cmd).await
            }
        };
        let (_, count): (String, i64) =
            redis::from_redis_value(answer).expect("a channel and a count");
        count
    }

    /// Runs `cmd` on the cluster node (primary) that holds `key`'s slot.
    pub async fn ask_node_of(&self, key: &str, cmd: redis::Cmd) -> redis::Value {
        let RedisConn::Cluster(mut conn) = self.live_redis().await else {
            panic!("the app is not on the Redis Cluster");
        };
        let node = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::with_key(
            key,
            SlotAddr::Master,
        )));
        conn.route_command(cmd, node)
            .await
            .unwrap_or_else(|err| panic!("on the node of {key}: {err}"))
    }

    /// Runs `parley-admin <command>` (the real binary) with the app's
    /// settings and waits for it; panics with its stderr if it fails.
    pub async fn run_admin_command(&self, command: &str) {
        let output = tokio::process::Command::new(crate::bin_path("parley-admin"))
            .arg(command)
            .env_clear()
            .envs(&self.env)
            .output()
            .await
            .expect("run parley-admin");
        assert!(
            output.status.success(),
            "parley-admin {command}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Starts a `parley-worker` in this process with the app's settings.
    pub fn start_worker(&self) -> Worker {
        let settings = parley_shared::Settings::from_map(self.env.clone()).expect("settings");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(parley_worker::run_until(settings, async move {
            let _ = stopped.await;
            Ok(())
        }));
        Worker { stop, task }
    }
}

/// A worker started by [`TestApp::start_worker`].
pub struct Worker {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Worker {
    /// Asks it to stop and waits (15 s at most) for a clean exit.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("the worker stops within 15 s")
            .expect("the worker task")
            .expect("the worker exits cleanly");
    }
}

/// A second in-process replica of a [`TestApp`]: same database, same Redis
/// prefix, its own port and hub.
pub struct Replica {
    pub api: Api,
    pub hub: std::sync::Arc<parley_api::realtime::hub::Hub>,
}

impl TestApp {
    /// Starts another replica of this app (on a port of its own, whatever
    /// `PARLEY_BIND` the app was given).
    pub async fn replica(&self) -> Replica {
        let mut env = self.env.clone();
        env.insert("PARLEY_BIND".into(), "127.0.0.1:0".into());
        let settings = parley_shared::Settings::from_map(env).expect("settings");
        let app = parley_api::Application::build(settings)
            .await
            .expect("build replica");
        let port = app.port();
        let hub = app.hub();
        tokio::spawn(app.run_until_stopped());
        Replica {
            api: Api::new(format!("http://127.0.0.1:{port}")),
            hub,
        }
    }
}
