//! `/api/v1/messages` (seed 004 §8).

use actix_web::{HttpResponse, web};
use parley_shared::domain::history::{self, ListMessagesQuery};
use parley_shared::domain::messages::{self, MessageCreateRequest, SendOutcome};
use parley_shared::domain::receipts::{self, StatusPositions, StatusUpdateRequest};
use parley_shared::domain::search::{self, MessageSearchQuery};
use parley_shared::domain::threads::{self, ThreadQuery};
use parley_shared::wire::native::dto::{
    MessageEditRead, MessageRead, MessageSearchRead, MessageUpdateRequest,
};
use parley_shared::wire::native::render;

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::openapi::{ErrorBody, JsonBodyErrors, Unauthenticated};
use crate::state::ApiState;

/// Send a text message.
///
/// `text` 1–4,096 characters (not only spaces); `type` is `text` or
/// absent. `reply_to_message_id` must be a message of the same chat.
/// `@username` mentions are recorded. The members' sockets hear
/// `message_created`.
///
/// Idempotent by `client_message_id` (1–64 characters, unique per sender):
/// a retry with the same id, chat and text answers 200 with the original
/// message and writes nothing, even when the first answer was lost; a
/// retry is answered even over the rate limit. In a channel only owners
/// and admins post; in a private chat no block may stand between the two.
///
/// Limited per sender (`MESSAGE_RATE_LIMIT_PER_MINUTE`), and the same text
/// to the same chat again within `DUPLICATE_MESSAGE_COOLDOWN_SECONDS` is
/// refused.
#[utoipa::path(
    post,
    path = "/api/v1/messages",
    tag = "messages",
    request_body = MessageCreateRequest,
    responses(
        (status = 201, description = "Sent: the new message.", body = MessageRead),
        (status = 200, description = "A retry of an earlier send with the same `client_message_id`: the original message.", body = MessageRead),
        JsonBodyErrors,
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the chat; `cannot_post`: only owners and admins post in a channel; `blocked`: a private chat with a block between the two.", body = ErrorBody),
        (status = 404, description = "`chat_not_found`.", body = ErrorBody),
        (status = 409, description = "`client_message_id_conflict`: the caller already used this `client_message_id` for another message (another chat or text).", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field`: `text` empty or over 4,096 characters; `type` other than `text`; `client_message_id` empty or over 64 characters; `reply_to_message_id` not a message of this chat; or a field missing or of the wrong type.", body = ErrorBody),
        (status = 429, description = "`rate_limited`: over the sender's message rate, or the same text sent to this chat again within the duplicate cooldown; retry after `Retry-After` seconds.", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    ),
    security(("bearer" = []))
)]
pub async fn create_message(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<MessageCreateRequest>,
) -> ApiResult<HttpResponse> {
    let (message, outcome) = messages::send_message(&state.ctx, caller.user_id, &body.0).await?;
    let message = render::message_view(&message);
    Ok(match outcome {
        SendOutcome::Created => HttpResponse::Created().json(message),
        SendOutcome::Existing => HttpResponse::Ok().json(message),
    })
}

/// List a page of a chat's messages, oldest first.
///
/// Without a cursor, the newest `limit` messages; with `before_id`, those
/// just before that message; with `after_id`, those just after it (not
/// both). `limit` 1–100, default 50. Messages the caller hid or cleared
/// are left out; a message deleted for everyone stays as a tombstone
/// (`deleted: true`, `text: null`). `delivery_status` of the caller's own
/// messages is how far the other members got; of others' messages, how far
/// the caller got.
#[utoipa::path(
    get,
    path = "/api/v1/messages/{id}",
    tag = "messages",
    params(("id" = i64, Path, description = "The chat's id (this route lists a chat's messages)."), ListMessagesQuery),
    responses(
        (status = 200, description = "A page of messages, oldest first.", body = [MessageRead]),
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the chat.", body = ErrorBody),
        (status = 404, description = "`chat_not_found`; `not_found`: `id` is not an integer.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field`: `limit` outside 1..=100; `after_id` when both cursors are given; `query` when the query string does not parse.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_messages(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<ListMessagesQuery>,
) -> ApiResult<HttpResponse> {
    let page =
        history::list_messages(&state.ctx, &caller, path.into_inner(), query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::message_views(&page)))
}

/// Edit the text of one of the caller's messages.
///
/// `text` 1–4,096 characters. The old text is kept in the message's
/// history (`GET /api/v1/messages/{id}/edits`) and `edited_at` is set; the
/// members' sockets hear `message_updated`. Only the sender edits, and not
/// once the message is deleted.
#[utoipa::path(
    put,
    path = "/api/v1/messages/{id}",
    tag = "messages",
    params(("id" = i64, Path, description = "The message's id.")),
    request_body = MessageUpdateRequest,
    responses(
        (status = 200, description = "The edited message.", body = MessageRead),
        JsonBodyErrors,
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the message's chat; `not_message_sender`: only the sender edits.", body = ErrorBody),
        (status = 404, description = "`message_not_found`: no such message, deleted, or hidden from the caller; `not_found`: `id` is not an integer.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field: \"text\"`: empty, over 4,096 characters, or missing.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_message(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: JsonBody<MessageUpdateRequest>,
) -> ApiResult<HttpResponse> {
    let message =
        messages::edit_message(&state.ctx, &caller, path.into_inner(), &body.0.text).await?;
    Ok(HttpResponse::Ok().json(render::message_view(&message)))
}

/// Query of `DELETE /messages/{id}`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// `true` deletes the message for everyone; `false` (the default) hides
    /// it for the caller only.
    #[serde(default)]
    pub for_all: bool,
}

/// Delete a message, for the caller or for everyone.
///
/// `for_all=true` deletes it for everyone: allowed to the sender and, in a
/// group or channel, to owners, admins and moderators. It stays as a
/// tombstone (`deleted: true`, `text: null`) and every replay forgets its
/// text; the members' sockets hear `message_deleted`. Without `for_all`,
/// the message is hidden for the caller only (their other devices hear
/// `message_deleted` with `for_all: false`). Deleting twice is not an
/// error.
#[utoipa::path(
    delete,
    path = "/api/v1/messages/{id}",
    tag = "messages",
    params(("id" = i64, Path, description = "The message's id."), DeleteQuery),
    responses(
        (status = 204, description = "Deleted."),
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the message's chat; `cannot_delete_for_all`: `for_all=true` on someone else's message without the right.", body = ErrorBody),
        (status = 404, description = "`message_not_found`: no such message, or hidden from the caller; `not_found`: `id` is not an integer.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field: \"query\"`: the query string does not parse (`for_all` must be `true` or `false`).", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete_message(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<DeleteQuery>,
) -> ApiResult<HttpResponse> {
    messages::delete_message(&state.ctx, &caller, path.into_inner(), query.for_all).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List a message's earlier texts, oldest first.
///
/// One entry per edit: the text before it and when it was edited.
#[utoipa::path(
    get,
    path = "/api/v1/messages/{id}/edits",
    tag = "messages",
    params(("id" = i64, Path, description = "The message's id.")),
    responses(
        (status = 200, description = "The message's edit history.", body = [MessageEditRead]),
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the message's chat.", body = ErrorBody),
        (status = 404, description = "`message_not_found`: no such message, or hidden from the caller; `not_found`: `id` is not an integer.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_edits(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let edits = history::message_edits(&state.ctx, &caller, path.into_inner()).await?;
    let edits: Vec<_> = edits.iter().map(render::message_edit).collect();
    Ok(HttpResponse::Ok().json(edits))
}

/// Mark messages of a chat delivered or read.
///
/// Moves the caller's delivered (`status: "message_delivered"`) or read
/// and delivered (`status: "message_read"`) position in `chat_id` up to
/// `message_id`; positions never move back, and unread counts follow them.
/// When a position moved, the members hear `message_delivered` /
/// `message_read` (with the chat's `read_receipts_enabled` off,
/// `message_read` reaches only the caller's own devices).
#[utoipa::path(
    post,
    path = "/api/v1/messages/status",
    tag = "messages",
    request_body = StatusUpdateRequest,
    responses(
        (status = 200, description = "The caller's positions in the chat after the update.", body = StatusPositions),
        JsonBodyErrors,
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the chat.", body = ErrorBody),
        (status = 404, description = "`chat_not_found`; `message_not_found`: no such message in this chat.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field`: `status` not `message_delivered` or `message_read`, or a field missing or of the wrong type.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_status(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<StatusUpdateRequest>,
) -> ApiResult<HttpResponse> {
    let positions = receipts::update_status(&state.ctx, &caller, &body.0).await?;
    Ok(HttpResponse::Ok().json(positions))
}

/// A message and the replies under it.
///
/// The message first, then its replies breadth first by reply links (its
/// direct replies, their replies, ...; each level in sending order), as the
/// caller sees them: messages they hid or cleared are left out, a reply
/// deleted for everyone stays as a tombstone.
#[utoipa::path(
    get,
    path = "/api/v1/messages/{id}/thread",
    tag = "messages",
    params(("id" = i64, Path, description = "The thread's root message."), ThreadQuery),
    responses(
        (status = 200, description = "The root, then the replies breadth first.", body = [MessageRead]),
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the message's chat.", body = ErrorBody),
        (status = 404, description = "`message_not_found`: no such message, or hidden from the caller; `not_found`: `id` is not an integer.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field: \"limit\"`: outside 1..=500.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn thread(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<ThreadQuery>,
) -> ApiResult<HttpResponse> {
    let thread =
        threads::thread(&state.ctx, &caller, path.into_inner(), query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::message_views(&thread)))
}

/// Search your messages.
///
/// Korean, Chinese and Japanese are found inside words ("회의" finds
/// "회의는"); other scripts by whole words, case and accents ignored. Every
/// word of the query must be there. You find only messages you can read
/// now (your chats, not deleted, not hidden or cleared by you, not past
/// the chat's retention), the most relevant first, then the newest. A
/// query under 2 characters finds nothing.
#[utoipa::path(
    get,
    path = "/api/v1/messages/search",
    tag = "messages",
    operation_id = "search_messages",
    params(MessageSearchQuery),
    responses(
        (status = 200, description = "The messages found, with `highlight`.", body = [MessageSearchRead]),
        Unauthenticated,
        (status = 403, description = "`not_a_member`: `chat_id` is not one of your chats.", body = ErrorBody),
        (status = 404, description = "`chat_not_found`: no chat `chat_id`.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field: \"limit\"`: outside 1..=100.", body = ErrorBody),
        (status = 503, description = "`search_unavailable`: Meilisearch (when configured) failed or did not answer in `SEARCH_TIMEOUT_MS`; only searches get it.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn search(
    state: web::Data<ApiState>,
    caller: AuthUser,
    query: web::Query<MessageSearchQuery>,
) -> ApiResult<HttpResponse> {
    let hits = search::search_messages(&state.ctx, &caller, &query).await?;
    Ok(HttpResponse::Ok().json(render::search_hits(&hits)))
}
