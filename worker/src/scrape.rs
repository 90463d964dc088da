//! The worker's `GET /metrics` (issue 12) at `WORKER_METRICS_BIND`, behind
//! `METRICS_TOKEN` when set: job runs by kind and result with their
//! durations, the jobs in each queue by state (read at the scrape), and
//! the PostgreSQL pool. The names are in
//! [`parley_shared::telemetry::metrics`].

use actix_web::dev::ServerHandle;
use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use parley_shared::AppContext;
use parley_shared::domain::jobs;
use parley_shared::infra::jobs::queue_state;
use parley_shared::telemetry::metrics::{JOB_QUEUE, record_pool, render, scrape_allowed};
use serde_json::json;

/// Starts the metrics server in the background; `None` when it is not
/// configured or its address cannot be bound (logged: the jobs run on
/// without it).
pub fn serve(ctx: AppContext) -> Option<ServerHandle> {
    let bind = ctx.settings.jobs.metrics_bind.clone()?;
    let data = web::Data::new(ctx);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/metrics", web::get().to(metrics))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .bind(&bind);
    match server {
        Ok(server) => {
            tracing::info!(%bind, "worker metrics served");
            let server = server.run();
            let handle = server.handle();
            tokio::spawn(server);
            Some(handle)
        }
        Err(err) => {
            tracing::warn!(%bind, error = %err, "worker metrics not served: cannot bind");
            None
        }
    }
}

/// The metrics, with the queues and the pool read now. 401
/// `not_authenticated` without the `METRICS_TOKEN`.
async fn metrics(req: HttpRequest, ctx: web::Data<AppContext>) -> HttpResponse {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    if !scrape_allowed(ctx.settings.http.metrics_token.as_ref(), given) {
        return HttpResponse::Unauthorized().json(json!({
            "detail": "This endpoint wants the metrics token.",
            "code": "not_authenticated",
        }));
    }
    if let Some(conn) = &ctx.redis {
        for kind in jobs::kinds() {
            match queue_state(conn.clone(), &ctx.settings.redis.prefix, kind).await {
                Ok(state) => {
                    for (name, count) in [
                        ("pending", state.pending),
                        ("retrying", state.retrying),
                        ("running", state.running),
                        ("failed", state.failed),
                        ("done", state.done),
                    ] {
                        metrics::gauge!(JOB_QUEUE, "kind" => kind, "state" => name)
                            .set(count as f64);
                    }
                }
                Err(err) => tracing::warn!(job = kind, error = %err, "queue state unread"),
            }
        }
    }
    record_pool(ctx.db.status());
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(render())
}
