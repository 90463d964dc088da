//! Seed 000's caller and error body. The caller is Parley's access token
//! (`Authorization: Bearer`; on the socket also `?token=`), read by the
//! native extractor; errors are `{"detail": <text>, "code": <code>}` with
//! Parley's status codes, and the document's texts where it shows one
//! ("Authentication required", "Not a member of this room", "Room not
//! found", "Internal server error").

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};
use parley_shared::AppError;
use parley_shared::domain::caller::AuthContext;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::error::ApiError;
use crate::extract::{AuthUser, parse_json};

/// An error in seed 000's body.
#[derive(Debug)]
pub struct FocusError(pub AppError);

/// The result type of seed 000's handlers.
pub type FocusResult<T> = Result<T, FocusError>;

impl std::fmt::Display for FocusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: Into<AppError>> From<E> for FocusError {
    fn from(err: E) -> Self {
        FocusError(err.into())
    }
}

/// A native handler error, in seed 000's body.
pub fn from_api(err: ApiError) -> FocusError {
    FocusError(err.0)
}

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

impl ResponseError for FocusError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) = &self.0 {
            // The cause in the logs, never in the body.
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        let code = self.0.code();
        HttpResponse::build(self.status_code())
            .json(json!({"detail": detail_for(code, self.0.detail()), "code": code}))
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

/// The authenticated caller of a seed 000 request: the native
/// [`AuthUser`] (which takes `?token=` on the socket's path, `…/ws`),
/// refused in seed 000's body.
pub struct FocusUser(pub AuthContext);

impl std::ops::Deref for FocusUser {
    type Target = AuthContext;
    fn deref(&self) -> &AuthContext {
        &self.0
    }
}

impl FromRequest for FocusUser {
    type Error = FocusError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = AuthUser::from_request(req, payload);
        Box::pin(async move { caller.await.map(|user| FocusUser(user.0)).map_err(from_api) })
    }
}

/// A JSON body parsed as the native API parses it (400 when it is not
/// JSON, 422 naming the field that does not fit), refused in seed 000's
/// body.
pub fn body<T: DeserializeOwned>(bytes: &[u8]) -> FocusResult<T> {
    Ok(parse_json(bytes)?)
}
