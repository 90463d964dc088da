//! A member's own settings of a chat (seed 004 §7): archive, pin-chat,
//! notifications, clear history.

use actix_web::{HttpResponse, web};
use parley_shared::domain::chat_prefs::{self, ListFlag, MuteRequest};
use parley_shared::wire::native::render;

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::state::ApiState;

async fn set_flag(
    state: web::Data<ApiState>,
    caller: AuthUser,
    chat_id: i64,
    flag: ListFlag,
    on: bool,
) -> ApiResult<HttpResponse> {
    let chat = chat_prefs::set_list_flag(&state.ctx, &caller, chat_id, flag, on).await?;
    Ok(HttpResponse::Ok().json(render::chat_view(&chat)))
}

/// `POST /chats/{chat_id}/archive` → 200 `ChatRead`.
pub async fn archive(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    set_flag(state, caller, path.into_inner(), ListFlag::Archived, true).await
}

/// `POST /chats/{chat_id}/unarchive` → 200 `ChatRead`.
pub async fn unarchive(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    set_flag(state, caller, path.into_inner(), ListFlag::Archived, false).await
}

/// `POST /chats/{chat_id}/pin-chat` → 200 `ChatRead`.
pub async fn pin_chat(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    set_flag(state, caller, path.into_inner(), ListFlag::Pinned, true).await
}

/// `POST /chats/{chat_id}/unpin-chat` → 200 `ChatRead`.
pub async fn unpin_chat(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    set_flag(state, caller, path.into_inner(), ListFlag::Pinned, false).await
}

/// `GET /chats/{chat_id}/notifications` → 200 `ChatNotificationSettingsRead`.
pub async fn notifications(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let settings = chat_prefs::notifications(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::notification_settings(&settings)))
}

/// `PUT /chats/{chat_id}/notifications {muted}` → 200 `ChatNotificationSettingsRead`.
pub async fn set_notifications(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: JsonBody<MuteRequest>,
) -> ApiResult<HttpResponse> {
    let settings = chat_prefs::set_muted(&state.ctx, &caller, path.into_inner(), &body.0).await?;
    Ok(HttpResponse::Ok().json(render::notification_settings(&settings)))
}

/// `POST /chats/{chat_id}/clear` → 204.
pub async fn clear(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    chat_prefs::clear_history(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
