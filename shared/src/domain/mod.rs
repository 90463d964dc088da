//! The domain: who may do what, and the operations of accounts, users,
//! chats, members, messages, receipts, presence and catch-up. Operations
//! take an [`context::AppContext`] and the caller, check permissions
//! ([`permissions`]), run one transaction and publish after commit. This
//! layer uses [`crate::infra`] and never [`crate::wire`]: reads return
//! [`views`], snapshots and events, and the bus carries [`live`] events;
//! each transport renders them (the layering test checks it).

pub mod accounts;
pub mod admin;
pub mod blocks;
pub mod bulk;
pub mod bulk_run;
pub mod caller;
pub mod catchup;
pub mod chat_delete;
pub mod chat_info;
pub mod chat_list;
pub mod chat_prefs;
pub mod chats;
pub mod context;
pub mod emails;
pub mod error;
pub mod events;
pub mod expiry;
pub mod forwards;
pub mod group_commit;
pub mod history;
pub mod invites;
pub mod jobs;
pub mod kinds;
pub mod live;
pub mod media;
pub mod members;
pub mod messages;
pub mod models;
pub mod notifications;
pub mod permissions;
pub mod presence;
pub mod public_chats;
pub mod reactions;
pub mod receipts;
pub mod recent;
pub mod recovery;
pub mod retention;
pub mod search;
pub mod search_index;
pub mod search_tokens;
pub mod send_queue;
pub mod session_checks;
pub mod threads;
pub mod transaction;
pub mod two_factor;
pub mod uploads;
pub mod users;
pub mod validate;
pub mod views;
