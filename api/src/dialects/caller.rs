//! What the dialects share: an error type and a caller extractor, generic
//! over the one thing each dialect says for itself ([`Dialect`]: its error
//! body, and where else it takes the access token from). Statuses, the
//! `Retry-After` header, the logging of internal errors and the token
//! checks are the native API's ([`crate::error::respond`],
//! [`crate::extract::token_of`]).

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};
use parley_shared::AppError;
use parley_shared::domain::caller::AuthContext;
use serde_json::Value;

use crate::error::respond;
use crate::extract::{authenticate, token_of};

/// What a dialect says for itself.
pub trait Dialect: 'static {
    /// The body of an error answer, in the dialect's document's shape.
    fn error_body(err: &AppError) -> Value;

    /// The access token from where only this dialect takes it (a cookie of
    /// its own, `?token=` on its socket's path), when the native places
    /// (`Authorization: Bearer`, …) have none.
    fn other_token(_req: &HttpRequest) -> Option<String> {
        None
    }
}

/// An error answered in dialect `D`'s body.
pub struct DialectError<D>(pub AppError, PhantomData<D>);

impl<D> DialectError<D> {
    /// `err` in `D`'s body.
    pub fn new(err: AppError) -> Self {
        DialectError(err, PhantomData)
    }
}

impl<D> std::fmt::Debug for DialectError<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<D> std::fmt::Display for DialectError<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<D, E: Into<AppError>> From<E> for DialectError<D> {
    fn from(err: E) -> Self {
        DialectError::new(err.into())
    }
}

impl<D: Dialect> ResponseError for DialectError<D> {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        respond(&self.0, D::error_body(&self.0))
    }
}

/// The authenticated caller of a dialect `D` request; refused in `D`'s body
/// (401 `not_authenticated`, `invalid_token`, `token_expired`,
/// `session_revoked`).
pub struct DialectUser<D>(pub AuthContext, PhantomData<D>);

impl<D> std::ops::Deref for DialectUser<D> {
    type Target = AuthContext;
    fn deref(&self) -> &AuthContext {
        &self.0
    }
}

impl<D: Dialect> FromRequest for DialectUser<D> {
    type Error = DialectError<D>;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = authenticate(req, token_of(req).or_else(|| D::other_token(req)));
        Box::pin(async move { Ok(DialectUser(caller.await?, PhantomData)) })
    }
}
