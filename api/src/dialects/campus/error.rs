//! Seed 001's caller and error body: Parley's access token from
//! `Authorization: Bearer` (or, on the per-room socket, `?token=`), and
//! errors as `{"detail": "..."}` (the document's "에러 응답 형식") with the
//! domain's status codes.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use futures_util::StreamExt;
use parley_shared::AppError;
use parley_shared::domain::accounts;
use parley_shared::domain::caller::AuthContext;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::extract::parse_json;
use crate::state::ApiState;

/// An error in seed 001's body.
#[derive(Debug)]
pub struct CampusError(pub AppError);

/// The result type of seed 001's handlers.
pub type CampusResult<T> = Result<T, CampusError>;

impl std::fmt::Display for CampusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: Into<AppError>> From<E> for CampusError {
    fn from(err: E) -> Self {
        CampusError(err.into())
    }
}

impl ResponseError for CampusError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) = &self.0 {
            // The cause in the logs, never in the body.
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        let mut response =
            HttpResponse::build(self.status_code()).json(json!({"detail": self.0.detail()}));
        if let AppError::RateLimited { retry_after_secs } = &self.0
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        response
    }
}

/// The authenticated caller of a seed 001 request.
pub struct CampusUser(pub AuthContext);

impl std::ops::Deref for CampusUser {
    type Target = AuthContext;
    fn deref(&self) -> &AuthContext {
        &self.0
    }
}

/// The token of a request: the bearer header, or `?token=` on the socket
/// (`/chat/ws/{room_id}?token=`, the document's only place for it).
fn token_of(req: &HttpRequest) -> Option<String> {
    let bearer = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    if bearer.is_some() || !req.path().contains("/chat/ws/") {
        return bearer;
    }
    web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .ok()?
        .get("token")
        .cloned()
}

impl FromRequest for CampusUser {
    type Error = CampusError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = token_of(req);
        let state = req.app_data::<web::Data<ApiState>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal(anyhow::anyhow!("no state")))?;
            let token = token.ok_or_else(|| {
                AppError::unauthorized("not_authenticated", "Authentication required.")
            })?;
            Ok(CampusUser(
                accounts::authenticate(&state.ctx, &token).await?,
            ))
        })
    }
}

/// A JSON body parsed as the native API parses it (400 when it is not
/// JSON, 422 naming a missing or mistyped field), refused in seed 001's
/// body.
pub fn body<T: DeserializeOwned>(bytes: &[u8]) -> CampusResult<T> {
    Ok(parse_json(bytes)?)
}

/// The request body, at most `limit` bytes. Errors: 413 past it; 400 when
/// it cannot be read.
pub async fn read_body(mut payload: web::Payload, limit: usize) -> CampusResult<web::Bytes> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::bad_request("bad_body", e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge { limit_bytes: limit }.into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
