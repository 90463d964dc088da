//! `GET /api/v1/search` (seed 004 §11).

use actix_web::{HttpResponse, web};
use parley_shared::domain::search::{self, GlobalSearchQuery};
use parley_shared::domain::users::UserSearchRead;
use parley_shared::wire::native::dto::{ChatRead, MessageSearchRead};
use parley_shared::wire::native::render;
use serde::Serialize;

use crate::error::ApiResult;
use crate::extract::AuthUser;
use crate::openapi::{ErrorBody, Unauthenticated};
use crate::state::ApiState;

/// `GlobalSearchRead` (seed 004 §3.6).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GlobalSearchRead {
    pub users: Vec<UserSearchRead>,
    pub chats: Vec<ChatRead>,
    pub messages: Vec<MessageSearchRead>,
}

/// Search users, your chats and your messages at once.
///
/// `users` as `GET /api/v1/users/search`, `chats` as `GET /api/v1/chats?query=`
/// (archived ones too), `messages` as `GET /api/v1/messages/search`, each
/// with its own limit. A query under 2 characters finds nothing.
#[utoipa::path(
    get,
    path = "/api/v1/search",
    tag = "messages",
    operation_id = "search_all",
    params(GlobalSearchQuery),
    responses(
        (status = 200, description = "Users, chats and messages found.", body = GlobalSearchRead),
        Unauthenticated,
        (status = 422, description = "`validation_error`, with `field`: a limit outside its range.", body = ErrorBody),
        (status = 503, description = "`search_unavailable`: Meilisearch (when configured) failed or did not answer in `SEARCH_TIMEOUT_MS`; only searches get it.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn search_all(
    state: web::Data<ApiState>,
    caller: AuthUser,
    query: web::Query<GlobalSearchQuery>,
) -> ApiResult<HttpResponse> {
    let found = search::search_all(&state.ctx, &caller, &query).await?;
    Ok(HttpResponse::Ok().json(GlobalSearchRead {
        users: found.users,
        chats: render::chat_views(&found.chats),
        messages: render::search_hits(&found.messages),
    }))
}
