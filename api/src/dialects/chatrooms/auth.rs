//! Seed 003's caller and error body: the access token from
//! `Authorization: Bearer` or the `jwt_token` cookie, and errors as
//! `{"error": <code>, "message": <text>}` (the document's 401 shows it).

use actix_web::HttpRequest;
use parley_shared::AppError;
use parley_shared::domain::caller::AuthContext;
use serde_json::{Value, json};

use crate::dialects::caller::{Dialect, DialectError, DialectUser};

/// Seed 003.
pub struct Rooms;

impl Dialect for Rooms {
    fn error_body(err: &AppError) -> Value {
        // The document's one authentication error is `invalid_token`: a
        // missing token is one too.
        let code = match err.code() {
            "not_authenticated" => "invalid_token",
            code => code,
        };
        json!({"error": code, "message": err.detail()})
    }

    fn other_token(req: &HttpRequest) -> Option<String> {
        req.cookie("jwt_token").map(|c| c.value().to_owned())
    }
}

/// An error in seed 003's body.
pub type RoomsError = DialectError<Rooms>;

/// The result type of seed 003's handlers.
pub type RoomsResult<T> = Result<T, RoomsError>;

/// The authenticated caller of a seed 003 request.
pub type RoomsUser = DialectUser<Rooms>;

/// Seed 003's bodies name who acts (`userId`, `creatorId`): it must be
/// the caller. Errors: 403 `user_mismatch`.
pub fn require_self(auth: &AuthContext, user_id: &str) -> RoomsResult<()> {
    if user_id.trim() == auth.user_id.to_string() {
        Ok(())
    } else {
        Err(AppError::forbidden("user_mismatch", "userId must be the authenticated user.").into())
    }
}
