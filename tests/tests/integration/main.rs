//! Parley's integration and end-to-end tests: one binary, real PostgreSQL,
//! real Redis, the real app over real HTTP and WebSocket connections.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod authorization;
mod blocks;
mod bulk;
mod catchup;
mod chat_admin;
mod chat_delete;
mod chat_prefs;
mod chats;
mod defects;
mod dialect_campus;
mod dialect_chatrooms;
mod dialect_chatrooms_socket;
mod dialect_focusmate;
mod dialect_school;
mod dialects_together;
mod e2e;
mod emails;
mod failover;
mod health;
mod invites;
mod media;
mod members;
mod message_depth;
mod messages;
mod metrics;
mod notifications;
mod openapi;
mod presence;
mod privacy;
mod public_chats;
mod ratelimit;
mod realtime;
mod receipts;
mod recovery;
mod schema;
mod search;
mod search_meili;
mod sessions;
mod slow_reader;
mod sse;
mod two_factor;
mod worker;
