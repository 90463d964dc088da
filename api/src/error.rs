//! HTTP rendering of [`AppError`]: `{"detail": "...", "code": "..."}` with
//! the error's status (ARCHITECTURE §6). actix's own extractor failures are
//! mapped to the same envelope by the extractor configs in `crate::Application::build`.

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use parley_shared::AppError;
use serde_json::json;

/// The error type of every handler.
#[derive(Debug)]
pub struct ApiError(pub AppError);

/// The result type of every handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(err: E) -> Self {
        ApiError(err.into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let err = &self.0;
        let mut body = json!({ "detail": err.detail(), "code": err.code() });
        if let AppError::Validation { field, .. } = err {
            body["field"] = json!(field);
        }
        respond(err, body)
    }
}

/// The answer to `err` with `body` (the native envelope, or a dialect's):
/// the error's status, `Retry-After` when rate-limited, and an internal
/// error's cause chain in the logs (never in the body).
pub fn respond(err: &AppError, body: serde_json::Value) -> HttpResponse {
    if let AppError::Internal(cause) = err {
        tracing::error!(error = format!("{cause:#}"), "internal error");
    }
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status).json(body);
    if let AppError::RateLimited { retry_after_secs } = err
        && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
    {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}
