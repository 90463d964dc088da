//! `/api/v1/users` (seed 004 §6): the profile with its privacy settings,
//! and contacts.

use actix_web::{HttpResponse, web};
use parley_shared::domain::blocks;
use parley_shared::domain::users::{self, EmailRequest, ProfileUpdate, SearchQuery};

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::state::ApiState;

/// `GET /users/me` → 200 `UserRead`.
pub async fn me(state: web::Data<ApiState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(users::me(&state.ctx, &caller).await?))
}

/// `PUT /users/profile` → 200 `UserRead`.
pub async fn update_profile(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<ProfileUpdate>,
) -> ApiResult<HttpResponse> {
    let user = users::update_profile(&state.ctx, &caller, body.0).await?;
    Ok(HttpResponse::Ok().json(user))
}

/// `GET /users/{user_id}` → 200 `UserRead`, privacy applied.
pub async fn get_user(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let user = users::get_user(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(user))
}

/// `GET /users/search?query&limit` → 200 `UserSearchRead[]`.
pub async fn search(
    state: web::Data<ApiState>,
    caller: AuthUser,
    query: web::Query<SearchQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(users::search(&state.ctx, &caller, &query).await?))
}

/// `GET /users/blocked` → 200 `UserSearchRead[]`.
pub async fn list_blocked(state: web::Data<ApiState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(blocks::list_blocked(&state.ctx, &caller).await?))
}

/// `POST /users/{user_id}/block` → 204.
pub async fn block(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    blocks::block(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /users/{user_id}/block` → 204.
pub async fn unblock(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    blocks::unblock(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /users/contacts` → 200 `UserSearchRead[]`.
pub async fn list_contacts(
    state: web::Data<ApiState>,
    caller: AuthUser,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(users::list_contacts(&state.ctx, &caller).await?))
}

/// `POST /users/{user_id}/contacts` → 204.
pub async fn add_contact(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    users::add_contact(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /users/contacts/by-email` → 204.
pub async fn add_contact_by_email(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<EmailRequest>,
) -> ApiResult<HttpResponse> {
    users::add_contact_by_email(&state.ctx, &caller, &body.0.email).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /users/{user_id}/contacts` → 204.
pub async fn remove_contact(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    users::remove_contact(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
