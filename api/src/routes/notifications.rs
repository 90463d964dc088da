//! Notifications and push devices (seed 004 §10).

use actix_web::{HttpResponse, web};
use parley_shared::domain::notifications::{self, DeviceRequest, NotificationsQuery};
use parley_shared::wire::native::dto::{DeviceRead, NotificationRead};
use parley_shared::wire::native::render;

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::openapi::{ErrorBody, JsonBodyErrors, Unauthenticated};
use crate::state::ApiState;

/// Your notifications, newest first.
///
/// A notification is written for each new message in your chats while you
/// are offline (unless you muted the chat), and for each mention of you in
/// a chat you muted (online or not: then your sockets also get a
/// `notification` event). `event_type` is `mention` when you were
/// mentioned, else `message_created`.
#[utoipa::path(
    get,
    path = "/api/v1/notifications",
    tag = "notifications",
    params(NotificationsQuery),
    responses(
        (status = 200, description = "Your notifications, newest first.", body = [NotificationRead]),
        Unauthenticated,
        (status = 422, description = "`validation_error`, with `field: \"limit\"`: outside 1..=100.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<ApiState>,
    caller: AuthUser,
    query: web::Query<NotificationsQuery>,
) -> ApiResult<HttpResponse> {
    let page = notifications::list(&state.ctx, &caller, &query).await?;
    let page: Vec<NotificationRead> = page.iter().map(render::notification).collect();
    Ok(HttpResponse::Ok().json(page))
}

/// Register a device for pushes.
///
/// `platform` `web`: `token` is the browser's push subscription
/// (`JSON.stringify(subscription)`: `endpoint` and `keys.p256dh`,
/// `keys.auth`); `fcm` / `apns`: the device token. Registering again
/// refreshes it; a token another account registered moves to you.
#[utoipa::path(
    post,
    path = "/api/v1/devices",
    tag = "notifications",
    request_body = DeviceRequest,
    responses(
        (status = 200, description = "The device.", body = DeviceRead),
        JsonBodyErrors,
        Unauthenticated,
        (status = 422, description = "`validation_error`, with `field`: `platform` not `web`, `fcm` or `apns`; `token` empty, too long, or for `web` not a push subscription.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn register_device(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<DeviceRequest>,
) -> ApiResult<HttpResponse> {
    let device = notifications::register_device(&state.ctx, &caller, &body.0).await?;
    Ok(HttpResponse::Ok().json(render::device(&device)))
}

/// Your devices.
#[utoipa::path(
    get,
    path = "/api/v1/devices",
    tag = "notifications",
    responses(
        (status = 200, description = "Your devices.", body = [DeviceRead]),
        Unauthenticated,
    ),
    security(("bearer" = []))
)]
pub async fn list_devices(state: web::Data<ApiState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let devices = notifications::devices(&state.ctx, &caller).await?;
    let devices: Vec<DeviceRead> = devices.iter().map(render::device).collect();
    Ok(HttpResponse::Ok().json(devices))
}

/// Forget one of your devices (no more pushes to it).
#[utoipa::path(
    delete,
    path = "/api/v1/devices/{id}",
    tag = "notifications",
    params(("id" = i64, Path, description = "The device's id.")),
    responses(
        (status = 204, description = "Forgotten."),
        Unauthenticated,
        (status = 404, description = "`device_not_found`: no such device of yours.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn remove_device(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    notifications::remove_device(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
