//! `parley-shared`: Parley below the transports, in three layers (see
//! docs/architecture.md):
//!
//! - [`infra`]: PostgreSQL pool and schema, the Redis event bus, the
//!   presence store, token keys, the mail transport, the job queue and
//!   outbox, rate limits. Imports nothing from the layers above.
//! - [`domain`]: the caller, permissions, errors, and every operation
//!   (accounts, users, chats, members, messages, receipts, presence,
//!   catch-up, retention, emails).
//! - [`wire`]: the serde types of each API (today [`wire::native`]).
//!
//! [`config`] and [`telemetry`] sit beside them and are used by all.

pub mod config;
pub mod domain;
pub mod infra;
pub mod telemetry;
pub mod wire;

#[cfg(test)]
mod layers;

pub use config::Settings;
pub use domain::context::AppContext;
pub use domain::error::{AppError, AppResult};
