//! Forwarding messages (seed 004 §8).

use actix_web::{HttpResponse, web};
use parley_shared::domain::bulk::{self, ForwardOutcome};
use parley_shared::domain::forwards::{self, ForwardBulkRequest, ForwardRequest};
use parley_shared::domain::messages::SendOutcome;
use parley_shared::wire::native::dto::{JobQueuedRead, MessageRead};
use parley_shared::wire::native::render;

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::openapi::{ErrorBody, JsonBodyErrors, Unauthenticated};
use crate::state::ApiState;

fn status_of(outcome: SendOutcome) -> actix_web::HttpResponseBuilder {
    match outcome {
        SendOutcome::Created => HttpResponse::Created(),
        SendOutcome::Existing => HttpResponse::Ok(),
    }
}

/// Forward a message to another chat.
///
/// The copy is the caller's new message in `target_chat_id`, with the
/// source's type and text and `forwarded_from_message_id` naming the
/// original message (a forward of a forward names the first one). The
/// caller must be able to read the source and post in the target. With
/// `client_message_id`, a retry answers 200 with the copy made the first
/// time.
#[utoipa::path(
    post,
    path = "/api/v1/messages/{id}/forward",
    tag = "messages",
    params(("id" = i64, Path, description = "The message to forward.")),
    request_body = ForwardRequest,
    responses(
        (status = 201, description = "The copy in the target chat.", body = MessageRead),
        (status = 200, description = "A retry with the same `client_message_id`: the copy made the first time.", body = MessageRead),
        JsonBodyErrors,
        Unauthenticated,
        (status = 403, description = "`not_a_member` (of the source's chat or the target); `cannot_post`: only owners and admins post in the target channel; `blocked`: a block stands in the target private chat.", body = ErrorBody),
        (status = 404, description = "`message_not_found`: no such message, deleted, or hidden from the caller; `chat_not_found`: no such target chat.", body = ErrorBody),
        (status = 409, description = "`client_message_id_conflict`: the id was used for another message.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field`: `client_message_id` empty or over 64 characters, or a field missing or of the wrong type.", body = ErrorBody),
        (status = 429, description = "`rate_limited`: over the sender's message rate; retry after `Retry-After` seconds.", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    ),
    security(("bearer" = []))
)]
pub async fn forward(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: JsonBody<ForwardRequest>,
) -> ApiResult<HttpResponse> {
    let (copy, outcome) =
        forwards::forward(&state.ctx, &caller, path.into_inner(), &body.0).await?;
    Ok(status_of(outcome).json(render::message_view(&copy)))
}

/// Forward a message to several chats at once.
///
/// As `forward`. Up to `BULK_SYNC_MAX` target chats (default 20) in the
/// request, all or none: when one target refuses, nothing is sent and the
/// answer is that refusal; the copies come back in target id order, and
/// with `client_message_id` a retry answers 200 with the copies made the
/// first time. More targets (up to `BULK_MAX_RECEIVERS`; then
/// `client_message_id` is required) go to the worker: `202 {job_id}`,
/// progress at `GET /api/v1/jobs/{id}`, where a target the caller cannot
/// post in is a failure of that target (`receiver_id` names the chat).
#[utoipa::path(
    post,
    path = "/api/v1/messages/{id}/forward-bulk",
    tag = "messages",
    params(("id" = i64, Path, description = "The message to forward.")),
    request_body = ForwardBulkRequest,
    responses(
        (status = 201, description = "The copies, one per target chat.", body = [MessageRead]),
        (status = 200, description = "A retry with the same `client_message_id`: the copies made the first time.", body = [MessageRead]),
        (status = 202, description = "Handed to the worker: follow the job.", body = JobQueuedRead),
        JsonBodyErrors,
        Unauthenticated,
        (status = 403, description = "`not_a_member` (of the source's chat or a target); `cannot_post`; `blocked`.", body = ErrorBody),
        (status = 404, description = "`message_not_found`; `chat_not_found`: no such target chat.", body = ErrorBody),
        (status = 409, description = "`client_message_id_conflict`: the id was used for another message.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field`: `target_chat_ids` empty or too many; `client_message_id` empty, over 64 characters, or missing for a job.", body = ErrorBody),
        (status = 429, description = "`rate_limited`: over the sender's message rate; retry after `Retry-After` seconds.", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    ),
    security(("bearer" = []))
)]
pub async fn forward_bulk(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: JsonBody<ForwardBulkRequest>,
) -> ApiResult<HttpResponse> {
    Ok(
        match bulk::forward_bulk(&state.ctx, &caller, path.into_inner(), &body.0).await? {
            ForwardOutcome::Sent { copies, outcome } => {
                status_of(outcome).json(render::message_views(&copies))
            }
            ForwardOutcome::Queued { job_id } => {
                HttpResponse::Accepted().json(JobQueuedRead { job_id })
            }
        },
    )
}
