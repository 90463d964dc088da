//! Test support for Parley's black-box tests: real PostgreSQL, real Redis,
//! the real app (in-process through [`parley_api::Application`], or the real
//! binaries as child processes), real HTTP and WebSocket clients.
//!
//! Isolation (STYLE.md, Tests): each test gets its own database, cloned from
//! a template that is migrated once per migration set, and its own Redis key
//! and channel prefix. Nothing is shared between tests, so they run in
//! parallel.
//!
//! Services: `PARLEY_TEST_DATABASE_URL` (an admin connection, default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and `PARLEY_TEST_REDIS_URL`
//! (default `redis://127.0.0.1:6379`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::OnceCell;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

/// The admin connection string for creating and dropping test databases.
pub fn admin_database_url() -> String {
    std::env::var("PARLEY_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The Redis tests use.
pub fn redis_url() -> String {
    std::env::var("PARLEY_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
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

/// Environment (as `Settings` variables) for an app on `db` with `prefix`.
pub fn base_env(
    db: &TestDatabase,
    prefix: &str,
    data_dir: &std::path::Path,
) -> HashMap<String, String> {
    HashMap::from([
        ("DATABASE_URL".into(), db.url.clone()),
        ("REDIS_URL".into(), redis_url()),
        ("PARLEY_REDIS_PREFIX".into(), prefix.to_owned()),
        ("PARLEY_BIND".into(), "127.0.0.1:0".into()),
        ("PARLEY_DATA_DIR".into(), data_dir.display().to_string()),
        ("DATABASE_POOL_SIZE".into(), "8".into()),
        ("LOG_FORMAT".into(), "pretty".into()),
    ])
}

/// An HTTP client for one API base URL. Answers are `(status, json)`; a
/// body that is not JSON comes back as `Value::Null`.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
}

impl Api {
    pub fn new(base: impl Into<String>) -> Api {
        Api {
            base: base.into(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("reqwest client"),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = req.send().await.expect("request failed to send");
        let status = resp.status();
        let bytes = resp.bytes().await.unwrap_or_default();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    fn with_token(req: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::RequestBuilder {
        match token {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let req = self.client.get(format!("{}{path}", self.base));
        self.send(Self::with_token(req, token)).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        let req = self.client.post(format!("{}{path}", self.base)).json(body);
        self.send(Self::with_token(req, token)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        let req = self.client.put(format!("{}{path}", self.base)).json(body);
        self.send(Self::with_token(req, token)).await
    }

    pub async fn patch_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> (StatusCode, Value) {
        let req = self.client.patch(format!("{}{path}", self.base)).json(body);
        self.send(Self::with_token(req, token)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let req = self.client.delete(format!("{}{path}", self.base));
        self.send(Self::with_token(req, token)).await
    }

    /// A POST with a raw body and content type.
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        self.send(Self::with_token(req, token)).await
    }

    /// Registers `username` (email `<username>@example.com`, password
    /// `password-<username>`) and logs in.
    pub async fn register_and_login(&self, username: &str) -> TestUser {
        let email = format!("{username}@example.com");
        let password = format!("password-{username}");
        let (status, body) = self
            .post(
                "/api/v1/auth/register",
                None,
                &json!({ "email": email, "name": username, "username": username, "password": password }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "register {username}: {body}");
        let id = body["user"]["id"].as_i64().expect("user id");
        let tokens = self.login(&email, &password).await;
        TestUser {
            id,
            email,
            password,
            access_token: tokens["access_token"].as_str().expect("access").to_owned(),
            refresh_token: tokens["refresh_token"]
                .as_str()
                .expect("refresh")
                .to_owned(),
        }
    }

    /// Logs in; panics unless 200.
    pub async fn login(&self, email: &str, password: &str) -> Value {
        let (status, body) = self
            .post(
                "/api/v1/auth/login",
                None,
                &json!({ "email": email, "password": password }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {email}: {body}");
        body
    }

    /// Two new users and their private chat: `(a, b, chat_id)`.
    pub async fn pair(&self, a: &str, b: &str) -> (TestUser, TestUser, i64) {
        let a = self.register_and_login(a).await;
        let b = self.register_and_login(b).await;
        let chat = self.private_chat(&a, &b).await;
        (a, b, chat)
    }

    /// Creates a private chat of `a` with `b`; returns its id.
    pub async fn private_chat(&self, a: &TestUser, b: &TestUser) -> i64 {
        let (status, body) = self
            .post(
                "/api/v1/chats",
                Some(&a.access_token),
                &json!({ "type": "private", "member_ids": [b.id] }),
            )
            .await;
        assert!(status.is_success(), "create chat: {status} {body}");
        body["id"].as_i64().expect("chat id")
    }

    /// Sends a text message; returns the `MessageRead`.
    pub async fn send_text(&self, user: &TestUser, chat_id: i64, text: &str) -> Value {
        let (status, body) = self
            .post(
                "/api/v1/messages",
                Some(&user.access_token),
                &json!({ "chat_id": chat_id, "text": text, "client_message_id": Uuid::new_v4().to_string() }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "send: {body}");
        body
    }

    /// The WebSocket URL of this API.
    pub fn ws_url(&self) -> String {
        format!("{}/api/v1/ws", self.base.replacen("http", "ws", 1))
    }

    /// Connects a socket with `Authorization: Bearer` and waits for `ready`.
    pub async fn connect_ws(&self, token: &str) -> WsClient {
        let mut request = self.ws_url().into_client_request().expect("ws request");
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
        );
        let (stream, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket connect");
        let mut client = WsClient { stream };
        let ready = client
            .next_json(Duration::from_secs(10))
            .await
            .expect("ready frame");
        assert_eq!(ready["type"], "ready", "first frame: {ready}");
        client
    }
}

/// Polls `condition` every 50 ms until it holds; panics with `what` when it
/// still does not after `timeout`. For state that has no event to wait on
/// (a row written by another process, a counter); frames are awaited with
/// [`WsClient::next_json`] instead.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A registered, logged-in user.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: i64,
    pub email: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// A WebSocket client that reads JSON frames with timeouts.
pub struct WsClient {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    /// The next JSON text frame within `timeout`, skipping `presence`
    /// frames (they come and go with other tests' sockets; ask for them
    /// with [`WsClient::expect_type`]). Pings are answered by the library.
    pub async fn next_json(&mut self, timeout: Duration) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self.next_any(left).await?;
            if frame["type"] != "presence" {
                return Ok(frame);
            }
        }
    }

    /// The next JSON text frame within `timeout`, whatever its type.
    pub async fn next_any(&mut self, timeout: Duration) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .map_err(|_| anyhow!("no frame within {timeout:?}"))?;
            match frame {
                Some(Ok(WsMessage::Text(text))) => return Ok(serde_json::from_str(&text)?),
                Some(Ok(WsMessage::Close(frame))) => bail!("socket closed: {frame:?}"),
                Some(Ok(_)) => continue,
                Some(Err(err)) => bail!("socket error: {err}"),
                None => bail!("socket ended"),
            }
        }
    }

    /// Skips frames until one of `kind` arrives within `timeout`.
    pub async fn expect_type(&mut self, kind: &str, timeout: Duration) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self.next_any(left).await?;
            if frame["type"] == kind {
                return Ok(frame);
            }
        }
    }

    /// Sends a JSON text frame.
    pub async fn send_json(&mut self, value: &Value) -> Result<()> {
        self.stream
            .send(WsMessage::Text(value.to_string().into()))
            .await?;
        Ok(())
    }

    /// Waits for the server to close the socket; returns the close code.
    /// Text frames before the close are returned too.
    pub async fn expect_close(&mut self, timeout: Duration) -> Result<(u16, Vec<Value>)> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut frames = Vec::new();
        loop {
            let frame = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .map_err(|_| anyhow!("not closed within {timeout:?}; got {frames:?}"))?;
            match frame {
                Some(Ok(WsMessage::Text(text))) => {
                    let frame: Value = serde_json::from_str(&text)?;
                    if frame["type"] != "presence" {
                        frames.push(frame);
                    }
                }
                Some(Ok(WsMessage::Close(Some(close)))) => return Ok((close.code.into(), frames)),
                Some(Ok(WsMessage::Close(None))) | None => return Ok((1005, frames)),
                Some(Ok(_)) => continue,
                Some(Err(err)) => bail!("socket error: {err}"),
            }
        }
    }

    /// Asserts that the next frame (other than `presence`) within `timeout`
    /// is the `message_created` of `message` (a `MessageRead`, or an ack's
    /// `message`), and returns it.
    ///
    /// How tests show that something did *not* arrive: make a later event
    /// happen on the same path (here, a message sent after it), then check
    /// that the very next frame is that later event. Nothing that was merely
    /// late can slip past it, unlike a quiet window.
    pub async fn expect_next_message(&mut self, message: &Value, timeout: Duration) -> Value {
        let frame = self
            .next_json(timeout)
            .await
            .unwrap_or_else(|err| panic!("expected message {}: {err}", message["id"]));
        assert!(
            frame["type"] == "message_created" && frame["message"]["id"] == message["id"],
            "expected message {} to be the next frame, got {frame}",
            message["id"]
        );
        frame
    }
}

/// One Server-Sent Event, or a comment line (`comment` set, the rest empty).
#[derive(Debug, Clone, Default)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: Value,
    pub comment: Option<String>,
}

/// A client of `GET /api/v1/sse/subscribe` that parses the stream.
pub struct SseClient {
    response: reqwest::Response,
    buffer: String,
}

impl SseClient {
    /// Opens the stream with a bearer token and, optionally, `Last-Event-ID`.
    pub async fn connect(api: &Api, token: &str, last_event_id: Option<&str>) -> Result<SseClient> {
        let client = reqwest::Client::new();
        let mut req = client
            .get(format!("{}/api/v1/sse/subscribe", api.base))
            .bearer_auth(token)
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let response = req.send().await?;
        if !response.status().is_success() {
            bail!("status {}", response.status());
        }
        Ok(SseClient {
            response,
            buffer: String::new(),
        })
    }

    /// The next event or comment within `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Result<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent::default();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(rest) = line.strip_prefix(':') {
                        event.comment = Some(rest.trim().to_owned());
                    } else if let Some((field, value)) = line.split_once(": ") {
                        match field {
                            "id" => event.id = Some(value.to_owned()),
                            "event" => event.event = Some(value.to_owned()),
                            "data" => data.push_str(value),
                            _ => {}
                        }
                    }
                }
                if !data.is_empty() {
                    event.data = serde_json::from_str(&data)?;
                }
                return Ok(event);
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .map_err(|_| anyhow!("no SSE event within {timeout:?}"))??
                .ok_or_else(|| anyhow!("SSE stream ended"))?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event (not a comment) within `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> Result<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next(left).await?;
            if event.comment.is_none() {
                return Ok(event);
            }
        }
    }
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

    /// An app on a Redis server of its own, which the test may stop and
    /// restart in place (`RedisServer::start_on(redis.port)`).
    pub async fn spawn_with_redis() -> (TestApp, RedisServer) {
        let redis = RedisServer::start().await.expect("redis-server");
        let url = redis.url();
        let app = Self::spawn_with(|env| {
            env.insert("REDIS_URL".into(), url);
        })
        .await;
        (app, redis)
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
    /// Starts another replica of this app.
    pub async fn replica(&self) -> Replica {
        let settings = parley_shared::Settings::from_map(self.env.clone()).expect("settings");
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

/// A child process of one of the real binaries, killed on drop.
pub struct ChildProcess {
    pub child: tokio::process::Child,
    pub log: PathBuf,
}

impl ChildProcess {
    /// The captured output so far (for failure messages).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Sends SIGKILL.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

/// Where `cargo build --bins` put `parley-api` and `parley-worker`:
/// `PARLEY_BIN_DIR`, else the directory above this test binary's `deps/`.
pub fn bin_path(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("PARLEY_BIN_DIR") {
        return PathBuf::from(dir).join(name);
    }
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (`cargo build --workspace --bins`, which the README's test command does)",
        path.display()
    );
    path
}

/// Starts `bin` (`parley-api` or `parley-worker`) with `env` and `args`,
/// output to a log file in `log_dir`.
pub fn spawn_process(
    bin: &str,
    args: &[&str],
    env: &HashMap<String, String>,
    log_dir: &std::path::Path,
) -> ChildProcess {
    let log = log_dir.join(format!("{bin}-{}.log", Uuid::new_v4().simple()));
    let file = std::fs::File::create(&log).expect("log file");
    let err = file.try_clone().expect("log file");
    let child = tokio::process::Command::new(bin_path(bin))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err))
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
    ChildProcess { child, log }
}

/// Starts a real `parley-api` replica on a free port and waits until it
/// answers `/health/live`.
pub async fn spawn_api_process(
    env: &HashMap<String, String>,
    log_dir: &std::path::Path,
) -> Result<(ChildProcess, Api)> {
    let port = free_port();
    let mut env = env.clone();
    env.insert("PARLEY_BIND".into(), format!("127.0.0.1:{port}"));
    let mut process = spawn_process("parley-api", &[], &env, log_dir);
    let api = Api::new(format!("http://127.0.0.1:{port}"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(resp) = api
            .client
            .get(format!("{}/health/live", api.base))
            .send()
            .await
            && resp.status().is_success()
        {
            return Ok((process, api));
        }
        if let Ok(Some(status)) = process.child.try_wait() {
            bail!("parley-api exited with {status}:\n{}", process.log_tail());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("parley-api did not start:\n{}", process.log_tail());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A private `redis-server` on a free port (for tests that stop Redis).
pub struct RedisServer {
    pub port: u16,
    child: std::process::Child,
}

impl RedisServer {
    /// Starts one on a free port; waits until it answers.
    pub async fn start() -> Result<RedisServer> {
        Self::start_on(free_port()).await
    }

    /// Starts one on `port` (to restart a stopped one in place).
    pub async fn start_on(port: u16) -> Result<RedisServer> {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start redis-server (is it installed? see README)")?;
        let server = RedisServer { port, child };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if tokio::time::Instant::now() > deadline {
                bail!("redis-server did not start on {port}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops it (SIGKILL).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
