//! `/api/v1/users` (seed 004 §6): the profile with its privacy settings,
//! and contacts.

use actix_web::{HttpResponse, web};
use parley_shared::domain::blocks;
use parley_shared::domain::users::{
    self, EmailRequest, ProfileUpdate, SearchQuery, UserRead, UserSearchRead,
};

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::openapi::{ErrorBody, JsonBodyErrors, Unauthenticated};
use crate::state::ApiState;

/// The caller's profile, with its privacy settings.
///
/// In full: no privacy setting hides anything of one's own profile, and
/// `twofa_enabled` is filled in. `GET /api/v1/auth/me` answers the account.
#[utoipa::path(
    get,
    path = "/api/v1/users/me",
    operation_id = "users_me",
    tag = "users",
    responses(
        (status = 200, description = "The caller's profile.", body = UserRead),
        Unauthenticated,
    ),
    security(("bearer" = []))
)]
pub async fn me(state: web::Data<ApiState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(users::me(&state.ctx, &caller).await?))
}

/// Change the caller's profile and privacy settings.
///
/// Every field is optional; those present are set. `name` 1–64
/// characters, `username` 3–32 ASCII letters, digits or `_` (a leading `@`
/// is dropped), `bio` up to 500, `avatar_url` up to 2,048 (`""` clears
/// `bio` and `avatar_url`). The privacy settings (`privacy_last_seen`,
/// `privacy_email`, `privacy_avatar`, `privacy_group_invites`) take
/// `everyone`, `contacts` (users in the caller's contact list) or `nobody`;
/// `allow_private_messages: false` refuses new private chats.
#[utoipa::path(
    put,
    path = "/api/v1/users/profile",
    tag = "users",
    request_body = ProfileUpdate,
    responses(
        (status = 200, description = "The caller's profile as it now is.", body = UserRead),
        JsonBodyErrors,
        Unauthenticated,
        (status = 409, description = "`username_taken`.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field`: `name`, `username`, `bio` or `avatar_url` breaks a rule above, or a field is of the wrong type (a privacy setting not `everyone`, `contacts` or `nobody`).", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_profile(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<ProfileUpdate>,
) -> ApiResult<HttpResponse> {
    let user = users::update_profile(&state.ctx, &caller, body.0).await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Get a user's profile, privacy applied.
///
/// Another user's `email` and `avatar_url` are `null` where their privacy
/// settings hide them from the caller, and `twofa_enabled` is `null`. The
/// caller's own id answers their full profile.
#[utoipa::path(
    get,
    path = "/api/v1/users/{user_id}",
    tag = "users",
    params(("user_id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "The user's profile as the caller may see it.", body = UserRead),
        Unauthenticated,
        (status = 404, description = "`user_not_found`; `not_found`: `user_id` is not an integer.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_user(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let user = users::get_user(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Search users by username or name.
///
/// Users whose username starts with, or whose name contains, `query`
/// (case-insensitive; a leading `@` is dropped): exact username first, then
/// username matches, then name matches. A query shorter than 2 characters
/// answers `[]`. The caller and users who blocked the caller are left out;
/// `email` and `avatar_url` follow each user's privacy. `limit` 1–50,
/// default 20.
#[utoipa::path(
    get,
    path = "/api/v1/users/search",
    tag = "users",
    params(SearchQuery),
    responses(
        (status = 200, description = "The users found.", body = [UserSearchRead]),
        Unauthenticated,
        (status = 422, description = "`validation_error`, with `field`: `limit` outside 1..=50, or `query` when the query string does not parse.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn search(
    state: web::Data<ApiState>,
    caller: AuthUser,
    query: web::Query<SearchQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(users::search(&state.ctx, &caller, &query).await?))
}

/// List the users the caller blocked, latest first.
#[utoipa::path(
    get,
    path = "/api/v1/users/blocked",
    tag = "users",
    responses(
        (status = 200, description = "The blocked users.", body = [UserSearchRead]),
        Unauthenticated,
    ),
    security(("bearer" = []))
)]
pub async fn list_blocked(state: web::Data<ApiState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(blocks::list_blocked(&state.ctx, &caller).await?))
}

/// Block a user.
///
/// Between the two there is then no new private chat and no message in
/// their private chat (either way); the blocked user cannot add the caller
/// to a group, neither sees the other's presence, and the caller is left
/// out of the blocked user's searches. Existing chats stay. Blocking twice
/// changes nothing.
#[utoipa::path(
    post,
    path = "/api/v1/users/{user_id}/block",
    tag = "users",
    params(("user_id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 204, description = "Blocked."),
        Unauthenticated,
        (status = 404, description = "`user_not_found`; `not_found`: `user_id` is not an integer.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field: \"user_id\"`: the caller themself.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn block(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    blocks::block(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Unblock a user.
///
/// Everything a block prevented works again. Unblocking a user who is not
/// blocked changes nothing.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{user_id}/block",
    tag = "users",
    params(("user_id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 204, description = "Unblocked."),
        Unauthenticated,
        (status = 404, description = "`user_not_found`; `not_found`: `user_id` is not an integer.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field: \"user_id\"`: the caller themself.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn unblock(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    blocks::unblock(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List the caller's contacts, by name.
///
/// Each contact's `email` and `avatar_url` follow that contact's privacy.
#[utoipa::path(
    get,
    path = "/api/v1/users/contacts",
    tag = "users",
    responses(
        (status = 200, description = "The caller's contacts.", body = [UserSearchRead]),
        Unauthenticated,
    ),
    security(("bearer" = []))
)]
pub async fn list_contacts(
    state: web::Data<ApiState>,
    caller: AuthUser,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(users::list_contacts(&state.ctx, &caller).await?))
}

/// Add a user to the caller's contacts.
///
/// Adding a contact again changes nothing. The caller's contacts see what
/// the caller's privacy settings allow to `contacts`.
#[utoipa::path(
    post,
    path = "/api/v1/users/{user_id}/contacts",
    tag = "users",
    params(("user_id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 204, description = "Added."),
        Unauthenticated,
        (status = 404, description = "`user_not_found`; `not_found`: `user_id` is not an integer.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field: \"user_id\"`: the caller themself.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn add_contact(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    users::add_contact(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Add the user with an email address to the caller's contacts.
///
/// The answer is the same (204) whether or not the address belongs to
/// anyone, so that addresses cannot be probed.
#[utoipa::path(
    post,
    path = "/api/v1/users/contacts/by-email",
    tag = "users",
    request_body = EmailRequest,
    responses(
        (status = 204, description = "Done (whether or not a user has the address)."),
        JsonBodyErrors,
        Unauthenticated,
        (status = 422, description = "`validation_error`, with `field: \"email\"`: not a valid address, or missing.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn add_contact_by_email(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<EmailRequest>,
) -> ApiResult<HttpResponse> {
    users::add_contact_by_email(&state.ctx, &caller, &body.0.email).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Remove a user from the caller's contacts.
///
/// Removing someone who is not a contact changes nothing.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{user_id}/contacts",
    tag = "users",
    params(("user_id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 204, description = "Removed."),
        Unauthenticated,
        (status = 404, description = "`not_found`: `user_id` is not an integer.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn remove_contact(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    users::remove_contact(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
