//! `parley-shared`: Parley's domain, below the transports. The API's
//! handlers, its realtime gateway and the worker's jobs all call the
//! operations here (ARCHITECTURE §1).
//!
//! - [`config`]: [`config::Settings`] from the environment.
//! - [`db`], [`schema`], [`models`]: PostgreSQL.
//! - [`auth`], [`chats`], [`messages`]: the domain operations.
//! - [`events`]: realtime events and the bus between replicas.
//! - [`jobs`], [`mail`]: background work.

pub mod auth;
pub mod catchup;
pub mod chats;
pub mod config;
pub mod context;
pub mod db;
pub mod dto;
pub mod error;
pub mod events;
pub mod jobs;
pub mod mail;
pub mod members;
pub mod messages;
pub mod models;
pub mod permissions;
pub mod pg_enum;
pub mod presence;
pub mod ratelimit;
pub mod receipts;
pub mod retention;
pub mod schema;
pub mod telemetry;
pub mod users;
pub mod validate;

pub use config::Settings;
pub use context::AppContext;
pub use error::{AppError, AppResult};
