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
        if let AppError::Internal(cause) = err {
            // The whole cause chain, once, in the logs; never in the body.
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        let mut body = json!({ "detail": err.detail(), "code": err.code() });
        if let AppError::Validation { field, .. } = err {
            body["field"] = json!(field);
        }
        let mut response = HttpResponse::build(self.status_code()).json(body);
        if let AppError::RateLimited { retry_after_secs } = err
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        response
    }
}
