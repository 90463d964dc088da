//! `/api/v1/chats` (seed 004 §7).

use actix_web::{HttpResponse, web};
use parley_shared::domain::catchup::{self, ChatEventsQuery, UpdatesQuery};
use parley_shared::domain::chat_delete::{self, DeleteChatQuery};
use parley_shared::domain::chat_info::{
    self, ChatProfileUpdate, ChatSettingsUpdate, PinRequest, TitleRequest,
};
use parley_shared::domain::chats::{self, ChatCreateRequest, ListChatsQuery};
use parley_shared::domain::invites::{self, InviteOptions, JoinByInviteRequest};
use parley_shared::domain::public_chats::{self, DiscoverQuery};
use parley_shared::wire::native::render;

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::state::ApiState;

/// `POST /chats` → 200 `ChatRead`, both when it creates the chat and when
/// the pair's private chat already exists (seed 004 §7).
pub async fn create_chat(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<ChatCreateRequest>,
) -> ApiResult<HttpResponse> {
    let (chat, _created) = chats::create_chat(&state.ctx, &caller, body.0).await?;
    Ok(HttpResponse::Ok().json(render::chat_view(&chat)))
}

/// `GET /chats?limit&before_id&query&archived` → 200 `ChatRead[]`.
pub async fn list_chats(
    state: web::Data<ApiState>,
    caller: AuthUser,
    query: web::Query<ListChatsQuery>,
) -> ApiResult<HttpResponse> {
    let list = chats::list_chats(&state.ctx, &caller, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::chat_views(&list)))
}

/// `GET /chats/{chat_id}` → 200 `ChatDetailRead`.
pub async fn get_chat(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let chat = chats::get_chat(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::chat_detail(&chat)))
}

/// `DELETE /chats/{chat_id}?for_all=` → 204.
pub async fn delete_chat(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<DeleteChatQuery>,
) -> ApiResult<HttpResponse> {
    chat_delete::delete_chat(&state.ctx, &caller, path.into_inner(), &query).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /chats/{chat_id}/settings` → 200 `ChatSettingsRead`.
pub async fn settings(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let settings = chat_info::settings(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::chat_settings(&settings)))
}

/// `PUT /chats/{chat_id}/settings {retention_days?, read_receipts_enabled?}`
/// → 200 `ChatSettingsRead`.
pub async fn set_settings(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: JsonBody<ChatSettingsUpdate>,
) -> ApiResult<HttpResponse> {
    let settings = chat_info::set_settings(&state.ctx, &caller, path.into_inner(), &body.0).await?;
    Ok(HttpResponse::Ok().json(render::chat_settings(&settings)))
}

/// `GET /chats/{chat_id}/events?after_seq&limit` → 200 `ChatEventsPage`.
pub async fn list_chat_events(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<ChatEventsQuery>,
) -> ApiResult<HttpResponse> {
    let events =
        catchup::chat_events(&state.ctx, &caller, path.into_inner(), query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::chat_events_page(&events)))
}

/// `GET /updates?since&limit` → 200 `UpdatesPage`.
pub async fn get_updates(
    state: web::Data<ApiState>,
    caller: AuthUser,
    query: web::Query<UpdatesQuery>,
) -> ApiResult<HttpResponse> {
    let updates = catchup::updates(&state.ctx, &caller, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::updates_page(&updates)))
}

/// `PATCH /chats/{chat_id}/title` → 200 `ChatRead`.
pub async fn set_title(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: JsonBody<TitleRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat_info::set_title(&state.ctx, &caller, path.into_inner(), &body.0).await?;
    Ok(HttpResponse::Ok().json(render::chat_view(&chat)))
}

/// `GET /chats/saved` → 200 `ChatRead`: the caller's saved messages.
pub async fn saved(state: web::Data<ApiState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let chat = chats::saved_chat(&state.ctx, &caller).await?;
    Ok(HttpResponse::Ok().json(render::chat_view(&chat)))
}

/// `GET /chats/discover?query&limit` → 200 `ChatDiscoverRead[]`.
pub async fn discover(
    state: web::Data<ApiState>,
    caller: AuthUser,
    query: web::Query<DiscoverQuery>,
) -> ApiResult<HttpResponse> {
    let found = public_chats::discover(&state.ctx, &caller, &query).await?;
    let found: Vec<_> = found.iter().map(render::public_chat).collect();
    Ok(HttpResponse::Ok().json(found))
}

/// `POST /chats/{chat_id}/join` → 200 `ChatRead`.
pub async fn join(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let chat = public_chats::join(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::chat_view(&chat)))
}

/// `POST /chats/{chat_id}/invite-link?expires_in&usage_limit` → 200
/// `{id, chat_id, token, invite_url, expires_at, usage_limit}`.
pub async fn create_invite_link(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<InviteOptions>,
) -> ApiResult<HttpResponse> {
    let invite = invites::create_link(&state.ctx, &caller, path.into_inner(), &query).await?;
    Ok(HttpResponse::Ok().json(render::new_invite(&invite)))
}

/// `GET /chats/{chat_id}/invite-links` → 200 `InviteLinkRead[]`.
pub async fn list_invite_links(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let links = invites::list_links(&state.ctx, &caller, path.into_inner()).await?;
    let links: Vec<_> = links.iter().map(render::invite_link).collect();
    Ok(HttpResponse::Ok().json(links))
}

/// `DELETE /chats/{chat_id}/invite-links/{link_id}` → 204.
pub async fn revoke_invite_link(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (chat_id, link_id) = path.into_inner();
    invites::revoke_link(&state.ctx, &caller, chat_id, link_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /chats/join-by-invite {token}` → 200 `ChatRead`.
pub async fn join_by_invite(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<JoinByInviteRequest>,
) -> ApiResult<HttpResponse> {
    let chat = invites::join_by_invite(&state.ctx, &caller, &body.0).await?;
    Ok(HttpResponse::Ok().json(render::chat_view(&chat)))
}

/// `PATCH /chats/{chat_id}/profile` → 200 `ChatRead`.
pub async fn set_profile(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: JsonBody<ChatProfileUpdate>,
) -> ApiResult<HttpResponse> {
    let chat = chat_info::set_profile(&state.ctx, &caller, path.into_inner(), &body.0).await?;
    Ok(HttpResponse::Ok().json(render::chat_view(&chat)))
}

/// `POST /chats/{chat_id}/pin {message_id | null}` → 200 `ChatRead`.
pub async fn pin_message(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: JsonBody<PinRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat_info::pin_message(&state.ctx, &caller, path.into_inner(), &body.0).await?;
    Ok(HttpResponse::Ok().json(render::chat_view(&chat)))
}
