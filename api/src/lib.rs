//! `parley-api`: the HTTP API and the realtime gateway of Parley.
//!
//! [`Application::build`] makes a ready-to-run server from
//! [`Settings`]; the binary and the tests both use it, so tests run the
//! very same app.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, Service};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{App, HttpMessage, HttpServer, web};
use futures_util::FutureExt;
use futures_util::future::Either;
use parley_shared::infra::bus::BusSink;
use parley_shared::{AppContext, AppError, Settings};
use tracing_actix_web::{RequestId, TracingLogger};

pub mod dialects;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod realtime;
mod request_span;
pub mod routes;
pub mod state;

use crate::error::ApiError;
use crate::realtime::hub::{Hub, spawn_dispatcher, spawn_presence_loop};
use crate::state::ApiState;

/// Messages from the bus waiting for the hub; past it they are dropped and
/// every socket catches up from the log.
const BUS_QUEUE: usize = 65_536;

/// A built API server, bound to its port, not yet running.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<ApiState>,
}

impl Application {
    /// Connects to Redis (when configured), builds the hub and binds
    /// `settings.http.bind` (port 0 picks a free port).
    ///
    /// Errors: the address cannot be bound, or Redis is configured and unreachable.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        parley_shared::telemetry::metrics::recorder();
        let (sink, bus_rx) = BusSink::new(BUS_QUEUE);
        let bind = settings.http.bind.clone();
        let ctx = AppContext::build(settings, Some(sink)).await?;
        let hub = Hub::new(
            ctx.bus.clone(),
            ctx.db.clone(),
            std::time::Duration::from_millis(ctx.settings.realtime.room_idle_timeout_ms),
        );
        spawn_dispatcher(hub.clone(), bus_rx);
        spawn_presence_loop(hub.clone(), ctx.clone());
        if ctx.jobs.is_none() {
            // No Redis, so no worker: this process fans out notifications.
            tokio::spawn(parley_shared::domain::notifications::run_fan_out(
                ctx.clone(),
                std::time::Duration::from_millis(200),
            ));
        }
        let limits = ctx.limits.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tick.tick().await;
                limits.shrink();
            }
        });
        let state = web::Data::new(ApiState { ctx, hub });
        let listener = TcpListener::bind(&bind)?;
        let port = listener.local_addr()?.port();
        let server_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(server_state.clone())
                .app_data(query_config())
                .app_data(path_config())
                .wrap_fn(|req, srv| match query_nul_field(req.query_string()) {
                    // Before any handler: PostgreSQL refuses NUL in text.
                    Some(field) => Either::Left(futures_util::future::ready(Err(ApiError(
                        parley_shared::domain::validate::nul_error(field),
                    )
                    .into()))),
                    None => Either::Right(srv.call(req)),
                })
                .wrap_fn(|req, srv| {
                    let request_id = req.extensions().get::<RequestId>().copied();
                    srv.call(req).map(move |res| {
                        res.map(|mut res| {
                            if let Some(id) = request_id
                                && let Ok(value) = HeaderValue::from_str(&id.to_string())
                            {
                                res.headers_mut()
                                    .insert(HeaderName::from_static("x-request-id"), value);
                            }
                            res
                        })
                    })
                })
                .wrap(TracingLogger::<request_span::RequestSpan>::new())
                .wrap_fn(|req, srv| {
                    let started = std::time::Instant::now();
                    let method = routes::metrics::method_label(req.method());
                    srv.call(req).map(move |res| {
                        // After routing: the matched path, not a walk of
                        // every route (see `request_span`).
                        let (status, route) = match &res {
                            Ok(res) => (res.status(), res.request().match_pattern()),
                            Err(err) => (err.as_response_error().status_code(), None),
                        };
                        routes::metrics::record_request(method, route, status, started.elapsed());
                        res
                    })
                })
                .configure(routes::configure)
        })
        // Realtime frames are small and written one after another: with
        // Nagle's algorithm each waited for the client's delayed ACK (a
        // replay of 1,000 events stalled ~40 ms at a time, issue 13).
        .tcp_nodelay(true)
        .listen(listener)?
        .shutdown_timeout(10)
        .run();
        Ok(Application {
            port,
            server,
            state,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The replica's hub (for tests and metrics).
    pub fn hub(&self) -> Arc<Hub> {
        self.state.hub.clone()
    }

    /// Serves until the process is asked to stop (SIGINT / SIGTERM).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Builds and runs a replica: what `parley-api` does.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    tracing::info!(port = app.port(), "parley-api listening");
    app.run_until_stopped().await?;
    Ok(())
}

/// The name of the first query parameter whose name or value holds a NUL
/// character once decoded (`?query=%00`); answered 422 naming it (issue 6,
/// item 4). A query that does not decode is left to the handler's extractor.
fn query_nul_field(query: &str) -> Option<String> {
    if !query.contains("%00") {
        return None;
    }
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query).ok()?;
    pairs
        .into_inner()
        .into_iter()
        .find(|(key, value)| key.contains('\0') || value.contains('\0'))
        .map(|(key, _)| key.replace('\0', ""))
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        ApiError(AppError::Validation {
            field: "query".into(),
            code: "validation_error",
            detail: format!("Invalid query string: {err}"),
        })
        .into()
    })
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, req| {
        ApiError(AppError::not_found(
            "not_found",
            format!("Nothing at {}.", req.path()),
        ))
        .into()
    })
}
