//! The one error type of Parley's domain operations (ARCHITECTURE §6).
//!
//! Model code returns `diesel::QueryResult<T>`; domain operations return
//! [`AppResult<T>`]; the API turns an [`AppError`] into
//! `{"detail": "...", "code": "..."}` with [`AppError::status`].

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// A domain failure. Each variant maps to one HTTP status and one stable
/// snake_case code; the `detail` text is safe to show to the caller.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request cannot be read (malformed JSON, wrong content type).
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    /// 401: missing, invalid or expired credentials.
    #[error("{detail}")]
    Unauthorized { code: &'static str, detail: String },
    /// 403: authenticated, but not allowed to do this.
    #[error("{detail}")]
    Forbidden { code: &'static str, detail: String },
    /// 404: the thing does not exist (or the caller may not know it does).
    #[error("{detail}")]
    NotFound { code: &'static str, detail: String },
    /// 409: conflicts with existing state (a taken email, say).
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// 413: the body is larger than the endpoint accepts.
    #[error("Request body is too large (limit {limit_bytes} bytes).")]
    PayloadTooLarge { limit_bytes: usize },
    /// 422: well-formed but invalid; `field` names the offending field.
    #[error("{detail}")]
    Validation {
        field: String,
        code: &'static str,
        detail: String,
    },
    /// 429: too many requests; retry after this many seconds (seed 004 §12).
    #[error("Rate limit exceeded. Retry in {retry_after_secs} seconds.")]
    RateLimited { retry_after_secs: u64 },
    /// 503: a dependency (database, Redis, mail) is unavailable.
    #[error("{detail}")]
    Unavailable { detail: String },
    /// 503 `search_unavailable`: the search engine (Meilisearch) failed or
    /// did not answer; only search requests get it (issue 10).
    #[error("Search is unavailable right now; try again shortly.")]
    SearchUnavailable,
    /// 503: the transaction lost a race (a deadlock or a serialization
    /// failure) on every attempt of [`crate::transaction!`]; the request
    /// changed nothing and may be retried at once.
    #[error("The request collided with concurrent changes; retry it.")]
    Contention,
    /// 500: a bug or an unexpected failure. The cause is logged, never sent.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

/// The result of a domain operation.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// The HTTP status code of this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::BadRequest { .. } => 400,
            AppError::Unauthorized { .. } => 401,
            AppError::Forbidden { .. } => 403,
            AppError::NotFound { .. } => 404,
            AppError::Conflict { .. } => 409,
            AppError::PayloadTooLarge { .. } => 413,
            AppError::Validation { .. } => 422,
            AppError::RateLimited { .. } => 429,
            AppError::Unavailable { .. } | AppError::Contention | AppError::SearchUnavailable => {
                503
            }
            AppError::Internal(_) => 500,
        }
    }

    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest { code, .. }
            | AppError::Unauthorized { code, .. }
            | AppError::Forbidden { code, .. }
            | AppError::NotFound { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Validation { code, .. } => code,
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Unavailable { .. } => "service_unavailable",
            AppError::Contention => "contention",
            AppError::SearchUnavailable => "search_unavailable",
            AppError::Internal(_) => "internal_error",
        }
    }

    /// The text shown to the caller: the error's own text, except for 500s,
    /// whose cause stays in the logs.
    pub fn detail(&self) -> String {
        match self {
            AppError::Internal(_) => "Internal server error".to_owned(),
            other => other.to_string(),
        }
    }

    /// 422 for `field` with the code `invalid_field`.
    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        AppError::Validation {
            field: field.into(),
            code: "validation_error",
            detail: detail.into(),
        }
    }

    /// 404 with the code `<what>_not_found`-style `code`.
    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::NotFound {
            code,
            detail: detail.into(),
        }
    }

    /// 403 with `code`.
    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Forbidden {
            code,
            detail: detail.into(),
        }
    }

    /// 401 with `code`.
    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Unauthorized {
            code,
            detail: detail.into(),
        }
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            detail: detail.into(),
        }
    }

    /// 409 with `code`.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            detail: detail.into(),
        }
    }

    /// The 403 every chat-scoped operation gives an outsider.
    pub fn not_a_member() -> Self {
        AppError::forbidden("not_a_member", "You are not a member of this chat.")
    }

    /// 500 from any error; the cause chain is logged where it is answered.
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(err.into())
    }
}

/// `true` for PostgreSQL's "deadlock detected" (SQLSTATE 40P01), which
/// diesel reports as `Unknown`; its message is the only mark it keeps.
fn is_deadlock(info: &(dyn diesel::result::DatabaseErrorInformation + Send + Sync)) -> bool {
    info.message().starts_with("deadlock detected")
}

/// Diesel's `NotFound` is a 404, a unique violation a 409, a lost connection
/// 503, a deadlock or serialization failure [`AppError::Contention`];
/// anything else is a 500 (STYLE.md, Errors).
impl From<DieselError> for AppError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                AppError::Contention
            }
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if is_deadlock(info.as_ref()) =>
            {
                AppError::Contention
            }
            DieselError::NotFound => AppError::not_found("not_found", "Not found."),
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                AppError::conflict("conflict", "This conflicts with existing data.")
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                AppError::Unavailable {
                    detail: "The database is unavailable.".into(),
                }
            }
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<crate::infra::db::PoolError> for AppError {
    fn from(err: crate::infra::db::PoolError) -> Self {
        tracing::warn!(error = %err, "database pool unavailable");
        AppError::Unavailable {
            detail: "The database is unavailable.".into(),
        }
    }
}

impl From<redis::RedisError> for AppError {
    fn from(err: redis::RedisError) -> Self {
        tracing::warn!(error = %err, "redis unavailable");
        AppError::Unavailable {
            detail: "Redis is unavailable.".into(),
        }
    }
}

/// An expired token is 401 `token_expired`; any other refused token 401
/// `invalid_token`; a token that could not be signed a 500.
impl From<crate::infra::tokens::TokenError> for AppError {
    fn from(err: crate::infra::tokens::TokenError) -> Self {
        use crate::infra::tokens::TokenError;
        match err {
            TokenError::Expired => AppError::unauthorized("token_expired", err.to_string()),
            TokenError::Invalid(detail) => AppError::unauthorized("invalid_token", detail),
            TokenError::Signing(_) => AppError::internal(err),
        }
    }
}

/// A request over a rate limit is 429 with `Retry-After` (seed 004 §12).
impl From<crate::infra::ratelimit::RateLimited> for AppError {
    fn from(err: crate::infra::ratelimit::RateLimited) -> Self {
        AppError::RateLimited {
            retry_after_secs: err.retry_after_secs,
        }
    }
}
