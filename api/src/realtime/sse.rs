//! `GET /api/v1/sse/subscribe` (seed 002 §12): the socket's events as
//! Server-Sent Events, for clients that cannot open a WebSocket.
//!
//! Each event is `event: <type>` / `data: <json>`; `ready` and every chat
//! event carry `id: <token>`, the client's position in all its chats. A
//! reconnecting `EventSource` sends it back as `Last-Event-ID` and receives
//! exactly what it missed, then live events. A `: heartbeat` comment keeps
//! proxies from closing an idle stream.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use futures_util::StreamExt;
use parley_shared::AppError;
use parley_shared::domain::catchup::UpdatesToken;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::error::ApiError;
use crate::extract::{AuthUser, check_origin};
use crate::realtime::socket;
use crate::realtime::transport::{SseTransport, Transport};
use crate::state::ApiState;

/// Frames buffered for one SSE response before the stream counts as slow.
const SSE_BUFFER: usize = 64;

/// Opens the event stream. Errors: 401 before the stream starts (token from
/// `Authorization`, the `access_token` cookie or `?token=`); 422
/// `invalid_token` for a `Last-Event-ID` this server did not issue.
#[utoipa::path(
    get,
    path = "/api/v1/sse/subscribe",
    tag = "realtime",
    summary = "Subscribe to the realtime events as Server-Sent Events.",
    description = "For clients that cannot open a WebSocket: the socket's events as `event: <type>` / `data: <json>`. `ready` and every chat event carry `id: <token>`, the client's position in all its chats; a reconnecting `EventSource` sends it back as `Last-Event-ID` and receives exactly what it missed, then live events. A `: heartbeat` comment keeps proxies from closing an idle stream. There are no client frames: send messages and receipts over REST. The access token may come as `Authorization: Bearer <token>`, `?token=<token>` or the `access_token` cookie. Every refusal is a JSON error before the stream starts.",
    params(
        ("token" = Option<String>, Query, description = "The access token, for clients that cannot set a header (`EventSource`)."),
        ("Last-Event-ID" = Option<String>, Header, description = "The `id` of the last event received: the stream starts with what came after it. Sent by a reconnecting `EventSource` by itself."),
    ),
    responses(
        (status = 200, description = "text/event-stream: the same events as the socket; see docs/realtime.md", content_type = "text/event-stream"),
        (status = 401, description = "`not_authenticated`: no access token; `invalid_token`, `token_expired` or `session_revoked`: a bad, expired or revoked one. Answered before the stream starts, as JSON.", body = crate::openapi::ErrorBody),
        (status = 403, description = "`origin_not_allowed`: a browser `Origin` that `WS_ALLOWED_ORIGINS` does not list.", body = crate::openapi::ErrorBody),
        (status = 422, description = "`invalid_token`, with `field: \"Last-Event-ID\"`: not an event id from this server.", body = crate::openapi::ErrorBody),
        (status = 503, description = "`service_unavailable`: this replica has lost Redis and cannot follow chats; retry with backoff.", body = crate::openapi::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn subscribe_sse(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: AuthUser,
) -> Result<HttpResponse, ApiError> {
    Ok(open_stream(req, state, caller, SseTransport).await?)
}

/// Opens an event stream whose frames `transport` writes (the native
/// [`SseTransport`], or a dialect's): the origin and bus checks, the
/// `Last-Event-ID` resume, the socket task, the response headers.
///
/// Errors: 403 `origin_not_allowed`; 503 without the bus; 422
/// `invalid_token` for a `Last-Event-ID` this server did not issue.
pub(crate) async fn open_stream<T, F>(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: AuthUser,
    transport: F,
) -> Result<HttpResponse, AppError>
where
    T: Transport + 'static,
    F: FnOnce(mpsc::Sender<Bytes>) -> T,
{
    check_origin(&req, &state.ctx.settings.allowed_origins())?;
    state.hub.check_bus()?;
    let resume_from = match req.headers().get("last-event-id") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(UpdatesToken::decode)
                .ok_or_else(|| AppError::Validation {
                    field: "Last-Event-ID".into(),
                    code: "invalid_token",
                    detail: "Last-Event-ID is not an event id from this server.".into(),
                })?,
        ),
    };
    let (tx, rx) = mpsc::channel::<Bytes>(SSE_BUFFER);
    actix_web::rt::spawn(socket::run(
        state.into_inner(),
        caller.0,
        transport(tx),
        None,
        resume_from,
    ));
    let body = ReceiverStream::new(rx).map(Ok::<_, std::convert::Infallible>);
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/event-stream"))
        .insert_header((CACHE_CONTROL, "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}
