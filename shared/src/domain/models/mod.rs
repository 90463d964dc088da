//! Diesel row structs and the queries that sit next to them. Functions here
//! return `QueryResult<T>`; authorisation lives in the domain modules.

pub mod attachment;
pub mod bulk_job;
pub mod chat;
pub mod chat_list;
pub mod event;

pub mod message;
pub mod notification;
pub mod reaction;
pub mod session;
pub mod user;

pub use crate::domain::kinds::{ChatType, EventKind, MemberRole, MessageType, Privacy};
pub use chat::{Chat, ChatMember};
pub use event::ChatEventRow;
pub use message::Message;
pub use session::Session;
pub use user::User;
