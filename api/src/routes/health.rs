//! Health probes (seed 004 §4).

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use parley_shared::infra::redis_conn::RedisConn;

use crate::state::ApiState;

/// Health check: the process answers.
///
/// Always 200 `{"status": "ok"}`; no dependency is checked (see
/// `GET /health/ready`).
#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    responses(
        (status = 200, description = "`{\"status\": \"ok\"}`."),
    )
)]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Liveness probe: the process answers.
///
/// Always 200 `{"status": "ok"}`; no dependency is checked. Restart the
/// process when it stops answering.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "health",
    responses(
        (status = 200, description = "`{\"status\": \"ok\"}`."),
    )
)]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness probe: PostgreSQL and Redis answer.
///
/// 200 when PostgreSQL and Redis (`REDIS_URL`, and every primary of the
/// Redis Cluster when `REDIS_CLUSTER_URLS` is set) each answer within 2 s;
/// otherwise 503. Without Redis configured, `redis` is `"disabled"` and
/// does not count.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    responses(
        (status = 200, description = "Ready: `{\"status\": \"ready\", \"db\": \"ok\", \"redis\": \"ok\" | \"disabled\"}`."),
        (status = 503, description = "Not ready: `{\"detail\": {\"status\": \"not_ready\", \"db\": bool, \"redis\": bool}, \"code\": \"not_ready\"}`, where `db` and `redis` tell which answered (`redis` is `true` when it is not configured)."),
    )
)]
pub async fn ready(state: web::Data<ApiState>) -> HttpResponse {
    let timeout = Duration::from_secs(2);
    let db_ok = parley_shared::infra::db::ping(&state.ctx.db, timeout).await;
    // The job queue's server, and the cluster of live state when there is
    // one (PING goes to every primary of it).
    let mut redis_ok = None;
    if let Some(conn) = &state.ctx.redis {
        redis_ok = Some(answers(RedisConn::Single(conn.clone()), timeout).await);
    }
    if let Some(cluster @ RedisConn::Cluster(_)) = &state.ctx.live {
        let ok = answers(cluster.clone(), timeout).await;
        redis_ok = Some(redis_ok.unwrap_or(true) && ok);
    }
    if db_ok && redis_ok != Some(false) {
        HttpResponse::Ok().json(json!({
            "status": "ready",
            "db": "ok",
            "redis": if redis_ok.is_some() { "ok" } else { "disabled" },
        }))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({
            "detail": { "status": "not_ready", "db": db_ok, "redis": redis_ok.unwrap_or(true) },
            "code": "not_ready",
        }))
    }
}

/// `true` when `conn` answers `PING` within `timeout`.
async fn answers(mut conn: RedisConn, timeout: Duration) -> bool {
    let cmd = redis::cmd("PING");
    let ping = cmd.query_async::<String>(&mut conn);
    matches!(tokio::time::timeout(timeout, ping).await, Ok(Ok(_)))
}
