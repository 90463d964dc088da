//! `/api/v1/messages` (seed 004 §8).

use actix_web::{HttpResponse, web};
use parley_shared::domain::messages::{self, ListMessagesQuery, MessageCreateRequest, SendOutcome};
use parley_shared::domain::receipts::{self, StatusUpdateRequest};
use parley_shared::wire::native::dto::MessageUpdateRequest;
use parley_shared::wire::native::render;

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::state::ApiState;

/// `POST /messages` → 201 `MessageRead`; a retry with the same
/// `client_message_id` → 200 with the original message.
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

/// `GET /messages/{chat_id}?limit&before_id&after_id` → 200 `MessageRead[]`, oldest first.
pub async fn list_messages(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<ListMessagesQuery>,
) -> ApiResult<HttpResponse> {
    let page =
        messages::list_messages(&state.ctx, &caller, path.into_inner(), query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::message_views(&page)))
}

/// `PUT /messages/{id}` → 200 `MessageRead`.
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
#[derive(Debug, serde::Deserialize)]
pub struct DeleteQuery {
    #[serde(default)]
    pub for_all: bool,
}

/// `DELETE /messages/{id}?for_all=` → 204.
pub async fn delete_message(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<DeleteQuery>,
) -> ApiResult<HttpResponse> {
    messages::delete_message(&state.ctx, &caller, path.into_inner(), query.for_all).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /messages/{id}/edits` → 200 `MessageEditRead[]`, oldest first.
pub async fn list_edits(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let edits = messages::message_edits(&state.ctx, &caller, path.into_inner()).await?;
    let edits: Vec<_> = edits.iter().map(render::message_edit).collect();
    Ok(HttpResponse::Ok().json(edits))
}

/// `POST /messages/status` → 200 `{last_delivered_message_id, last_read_message_id}`.
pub async fn update_status(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<StatusUpdateRequest>,
) -> ApiResult<HttpResponse> {
    let positions = receipts::update_status(&state.ctx, &caller, &body.0).await?;
    Ok(HttpResponse::Ok().json(positions))
}
