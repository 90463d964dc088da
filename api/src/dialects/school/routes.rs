//! Seed 002's endpoints: each converts the request, calls the domain
//! operation the native API calls, and converts the answer back.

use actix_web::{HttpResponse, web};
use parley_shared::domain::bulk::{self, BulkOutcome, BulkSendRequest};
use parley_shared::domain::caller::AuthContext;
use parley_shared::domain::chat_delete::{self, DeleteChatQuery};
use parley_shared::domain::chats::{self, ChatCreateRequest};
use parley_shared::domain::history;
use parley_shared::domain::kinds::ChatType;
use parley_shared::domain::messages::{self, MessageCreateRequest};
use parley_shared::domain::receipts;
use parley_shared::domain::users;
use parley_shared::domain::views::ChatView;
use parley_shared::{AppContext, AppError};

use super::convert::{
    BulkQueued, BulkRequest, BulkSent, Conversation, ConversationSummary, Page, PageMessage,
    PageQuery, SendRequest, Sent, time,
};
use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::state::ApiState;

/// The caller's private chats (archived ones too), newest activity first:
/// seed 002 has one list and no archive.
async fn conversations(ctx: &AppContext, auth: &AuthContext) -> ApiResult<Vec<ChatView>> {
    let all = chats::all_chats(ctx, auth).await?;
    Ok(all
        .into_iter()
        .filter(|c| c.row.chat_type == ChatType::Private && !c.row.is_saved)
        .collect())
}

/// A chat of the caller's that is a conversation (a private chat); a
/// group's id is no conversation's: 404.
async fn conversation(ctx: &AppContext, auth: &AuthContext, id: i64) -> ApiResult<ChatView> {
    let detail = chats::get_chat(ctx, auth, id).await?;
    if detail.chat.row.chat_type != ChatType::Private || detail.chat.row.is_saved {
        return Err(
            AppError::not_found("chat_not_found", "This conversation does not exist.").into(),
        );
    }
    Ok(detail.chat)
}

/// §1 `GET /api/v1/conversations`.
pub async fn list(state: web::Data<ApiState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let list = conversations(&state.ctx, &caller).await?;
    let body: Vec<ConversationSummary> = list.iter().map(ConversationSummary::from).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// §2 `POST /api/v1/conversations/with/{otherUserId}`: the private chat
/// with that user, made on first use.
pub async fn with_user(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let request = ChatCreateRequest {
        chat_type: ChatType::Private,
        title: None,
        handle: None,
        description: None,
        is_public: false,
        member_ids: vec![path.into_inner()],
    };
    let (chat, _) = chats::create_chat(&state.ctx, &caller, request).await?;
    Ok(HttpResponse::Ok().json(Conversation::from(&chat)))
}

/// §3 `GET /api/v1/conversations/{conversationId}`.
pub async fn detail(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let chat = conversation(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(Conversation::from(&chat)))
}

/// §4 `DELETE /api/v1/conversations/{conversationId}`: for the caller only.
pub async fn delete(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let chat = conversation(&state.ctx, &caller, path.into_inner()).await?;
    chat_delete::delete_chat(
        &state.ctx,
        &caller,
        chat.row.id,
        &DeleteChatQuery { for_all: false },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// §5 `POST /api/v1/conversations/{id}/read` and §11 `POST
/// /api/v1/messages/conversations/{id}/read`: everything up to the last
/// message is read.
pub async fn read(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let chat = conversation(&state.ctx, &caller, path.into_inner()).await?;
    receipts::read_all(&state.ctx, &caller, chat.row.id).await?;
    Ok(HttpResponse::Ok().finish())
}

/// §6 `GET /api/v1/conversations/unread-count`: a bare number.
pub async fn unread_count(state: web::Data<ApiState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let list = conversations(&state.ctx, &caller).await?;
    let total: i64 = list.iter().map(|c| c.row.unread_count).sum();
    Ok(HttpResponse::Ok().json(total))
}

/// §7 `POST /api/v1/messages` (under `/compat/school`).
pub async fn send(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<SendRequest>,
) -> ApiResult<HttpResponse> {
    let request = MessageCreateRequest {
        chat_id: body.0.conversation_id,
        message_type: None,
        text: body.0.content,
        client_message_id: None,
        reply_to_message_id: None,
    };
    let (view, _) = messages::send_message(&state.ctx, caller.user_id, &request).await?;
    let me = users::me(&state.ctx, &caller).await?;
    let message = view.message;
    Ok(HttpResponse::Ok().json(Sent {
        message_id: message.id,
        conversation_id: message.chat_id,
        sender_id: caller.user_id,
        sender_name: me.name,
        content: message.text.unwrap_or_default(),
        sent_at: time(message.created_at),
        is_read: false,
    }))
}

/// §8 `POST /api/v1/messages/bulk` (under `/compat/school`): the native
/// bulk send; the document has no idempotency key, so each request is a
/// new send. Past `BULK_SYNC_MAX` receivers the worker sends it: `202
/// {"jobId"}`.
pub async fn bulk_send(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<BulkRequest>,
) -> ApiResult<HttpResponse> {
    let request = BulkSendRequest {
        receiver_ids: body.0.receiver_ids,
        text: body.0.content,
        client_message_id: format!("school-bulk-{}", uuid::Uuid::new_v4()),
    };
    Ok(
        match bulk::bulk_send(&state.ctx, &caller, &request).await? {
            BulkOutcome::Sent {
                messages, failures, ..
            } => {
                // In receiver order, without the receivers who got nothing.
                let mut seen = std::collections::HashSet::new();
                let receivers = request
                    .receiver_ids
                    .iter()
                    .filter(|id| seen.insert(**id))
                    .filter(|id| !failures.iter().any(|f| f.receiver_id == **id));
                let body: Vec<BulkSent> = receivers
                    .zip(&messages)
                    .map(|(receiver_id, view)| BulkSent {
                        message_id: view.message.id,
                        conversation_id: view.message.chat_id,
                        receiver_id: *receiver_id,
                        content: view.message.text.clone().unwrap_or_default(),
                        sent_at: time(view.message.created_at),
                    })
                    .collect();
                HttpResponse::Ok().json(body)
            }
            BulkOutcome::Queued { job_id } => HttpResponse::Accepted().json(BulkQueued {
                job_id: job_id.to_string(),
            }),
        },
    )
}

/// §9 `GET /api/v1/messages/conversations/{id}?cursor&size`: newest
/// first; `cursor` is the highest id to include (the previous page's
/// `nextCursor`), `size` 1–100 (default 20).
pub async fn page(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    if query.size.is_some_and(|size| !(1..=100).contains(&size)) {
        return Err(AppError::validation("size", "size must be 1 to 100.").into());
    }
    let detail = chats::get_chat(&state.ctx, &caller, path.into_inner()).await?;
    let before_id = query.cursor.map(|c| c.saturating_add(1));
    let (mut views, has_next) = history::list_older(
        &state.ctx,
        &caller,
        detail.chat.row.id,
        before_id,
        query.size,
        20,
    )
    .await?;
    views.reverse();
    // A private chat's avatar is the other member's.
    let sender = |id: Option<i64>| {
        let avatar = (id == detail.chat.row.counterpart_user_id)
            .then(|| detail.chat.avatar_url.clone())
            .flatten();
        let name = detail.members.iter().find(|m| Some(m.user_id) == id);
        (name.map(|m| m.name.clone()).unwrap_or_default(), avatar)
    };
    let messages: Vec<PageMessage> = views
        .iter()
        // Seed 002 shows no deleted messages.
        .filter(|v| !v.message.deleted)
        .map(|v| PageMessage::new(v, caller.user_id, sender(v.message.sender_id)))
        .collect();
    let next_cursor = if has_next {
        messages.last().map(|m| m.message_id - 1)
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(Page {
        messages,
        next_cursor,
        has_next,
    }))
}

/// §10 `DELETE /api/v1/messages/{messageId}` (under `/compat/school`): for
/// everyone; the domain allows it to the sender only in a private chat.
pub async fn delete_message(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    messages::delete_message(&state.ctx, &caller, path.into_inner(), true).await?;
    Ok(HttpResponse::NoContent().finish())
}
