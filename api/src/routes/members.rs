//! `/api/v1/chats/{chat_id}/members` and leaving (seed 004 §7).

use actix_web::{HttpResponse, web};
use parley_shared::domain::members::{self, AddMemberRequest, NicknameRequest, RoleRequest};
use parley_shared::wire::native::render;

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::state::ApiState;

/// `GET /chats/{chat_id}/members` → 200 `ChatMemberRead[]`, in joining order.
pub async fn list_members(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let members = members::list_members(&state.ctx, &caller, path.into_inner()).await?;
    let members: Vec<_> = members.iter().map(render::member).collect();
    Ok(HttpResponse::Ok().json(members))
}

/// `PATCH /chats/{chat_id}/members/{user_id}/role {role}` → 200 `ChatMemberRead`.
pub async fn set_role(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<(i64, i64)>,
    body: JsonBody<RoleRequest>,
) -> ApiResult<HttpResponse> {
    let (chat_id, user_id) = path.into_inner();
    let member = members::set_role(&state.ctx, &caller, chat_id, user_id, &body.0).await?;
    Ok(HttpResponse::Ok().json(render::member(&member)))
}

/// `PATCH /chats/{chat_id}/members/me {nickname}` → 200 `ChatMemberRead`.
pub async fn set_nickname(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: JsonBody<NicknameRequest>,
) -> ApiResult<HttpResponse> {
    let member = members::set_nickname(&state.ctx, &caller, path.into_inner(), &body.0).await?;
    Ok(HttpResponse::Ok().json(render::member(&member)))
}

/// `POST /chats/{chat_id}/leave` → 204.
pub async fn leave_chat(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    members::leave_chat(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /chats/{chat_id}/members` → 201 `ChatMemberRead`.
pub async fn add_member(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: JsonBody<AddMemberRequest>,
) -> ApiResult<HttpResponse> {
    let member = members::add_member(&state.ctx, &caller, path.into_inner(), &body.0).await?;
    Ok(HttpResponse::Created().json(render::member(&member)))
}

/// `DELETE /chats/{chat_id}/members/{user_id}` → 204.
pub async fn remove_member(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (chat_id, user_id) = path.into_inner();
    members::remove_member(&state.ctx, &caller, chat_id, user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
