//! Seed 001's caller and error body: Parley's access token from
//! `Authorization: Bearer` (or, on the per-room socket, `?token=`), and
//! errors as `{"detail": "..."}` (the document's "에러 응답 형식") with the
//! domain's status codes.

use actix_web::HttpRequest;
use actix_web::web::Query;
use parley_shared::AppError;
use serde_json::{Value, json};

use crate::dialects::caller::{Dialect, DialectError, DialectUser};

/// Seed 001.
pub struct Campus;

impl Dialect for Campus {
    fn error_body(err: &AppError) -> Value {
        json!({"detail": err.detail()})
    }

    /// `?token=` on the per-room socket (`/chat/ws/{room_id}?token=`, the
    /// document's only place for it).
    fn other_token(req: &HttpRequest) -> Option<String> {
        if !req.path().contains("/chat/ws/") {
            return None;
        }
        Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()?
            .get("token")
            .cloned()
    }
}

/// An error in seed 001's body.
pub type CampusError = DialectError<Campus>;

/// The result type of seed 001's handlers.
pub type CampusResult<T> = Result<T, CampusError>;

/// The authenticated caller of a seed 001 request.
pub type CampusUser = DialectUser<Campus>;
