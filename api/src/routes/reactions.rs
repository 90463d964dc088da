//! Reactions (seed 004 §8).

use actix_web::{HttpResponse, web};
use parley_shared::domain::reactions::{self, ReactionToggleRequest};
use parley_shared::wire::native::dto::MessageReactionRead;
use parley_shared::wire::native::render;

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::openapi::{ErrorBody, JsonBodyErrors, Unauthenticated};
use crate::state::ApiState;

/// A message's reactions.
///
/// One entry per emoji, the most used first, with `reacted`: whether the
/// caller is among them.
#[utoipa::path(
    get,
    path = "/api/v1/messages/{id}/reactions",
    tag = "messages",
    params(("id" = i64, Path, description = "The message's id.")),
    responses(
        (status = 200, description = "The reactions, the most used first.", body = [MessageReactionRead]),
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the message's chat.", body = ErrorBody),
        (status = 404, description = "`message_not_found`: no such message, or hidden from the caller; `not_found`: `id` is not an integer.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_reactions(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let found = reactions::list_reactions(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::reactions(&found.counts, &found.mine)))
}

/// Add or take back the caller's reaction.
///
/// One reaction per user per emoji: the first toggle adds `emoji`, the next
/// takes it back. Any member may react (a channel's readers too), not to a
/// deleted message, not across a block in a private chat. The members hear
/// `reactions_updated` (with its `seq`).
#[utoipa::path(
    post,
    path = "/api/v1/messages/{id}/reactions/toggle",
    tag = "messages",
    params(("id" = i64, Path, description = "The message's id.")),
    request_body = ReactionToggleRequest,
    responses(
        (status = 200, description = "The message's reactions after the toggle.", body = [MessageReactionRead]),
        JsonBodyErrors,
        Unauthenticated,
        (status = 403, description = "`not_a_member`; `blocked`: a block stands in this private chat.", body = ErrorBody),
        (status = 404, description = "`message_not_found`: no such message, deleted, or hidden from the caller.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field: \"emoji\"`: not exactly one emoji.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn toggle_reaction(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: JsonBody<ReactionToggleRequest>,
) -> ApiResult<HttpResponse> {
    let found = reactions::toggle_reaction(&state.ctx, &caller, path.into_inner(), &body.0).await?;
    Ok(HttpResponse::Ok().json(render::reactions(&found.counts, &found.mine)))
}
