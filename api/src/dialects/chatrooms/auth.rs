//! Seed 003's caller and error body: the access token from
//! `Authorization: Bearer` or the `jwt_token` cookie, and errors as
//! `{"error": <code>, "message": <text>}` (the document's 401 shows it).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use parley_shared::AppError;
use parley_shared::domain::accounts;
use parley_shared::domain::caller::AuthContext;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::extract::parse_json;
use crate::state::ApiState;

/// An error in seed 003's body.
#[derive(Debug)]
pub struct RoomsError(pub AppError);

/// The result type of seed 003's handlers.
pub type RoomsResult<T> = Result<T, RoomsError>;

impl std::fmt::Display for RoomsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: Into<AppError>> From<E> for RoomsError {
    fn from(err: E) -> Self {
        RoomsError(err.into())
    }
}

impl ResponseError for RoomsError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) = &self.0 {
            // The cause in the logs, never in the body.
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        HttpResponse::build(self.status_code())
            .json(json!({"error": self.0.code(), "message": self.0.detail()}))
    }
}

/// The authenticated caller of a seed 003 request.
pub struct RoomsUser(pub AuthContext);

impl std::ops::Deref for RoomsUser {
    type Target = AuthContext;
    fn deref(&self) -> &AuthContext {
        &self.0
    }
}

impl FromRequest for RoomsUser {
    type Error = RoomsError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let bearer = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned());
        let token = bearer.or_else(|| req.cookie("jwt_token").map(|c| c.value().to_owned()));
        let state = req.app_data::<web::Data<ApiState>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal(anyhow::anyhow!("no state")))?;
            let token = token.ok_or_else(|| {
                AppError::unauthorized("invalid_token", "A JWT token is required.")
            })?;
            Ok(RoomsUser(accounts::authenticate(&state.ctx, &token).await?))
        })
    }
}

/// A JSON body parsed as the native API parses it, refused in seed 003's
/// body.
pub fn body<T: DeserializeOwned>(bytes: &web::Bytes) -> RoomsResult<T> {
    Ok(parse_json(bytes)?)
}

/// Seed 003's bodies name who acts (`userId`, `creatorId`): it must be
/// the caller. Errors: 403 `user_mismatch`.
pub fn require_self(auth: &AuthContext, user_id: &str) -> RoomsResult<()> {
    if user_id.trim() == auth.user_id.to_string() {
        Ok(())
    } else {
        Err(AppError::forbidden("user_mismatch", "userId must be the authenticated user.").into())
    }
}
