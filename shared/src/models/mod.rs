//! Diesel row structs and the queries that sit next to them. Functions here
//! return `QueryResult<T>`; authorisation lives in the domain modules.

pub mod chat;
pub mod event;
pub mod kinds;
pub mod message;
pub mod session;
pub mod user;

pub use chat::{Chat, ChatMember};
pub use event::ChatEventRow;
pub use kinds::{ChatType, EventKind, MemberRole, MessageType, Privacy};
pub use message::Message;
pub use session::Session;
pub use user::User;
