//! `/api/v1/chats/{chat_id}/members` and leaving (seed 004 §7).

use actix_web::{HttpResponse, web};
use parley_shared::domain::members::{self, AddMemberRequest, NicknameRequest, RoleRequest};
use parley_shared::wire::native::dto::ChatMemberRead;
use parley_shared::wire::native::render;

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::openapi::{ErrorBody, JsonBodyErrors, OutsiderErrors, Unauthenticated};
use crate::state::ApiState;

/// List a chat's members, in joining order.
///
/// With their names and usernames, roles and nicknames. Any member may
/// list them.
#[utoipa::path(
    get,
    path = "/api/v1/chats/{chat_id}/members",
    tag = "members",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    responses(
        (status = 200, description = "The members.", body = [ChatMemberRead]),
        Unauthenticated,
        OutsiderErrors,
    ),
    security(("bearer" = []))
)]
pub async fn list_members(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let members = members::list_members(&state.ctx, &caller, path.into_inner()).await?;
    let members: Vec<_> = members.iter().map(render::member).collect();
    Ok(HttpResponse::Ok().json(members))
}

/// Change a member's role.
///
/// The owner only, and not their own role. `role` is `admin`, `moderator`
/// or `member`; `owner` hands the chat over: the member becomes the owner
/// and the caller an admin (one owner per chat). The members hear
/// `member_updated`; setting the role a member already has changes nothing.
#[utoipa::path(
    patch,
    path = "/api/v1/chats/{chat_id}/members/{user_id}/role",
    tag = "members",
    params(("chat_id" = i64, Path, description = "The chat's id."), ("user_id" = i64, Path, description = "The member's user id.")),
    request_body = RoleRequest,
    responses(
        (status = 200, description = "The member with their new role.", body = ChatMemberRead),
        JsonBodyErrors,
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the chat; `private_chat`: a private chat has no roles; `not_chat_admin`: only the owner changes roles; `cannot_change_role`: not the caller's own role.", body = ErrorBody),
        (status = 404, description = "`chat_not_found`; `member_not_found`: the user is not a member; `not_found`: `chat_id` or `user_id` is not an integer.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field: \"role\"`: not one of `owner`, `admin`, `moderator`, `member`, or missing.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
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

/// Set the caller's nickname in a chat.
///
/// Shown instead of their name in this chat; 1–64 characters, `null` or
/// `""` clears it. Any member, any chat. The members hear `member_updated`
/// (nothing when it does not change).
#[utoipa::path(
    patch,
    path = "/api/v1/chats/{chat_id}/members/me",
    tag = "members",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    request_body = NicknameRequest,
    responses(
        (status = 200, description = "The caller as a member, with the nickname.", body = ChatMemberRead),
        JsonBodyErrors,
        Unauthenticated,
        OutsiderErrors,
        (status = 422, description = "`validation_error`, with `field: \"nickname\"`: over 64 characters, or not a string or `null`.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn set_nickname(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: JsonBody<NicknameRequest>,
) -> ApiResult<HttpResponse> {
    let member = members::set_nickname(&state.ctx, &caller, path.into_inner(), &body.0).await?;
    Ok(HttpResponse::Ok().json(render::member(&member)))
}

/// Leave a group or channel.
///
/// The members hear `member_left`. An owner who leaves hands the chat to
/// the longest-standing admin (or member), who becomes the owner. A private
/// chat cannot be left: delete it for yourself instead
/// (`DELETE /api/v1/chats/{chat_id}`).
#[utoipa::path(
    post,
    path = "/api/v1/chats/{chat_id}/leave",
    tag = "members",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    responses(
        (status = 204, description = "Left."),
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the chat; `private_chat`: a private chat cannot be left.", body = ErrorBody),
        (status = 404, description = "`chat_not_found`; `not_found`: `chat_id` is not an integer.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn leave_chat(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    members::leave_chat(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Add a user to a group or channel.
///
/// Owners and admins only. The user joins as a plain member; the members
/// and the new member's sockets hear `member_joined`. No block may stand
/// between the caller and the user, and the user's
/// `privacy_group_invites` must let the caller add them.
#[utoipa::path(
    post,
    path = "/api/v1/chats/{chat_id}/members",
    tag = "members",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    request_body = AddMemberRequest,
    responses(
        (status = 201, description = "The new member.", body = ChatMemberRead),
        JsonBodyErrors,
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the chat; `not_chat_admin`: only the owner and admins add members; `private_chat`: a private chat has exactly its two members; `blocked`: a block stands between the caller and the user; `group_invites_restricted`: the user's `privacy_group_invites` refuses the caller.", body = ErrorBody),
        (status = 404, description = "`chat_not_found`; `user_not_found`; `not_found`: `chat_id` is not an integer.", body = ErrorBody),
        (status = 409, description = "`already_member`.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field: \"user_id\"`: missing or not an integer.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn add_member(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: JsonBody<AddMemberRequest>,
) -> ApiResult<HttpResponse> {
    let member = members::add_member(&state.ctx, &caller, path.into_inner(), &body.0).await?;
    Ok(HttpResponse::Created().json(render::member(&member)))
}

/// Remove a member from a group or channel.
///
/// The owner removes anyone but themself; an admin removes moderators and
/// plain members (a member of a lower rank). The members hear `member_left`
/// (`reason: "removed"`). To remove yourself, leave.
#[utoipa::path(
    delete,
    path = "/api/v1/chats/{chat_id}/members/{user_id}",
    tag = "members",
    params(("chat_id" = i64, Path, description = "The chat's id."), ("user_id" = i64, Path, description = "The member's user id.")),
    responses(
        (status = 204, description = "Removed."),
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the chat; `not_chat_admin`: only the owner and admins remove members; `private_chat`: a private chat has exactly its two members; `cannot_remove`: the member does not rank below the caller (or is the caller).", body = ErrorBody),
        (status = 404, description = "`chat_not_found`; `member_not_found`: the user is not a member; `not_found`: `chat_id` or `user_id` is not an integer.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn remove_member(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (chat_id, user_id) = path.into_inner();
    members::remove_member(&state.ctx, &caller, chat_id, user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
