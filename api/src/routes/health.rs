//! Health probes (seed 004 §4).

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::ApiState;

/// `GET /health`: `{"status": "ok"}`.
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /health/live`: the process answers.
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /health/ready`: 200 `{"status": "ready", "db": "ok", "redis": "ok"}`
/// when PostgreSQL and Redis answer within 2 s; otherwise 503
/// `{"detail": {"status": "not_ready", "db": bool, "redis": bool}, "code": "not_ready"}`.
/// Without Redis configured, `redis` is `"disabled"` and does not count.
pub async fn ready(state: web::Data<ApiState>) -> HttpResponse {
    let timeout = Duration::from_secs(2);
    let db_ok = parley_shared::infra::db::ping(&state.ctx.db, timeout).await;
    let redis_ok = match &state.ctx.redis {
        None => None,
        Some(conn) => {
            let mut conn = conn.clone();
            let cmd = redis::cmd("PING");
            let ping = cmd.query_async::<String>(&mut conn);
            Some(matches!(
                tokio::time::timeout(timeout, ping).await,
                Ok(Ok(_))
            ))
        }
    };
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
