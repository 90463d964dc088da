//! Extractors: the authenticated caller ([`AuthUser`]) and JSON bodies that
//! name the offending field when they do not fit ([`JsonBody`]).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::StreamExt;
use parley_shared::AppError;
use parley_shared::domain::accounts::{self as auth, AuthContext};
use parley_shared::domain::validate;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::ApiState;

/// The largest JSON body accepted, in bytes.
pub const JSON_LIMIT_BYTES: usize = 64 * 1024;

/// The WebSocket subprotocol a browser client names before its token:
/// `Sec-WebSocket-Protocol: parley.bearer, <token>`.
pub const WS_BEARER_PROTOCOL: &str = "parley.bearer";

/// The caller of an authenticated endpoint. The access token comes from
/// `Authorization: Bearer`, the `access_token` cookie (seed 003), the
/// `Sec-WebSocket-Protocol` header (after [`WS_BEARER_PROTOCOL`]), or — for
/// the socket only — `?token=`.
///
/// Errors: 401 `not_authenticated`, `invalid_token`, `token_expired`,
/// `session_revoked`.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser(pub AuthContext);

impl std::ops::Deref for AuthUser {
    type Target = AuthContext;
    fn deref(&self) -> &AuthContext {
        &self.0
    }
}

/// The request's access token, from the places [`AuthUser`] reads.
pub(crate) fn token_of(req: &HttpRequest) -> Option<String> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION)
        && let Ok(value) = value.to_str()
        && let Some((scheme, token)) = value.split_once(' ')
        && scheme.eq_ignore_ascii_case("bearer")
    {
        return Some(token.trim().to_owned());
    }
    if let Some(cookie) = req.cookie("access_token") {
        return Some(cookie.value().to_owned());
    }
    if let Some(value) = req.headers().get(header::SEC_WEBSOCKET_PROTOCOL)
        && let Ok(value) = value.to_str()
    {
        let mut parts = value.split(',').map(str::trim);
        if parts.any(|p| p == WS_BEARER_PROTOCOL)
            && let Some(token) = parts.next()
        {
            return Some(token.to_owned());
        }
    }
    if req.path().ends_with("/ws") || req.path().ends_with("/sse/subscribe") {
        let query =
            web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
                .ok()?;
        return query.get("token").cloned();
    }
    None
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = authenticate(req, token_of(req));
        Box::pin(async move { Ok(AuthUser(caller.await?)) })
    }
}

/// The caller `token` (found in `req`) names.
///
/// Errors: 401 `not_authenticated` without a token; those of
/// `accounts::authenticate`.
pub(crate) fn authenticate(
    req: &HttpRequest,
    token: Option<String>,
) -> impl Future<Output = Result<AuthContext, AppError>> + 'static {
    let state = req.app_data::<web::Data<ApiState>>().cloned();
    async move {
        let state = state.ok_or_else(|| AppError::internal(anyhow::anyhow!("no state")))?;
        let token = token.ok_or_else(|| {
            AppError::unauthorized("not_authenticated", "Authentication required.")
        })?;
        auth::authenticate(&state.ctx, &token).await
    }
}

/// Refuses a browser origin that `WS_ALLOWED_ORIGINS` does not list (403
/// `origin_not_allowed`). Requests without `Origin` (native clients) and
/// an empty list pass.
pub fn check_origin(req: &HttpRequest, allowed: &[String]) -> Result<(), AppError> {
    if allowed.is_empty() {
        return Ok(());
    }
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default().trim_end_matches('/');
    if allowed.iter().any(|a| a == origin || a == "*") {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "origin_not_allowed",
            format!("Origin {origin:?} may not open realtime connections."),
        ))
    }
}

/// A JSON body of type `T`. Errors use the envelope: 400 `malformed_json`
/// (or a wrong content type), 413 past [`JSON_LIMIT_BYTES`], 422
/// `validation_error` with the path of the field that did not fit.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req.mime_type().ok().flatten().is_some_and(|m| {
            m.subtype() == mime_json() || m.suffix().is_some_and(|s| s == mime_json())
        });
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(AppError::bad_request(
                    "unsupported_content_type",
                    "Send the body as JSON (Content-Type: application/json).",
                )
                .into());
            }
            let body = read_limited(&mut payload, JSON_LIMIT_BYTES).await?;
            parse_json(&body).map(JsonBody).map_err(ApiError)
        })
    }
}

/// A request body, whole, at most `limit` bytes.
///
/// Errors: 413 past `limit`; 400 `bad_body` when it cannot be read.
pub async fn read_limited<S>(payload: &mut S, limit: usize) -> Result<web::Bytes, AppError>
where
    S: futures_util::Stream<Item = Result<web::Bytes, actix_web::error::PayloadError>> + Unpin,
{
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::bad_request("bad_body", e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge { limit_bytes: limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn mime_json() -> &'static str {
    "json"
}

/// Parses `body` as `T`: a syntax error or trailing data after the JSON
/// value is 400 `malformed_json`; a shape error, or a NUL character in any
/// string, is 422 naming the field (issue 6, items 4 and 10).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        // A body that is not one JSON value is malformed, whatever its shape.
        let syntax = serde_json::from_slice::<serde::de::IgnoredAny>(body).err();
        let one_value = syntax.is_none();
        match inner.classify() {
            serde_json::error::Category::Data if one_value => {
                let field = if path == "." {
                    // A missing field is reported at the parent; name it.
                    let msg = inner.to_string();
                    msg.split('`').nth(1).unwrap_or("body").to_owned()
                } else {
                    path
                };
                AppError::Validation {
                    detail: format!("{field}: {}", strip_position(&inner.to_string())),
                    field,
                    code: "validation_error",
                }
            }
            _ => AppError::bad_request(
                "malformed_json",
                format!(
                    "The body is not valid JSON: {}",
                    strip_position(&syntax.unwrap_or(inner).to_string())
                ),
            ),
        }
    })?;
    de.end().map_err(|_| {
        AppError::bad_request(
            "malformed_json",
            "The body is not valid JSON: trailing characters after the value.",
        )
    })?;
    // Only an escaped NUL (`\u0000`) can reach a string; look closer then.
    if body.windows(6).any(|w| w == b"\\u0000") {
        let tree: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| AppError::bad_request("malformed_json", e.to_string()))?;
        validate::reject_nul(&tree)?;
    }
    Ok(value)
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}
