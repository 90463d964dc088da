//! A member's own settings of a chat (seed 004 §7): archive, pin-chat,
//! notifications, clear history.

use actix_web::{HttpResponse, web};
use parley_shared::domain::chat_prefs::{self, ListFlag, MuteRequest};
use parley_shared::wire::native::dto::{ChatNotificationSettingsRead, ChatRead};
use parley_shared::wire::native::render;

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::openapi::{ErrorBody, JsonBodyErrors, OutsiderErrors, Unauthenticated};
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

/// Archive a chat for the caller.
///
/// It moves from the main list to `GET /api/v1/chats?archived=true`. Only
/// the caller's view changes; their other devices hear
/// `chat_settings_updated`.
#[utoipa::path(
    post,
    path = "/api/v1/chats/{chat_id}/archive",
    tag = "chat-settings",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    responses(
        (status = 200, description = "The chat as the caller now sees it (`archived: true`).", body = ChatRead),
        Unauthenticated,
        OutsiderErrors,
    ),
    security(("bearer" = []))
)]
pub async fn archive(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    set_flag(state, caller, path.into_inner(), ListFlag::Archived, true).await
}

/// Bring an archived chat back to the caller's main list.
///
/// Only the caller's view changes; their other devices hear
/// `chat_settings_updated`.
#[utoipa::path(
    post,
    path = "/api/v1/chats/{chat_id}/unarchive",
    tag = "chat-settings",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    responses(
        (status = 200, description = "The chat as the caller now sees it (`archived: false`).", body = ChatRead),
        Unauthenticated,
        OutsiderErrors,
    ),
    security(("bearer" = []))
)]
pub async fn unarchive(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    set_flag(state, caller, path.into_inner(), ListFlag::Archived, false).await
}

/// Pin a chat to the top of the caller's list.
///
/// Sets `pinned` on the caller's entry (clients sort pinned chats first).
/// Only the caller's view changes; their other devices hear
/// `chat_settings_updated`. To pin a message, see
/// `POST /api/v1/chats/{chat_id}/pin`.
#[utoipa::path(
    post,
    path = "/api/v1/chats/{chat_id}/pin-chat",
    tag = "chat-settings",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    responses(
        (status = 200, description = "The chat as the caller now sees it (`pinned: true`).", body = ChatRead),
        Unauthenticated,
        OutsiderErrors,
    ),
    security(("bearer" = []))
)]
pub async fn pin_chat(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    set_flag(state, caller, path.into_inner(), ListFlag::Pinned, true).await
}

/// Unpin a chat from the top of the caller's list.
///
/// Only the caller's view changes; their other devices hear
/// `chat_settings_updated`.
#[utoipa::path(
    post,
    path = "/api/v1/chats/{chat_id}/unpin-chat",
    tag = "chat-settings",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    responses(
        (status = 200, description = "The chat as the caller now sees it (`pinned: false`).", body = ChatRead),
        Unauthenticated,
        OutsiderErrors,
    ),
    security(("bearer" = []))
)]
pub async fn unpin_chat(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    set_flag(state, caller, path.into_inner(), ListFlag::Pinned, false).await
}

/// Get the caller's notification settings of a chat.
///
/// Whether the caller muted the chat.
#[utoipa::path(
    get,
    path = "/api/v1/chats/{chat_id}/notifications",
    tag = "chat-settings",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    responses(
        (status = 200, description = "The caller's notification settings.", body = ChatNotificationSettingsRead),
        Unauthenticated,
        OutsiderErrors,
    ),
    security(("bearer" = []))
)]
pub async fn notifications(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let settings = chat_prefs::notifications(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::notification_settings(&settings)))
}

/// Mute or unmute a chat for the caller.
///
/// A muted chat still notifies the caller's mentions. Only the caller's
/// view changes; their other devices hear `chat_settings_updated`.
#[utoipa::path(
    put,
    path = "/api/v1/chats/{chat_id}/notifications",
    tag = "chat-settings",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    request_body = MuteRequest,
    responses(
        (status = 200, description = "The caller's notification settings as they now are.", body = ChatNotificationSettingsRead),
        JsonBodyErrors,
        Unauthenticated,
        OutsiderErrors,
        (status = 422, description = "`validation_error`, with `field: \"muted\"`: missing or not a boolean.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn set_notifications(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: JsonBody<MuteRequest>,
) -> ApiResult<HttpResponse> {
    let settings = chat_prefs::set_muted(&state.ctx, &caller, path.into_inner(), &body.0).await?;
    Ok(HttpResponse::Ok().json(render::notification_settings(&settings)))
}

/// Clear a chat's history for the caller.
///
/// Every message so far leaves the caller's message list, unread counts and
/// replays (where they become `message_hidden` stubs); the other members
/// keep theirs, and later messages show as usual. A chat the caller had
/// deleted for themself comes back to their list. Their other devices hear
/// `chat_settings_updated`.
#[utoipa::path(
    post,
    path = "/api/v1/chats/{chat_id}/clear",
    tag = "chat-settings",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    responses(
        (status = 204, description = "Cleared."),
        Unauthenticated,
        OutsiderErrors,
    ),
    security(("bearer" = []))
)]
pub async fn clear(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    chat_prefs::clear_history(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
