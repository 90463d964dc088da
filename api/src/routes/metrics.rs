//! `GET /metrics`: this replica's Prometheus metrics (issue 12). The
//! names and what they count are in
//! [`parley_shared::telemetry::metrics`] and README's list.

use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use parley_shared::AppError;
use parley_shared::telemetry::metrics::{
    self, HTTP_DURATION, HTTP_REQUESTS, HUB_ROOMS, HUB_ROOMS_CLOSED,
};

use crate::error::ApiError;
use crate::extract::token_of;
use crate::state::ApiState;

/// The metrics in Prometheus's text format, with the PostgreSQL pool and
/// the hub's rooms read at this moment.
///
/// Errors: 401 `not_authenticated` when `METRICS_TOKEN` is set and the
/// request's bearer token is not it.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    summary = "This replica's metrics, for Prometheus.",
    description = "Prometheus text format: HTTP requests by route and status with latency histograms, open realtime connections, frames sent and dropped, slow-client closes, bus traffic, gap fills, rate-limit refusals, the PostgreSQL pool and the hub's rooms. When `METRICS_TOKEN` is set, send it as `Authorization: Bearer <token>`.",
    responses(
        (status = 200, description = "The metrics.", content_type = "text/plain"),
        (status = 401, description = "`not_authenticated`: `METRICS_TOKEN` is set and the request does not carry it.", body = crate::openapi::ErrorBody),
    )
)]
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let expected = state.ctx.settings.http.metrics_token.as_ref();
    if !metrics::scrape_allowed(expected, token_of(&req).as_deref()) {
        return Err(AppError::unauthorized(
            "not_authenticated",
            "This endpoint wants the metrics token.",
        )
        .into());
    }
    metrics::record_pool(state.ctx.db.status());
    let rooms = state.hub.room_tally();
    for (name, count) in [
        ("creating", rooms.creating),
        ("active", rooms.active),
        ("idle", rooms.idle),
        ("closing", rooms.closing),
    ] {
        ::metrics::gauge!(HUB_ROOMS, "state" => name).set(count as f64);
    }
    ::metrics::counter!(HUB_ROOMS_CLOSED).absolute(rooms.closed.max(0) as u64);
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics::render()))
}

/// Counts one answered request in [`HTTP_REQUESTS`] and
/// [`HTTP_DURATION`]; `route` is the matched pattern (`None`: no route).
pub(crate) fn record_request(
    method: &'static str,
    route: Option<String>,
    status: StatusCode,
    took: Duration,
) {
    let route = route.unwrap_or_else(|| "unmatched".to_owned());
    ::metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(),
                        "status" => status.as_str().to_owned())
    .increment(1);
    ::metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route)
        .record(took.as_secs_f64());
}

/// `method` as a label: the standard ones by name, any other as `other`
/// (labels must stay few).
pub(crate) fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
