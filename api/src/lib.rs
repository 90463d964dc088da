//! `parley-api`: the HTTP API and the realtime gateway of Parley.
//!
//! [`Application::build`] makes a ready-to-run server from
//! [`Settings`]; the binary and the tests both use it, so tests run the
//! very same app.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::web;
use parley_shared::infra::bus::BusSink;
use parley_shared::{AppContext, Settings};

pub mod dialects;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod realtime;
mod request_span;
pub mod routes;
mod server;
pub mod state;

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
        let server = server::serve(listener, state.clone())?;
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
