//! Seed 000's caller and error body. The caller is Parley's access token
//! (`Authorization: Bearer`; on the socket also `?token=`); errors are `{"detail": <text>, "code": <code>}` with
//! Parley's status codes, and the document's texts where it shows one
//! ("Authentication required", "Not a member of this room", "Room not
//! found", "Internal server error").

use parley_shared::AppError;
use serde_json::{Value, json};

use crate::dialects::caller::{Dialect, DialectError, DialectUser};

/// Seed 000.
pub struct Focus;

impl Dialect for Focus {
    fn error_body(err: &AppError) -> Value {
        let code = err.code();
        json!({"detail": detail_for(code, err.detail()), "code": code})
    }
}

/// An error in seed 000's body.
pub type FocusError = DialectError<Focus>;

/// The result type of seed 000's handlers.
pub type FocusResult<T> = Result<T, FocusError>;

/// The authenticated caller of a seed 000 request (the token as the native
/// API takes it: `Authorization: Bearer`, or `?token=` on the socket).
pub type FocusUser = DialectUser<Focus>;

/// The text seed 000 shows for an error `code`, or Parley's own.
pub fn detail_for(code: &str, detail: String) -> String {
    match code {
        "not_authenticated" => "Authentication required".to_owned(),
        "not_a_member" => "Not a member of this room".to_owned(),
        "chat_not_found" => "Room not found".to_owned(),
        "message_not_found" => "Message not found".to_owned(),
        "user_not_found" => "User not found".to_owned(),
        _ => detail,
    }
}

/// 404 for a room id that names no room of seed 000's.
pub fn room_not_found() -> AppError {
    AppError::not_found("chat_not_found", "Room not found")
}

/// 404 for a message id that names no message of the room.
pub fn message_not_found() -> AppError {
    AppError::not_found("message_not_found", "Message not found")
}
