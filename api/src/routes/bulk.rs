//! Bulk sends and their jobs (API.md "Bulk send").

use actix_web::{HttpResponse, web};
use parley_shared::domain::bulk::{self, BulkOutcome, BulkSendRequest};
use parley_shared::domain::messages::SendOutcome;
use parley_shared::wire::native::dto::{BulkSendRead, JobQueuedRead, JobRead};
use parley_shared::wire::native::render;

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::openapi::{ErrorBody, JsonBodyErrors, Unauthenticated};
use crate::state::ApiState;

/// Send one message to many users, each in their private chat with you.
///
/// Each receiver's private chat with the caller is opened when there is
/// none. Up to `BULK_SYNC_MAX` receivers (default 20) the request sends and
/// answers the messages; above (up to `BULK_MAX_RECEIVERS`, default
/// 10,000) the worker sends them and the answer is `202 {job_id}`: follow
/// it at `GET /api/v1/jobs/{id}`. A receiver who cannot get the message
/// (unknown, blocked either way, private messages off, yourself) is a
/// failure of that receiver, not of the request. Nobody ever gets the
/// message twice: a retry with the same `client_message_id` answers the
/// messages (or the job) of the first request.
#[utoipa::path(
    post,
    path = "/api/v1/messages/bulk",
    tag = "messages",
    request_body = BulkSendRequest,
    responses(
        (status = 201, description = "Sent in the request: the messages and the failures.", body = BulkSendRead),
        (status = 200, description = "A retry of a request sent in full: the messages made the first time.", body = BulkSendRead),
        (status = 202, description = "Handed to the worker: follow the job.", body = JobQueuedRead),
        JsonBodyErrors,
        Unauthenticated,
        (status = 409, description = "`client_message_id_conflict`: a bulk send with this id was started for other receivers or text.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field`: `receiver_ids` empty or too many; `text` empty or over 4,096 characters; `client_message_id` missing, empty or over 64 characters.", body = ErrorBody),
        (status = 429, description = "`rate_limited`: over the sender's message rate; retry after `Retry-After` seconds.", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    ),
    security(("bearer" = []))
)]
pub async fn bulk_send(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<BulkSendRequest>,
) -> ApiResult<HttpResponse> {
    Ok(match bulk::bulk_send(&state.ctx, &caller, &body.0).await? {
        BulkOutcome::Sent {
            messages,
            failures,
            outcome,
        } => {
            let read = render::bulk_sent(&messages, &failures);
            match outcome {
                SendOutcome::Created => HttpResponse::Created().json(read),
                SendOutcome::Existing => HttpResponse::Ok().json(read),
            }
        }
        BulkOutcome::Queued { job_id } => HttpResponse::Accepted().json(JobQueuedRead { job_id }),
    })
}

/// A background job of yours and its progress.
///
/// `state` goes `queued` → `running` → `done`; `done` + `failed` reach
/// `total` when it ends, and `failures` names each receiver who got no
/// message, with the refusal's `code`.
#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}",
    tag = "messages",
    params(("id" = uuid::Uuid, Path, description = "The job's id (from `202 {job_id}`).")),
    responses(
        (status = 200, description = "The job.", body = JobRead),
        Unauthenticated,
        (status = 404, description = "`job_not_found`: no such job of yours; `not_found`: `id` is not a UUID.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn job(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<uuid::Uuid>,
) -> ApiResult<HttpResponse> {
    let job = bulk::job_status(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::job(&job)))
}
