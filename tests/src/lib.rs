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
//! (default `redis://127.0.0.1:6379`); `PARLEY_TEST_REDIS_CLUSTER` (seed
//! URLs of a Redis Cluster, default the three nodes `scripts/test` starts on
//! ports 7101–7103), and `PARLEY_TEST_ON_CLUSTER=1` to run every app's live
//! state (bus, presence, rate limits, recent messages) on that cluster.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod app;
mod db;
mod fake_meili;
mod http;
pub mod metrics;
mod processes;
mod realtime;
mod s3;

pub use app::{
    Replica, TestApp, Worker, base_env, free_port, on_cluster, redis_cluster_urls, redis_prefix,
    redis_url, temp_dir,
};
pub use db::{TestDatabase, admin_database_url, database_url};
pub use fake_meili::FakeMeili;
pub use http::{Api, TestUser, assert_refused, tok, wait_until};
pub use processes::{
    ChildProcess, RedisServer, bin_path, proc_status, rss_kib, spawn_api_process, spawn_process,
};
pub use realtime::{SseClient, SseEvent, WsClient};
pub use s3::S3Server;
