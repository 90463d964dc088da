//! The root span of every request: tracing-actix-web's fields, with the
//! route recorded when the request ends rather than when it starts.
//!
//! Before routing, `match_pattern()` walks every registered route and runs
//! the regex of each dynamic one; after routing it follows the matched
//! path in a few steps. The default span (and a metrics middleware that
//! asked before the call) walked on every request, twice: about a fifth of
//! the API's CPU per send in a profile (docs/benchmarks.md, issue 13).

use actix_web::Error;
use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing::field::Empty;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

/// [`RootSpanBuilder`] for `TracingLogger`: `HTTP request` with
/// `http.method`, `http.target`, `http.client_ip`, `http.user_agent`,
/// `request_id`, then `http.route` (the matched pattern, `unmatched` for a
/// 404), `http.status_code` and, for errors, `exception.*`.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let info = request.connection_info();
        let request_id = request.extensions().get::<RequestId>().copied();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = Empty,
            http.target = %request.uri().path_and_query().map_or("", |p| p.as_str()),
            http.client_ip = %info.realip_remote_addr().unwrap_or(""),
            http.user_agent = %request
                .headers()
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
            request_id = %request_id.map(|id| id.to_string()).unwrap_or_default(),
            http.status_code = Empty,
            otel.status_code = Empty,
            exception.message = Empty,
            exception.details = Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let route = match outcome {
            Ok(response) => response.request().match_pattern(),
            Err(_) => None,
        };
        span.record("http.route", route.as_deref().unwrap_or("unmatched"));
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
