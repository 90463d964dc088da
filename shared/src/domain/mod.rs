//! The domain: who may do what, and the operations of accounts, users,
//! chats, members, messages, receipts, presence and catch-up. Operations
//! take an [`context::AppContext`] and the caller, check permissions
//! ([`permissions`]), run one transaction and publish after commit. This
//! layer uses [`crate::infra`]; it must not grow new uses of
//! [`crate::wire`] (the files that still return wire types are listed in
//! the layering test while issue 7 moves rendering to the transports).

pub mod accounts;
pub mod catchup;
pub mod chats;
pub mod context;
pub mod emails;
pub mod error;
pub mod events;
pub mod jobs;
pub mod kinds;
pub mod members;
pub mod messages;
pub mod models;
pub mod permissions;
pub mod presence;
pub mod receipts;
pub mod retention;
pub mod transaction;
pub mod users;
pub mod validate;
