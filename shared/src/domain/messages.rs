//! Messages (seed 004 §8, first part): send (idempotent by
//! `client_message_id`), edit with history, delete for me / for all.
//! Reading them (pages, counts, visibility): [`crate::domain::history`].
//!
//! Every durable change takes the chat's next seq and appends to
//! `chat_events` in the same transaction (ARCHITECTURE §2); the event is
//! published after commit. The REST handlers and the socket's `send` frame
//! both call [`send_message`], which checks the rate limits and hands the
//! new message to the process's group commit
//! ([`crate::domain::group_commit`]); a retry comes back from the batch as
//! one and is answered with the message that holds its key.

use chrono::{DateTime, Utc};

use crate::domain::caller::AuthContext;
use crate::domain::chats::require_member;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::events::DomainEvent;
use crate::domain::group_commit::{self, DUPLICATE_CODE, NewPost};
use crate::domain::history::{message_not_found, read_for, visible_message};
use crate::domain::live::{self, LiveEvent};
use crate::domain::models::attachment::Attachment;
use crate::domain::models::reaction::Reaction;
use crate::domain::models::{Message, MessageType, event};
use crate::domain::permissions::{self, Action};
use crate::domain::validate;
use crate::domain::views::MessageView;
use crate::infra::bus::Topic;
use crate::infra::ratelimit::Limit;
use crate::telemetry::metrics::RATE_LIMIT_REFUSALS;

/// The longest message text, in characters.
pub const MAX_TEXT_CHARS: usize = 4096;
/// The longest `client_message_id`, in characters.
pub const MAX_CLIENT_ID_CHARS: usize = 64;

/// `MessageCreateRequest` (seed 004 §3.4): what [`send_message`] takes.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct MessageCreateRequest {
    pub chat_id: i64,
    #[serde(rename = "type", default)]
    pub message_type: Option<MessageType>,
    pub text: String,
    #[serde(default)]
    pub client_message_id: Option<String>,
    #[serde(default)]
    pub reply_to_message_id: Option<i64>,
}

/// What [`send_message`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendOutcome {
    /// A new message (HTTP 201).
    Created,
    /// A retry of an earlier send with the same `client_message_id`: the
    /// original message, nothing written (HTTP 200).
    Existing,
}

fn validate_caption(text: &str) -> AppResult<()> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::validation(
            "text",
            format!("text must be at most {MAX_TEXT_CHARS} characters."),
        ));
    }
    Ok(())
}

pub(crate) fn validate_text(text: &str) -> AppResult<()> {
    if text.trim().is_empty() {
        return Err(AppError::validation("text", "text must not be empty."));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::validation(
            "text",
            format!("text must be at most {MAX_TEXT_CHARS} characters."),
        ));
    }
    Ok(())
}

/// A send whose `client_message_id` the sender already used must be a
/// retry of that send: the same chat and the same text (once deleted, the
/// text is gone, so the chat alone decides).
///
/// Errors: 409 `client_message_id_conflict` otherwise (issue 6, item 9).
fn check_retry(existing: &Message, req: &MessageCreateRequest) -> AppResult<()> {
    let same = existing.chat_id == req.chat_id
        && (existing.deleted_at.is_some() || existing.text == req.text);
    if same {
        Ok(())
    } else {
        Err(AppError::conflict(
            "client_message_id_conflict",
            "client_message_id was already used for another message.",
        ))
    }
}

/// Sends a message as `sender_id`: a text (non-empty `text`), or a media
/// message of any other type of seed 004 §2 whose `text` is an optional
/// caption and whose files are attached next. A retry with the same
/// `client_message_id` returns the original message and writes nothing, on
/// any replica, concurrently or later.
///
/// Errors: 422 for empty (a text) / too long text, a bad
/// `client_message_id` or a `reply_to_message_id` outside the chat; 404
/// `chat_not_found`; 403 `not_a_member` / `cannot_post` / `blocked` (a
/// private chat with a block between the two, [`crate::domain::blocks`]).
pub async fn send_message(
    ctx: &AppContext,
    sender_id: i64,
    req: &MessageCreateRequest,
) -> AppResult<(MessageView, SendOutcome)> {
    match req.message_type.unwrap_or(MessageType::Text) {
        MessageType::Text => validate_text(&req.text)?,
        // A media message's text is its caption, which may be empty; its
        // files follow (`POST /media/attachments`, seed 004 §9).
        _ => validate_caption(&req.text)?,
    }
    let client_id = match req.client_message_id.as_deref() {
        Some(id) => Some(validate::text_field(
            "client_message_id",
            id,
            1,
            MAX_CLIENT_ID_CHARS,
        )?),
        None => None,
    };
    send(ctx, sender_id, req, client_id, Throttle::PerSender).await
}

/// Whether a send counts against the sender's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Throttle {
    /// A request of the sender: the message rate limit and the duplicate
    /// cooldown apply.
    PerSender,
    /// A job sending on the sender's behalf (a bulk send): the request that
    /// started it was limited once.
    OnBehalf,
}

/// [`send_message`] after validation: `client_id` is the (validated or
/// derived) idempotency key of the message.
///
/// A retry (a `client_id` that names a message already) is found by the
/// write, with the other sends of its batch in one lookup, and answered
/// with that message (`SendOutcome::Existing`). Under a limit a retry
/// counts like a send, but a retry refused by a limit is still answered
/// with its message.
pub(crate) async fn send(
    ctx: &AppContext,
    sender_id: i64,
    req: &MessageCreateRequest,
    client_id: Option<String>,
    throttle: Throttle,
) -> AppResult<(MessageView, SendOutcome)> {
    if throttle == Throttle::PerSender
        && let Err(refusal) = check_limits(ctx, sender_id, req).await
    {
        if let Some(cid) = &client_id
            && let Some(answer) = earlier_send(ctx, sender_id, cid, req).await?
        {
            return Ok(answer);
        }
        return Err(refusal);
    }
    let post = NewPost {
        chat_id: req.chat_id,
        message_type: req.message_type.unwrap_or(MessageType::Text),
        text: req.text.clone(),
        reply_to_message_id: req.reply_to_message_id,
        client_message_id: client_id.clone(),
    };
    // Written with the sends that arrive beside it, and published.
    match group_commit::post(ctx, sender_id, post).await {
        Ok((_, read)) => Ok((read, SendOutcome::Created)),
        // A retry, or a concurrent retry committed first: answer with the
        // message that holds the key.
        Err(AppError::Conflict { code, .. }) if code == DUPLICATE_CODE => {
            let cid = client_id.as_deref().unwrap_or_default();
            earlier_send(ctx, sender_id, cid, req)
                .await?
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("duplicate vanished")))
        }
        Err(err) => Err(err),
    }
}

/// The sender's limits: the message rate limit, then the duplicate
/// cooldown (seed 004 §12).
///
/// Errors: 429 `rate_limited`.
async fn check_limits(
    ctx: &AppContext,
    sender_id: i64,
    req: &MessageCreateRequest,
) -> AppResult<()> {
    ctx.limits
        .check(Limit::Message, &sender_id.to_string())
        .await?;
    let cooldown = ctx.settings.limits.duplicate_message_cooldown_seconds;
    if cooldown > 0 && !req.text.is_empty() {
        let mut conn = ctx.db.get().await?;
        if let Some(age) =
            Message::same_text_age(&mut conn, req.chat_id, sender_id, &req.text).await?
            && age < cooldown
        {
            metrics::counter!(RATE_LIMIT_REFUSALS, "limit" => "duplicate").increment(1);
            return Err(AppError::RateLimited {
                retry_after_secs: (cooldown - age).max(1) as u64,
            });
        }
    }
    Ok(())
}

/// The answer to a retry: the message `sender_id` sent with `client_id`,
/// as they read it, if there is one.
///
/// Errors: 409 `client_message_id_conflict` when the key names another
/// message; 403 `not_a_member` when the sender left the chat since.
async fn earlier_send(
    ctx: &AppContext,
    sender_id: i64,
    client_id: &str,
    req: &MessageCreateRequest,
) -> AppResult<Option<(MessageView, SendOutcome)>> {
    let mut conn = ctx.db.get().await?;
    let Some(existing) = Message::find_by_client_id(&mut conn, sender_id, client_id).await? else {
        return Ok(None);
    };
    check_retry(&existing, req)?;
    // Still authorised? (A retry after being removed from the chat.)
    require_member(&mut conn, existing.chat_id, sender_id).await?;
    let read = read_for(&mut conn, &existing, sender_id).await?;
    Ok(Some((read, SendOutcome::Existing)))
}

/// `PUT /messages/{id}`: replaces the text of the caller's own message and
/// keeps the old text in its history; its mentions are those of the new
/// text.
///
/// Errors: 422 for bad text; 404 `message_not_found` (also once deleted);
/// 403 `not_a_member` / `not_message_sender`.
pub async fn edit_message(
    ctx: &AppContext,
    auth: &AuthContext,
    message_id: i64,
    text: &str,
) -> AppResult<MessageView> {
    validate_text(text)?;
    let me = auth.user_id;
    let mut conn = ctx.db.get().await?;
    let (message, event) = crate::transaction!(conn, async |conn| {
        let (message, chat, _) = visible_message(conn, message_id, me, true).await?;
        if message.deleted_at.is_some() {
            return Err(message_not_found());
        }
        if message.sender_id != Some(me) {
            return Err(AppError::forbidden(
                "not_message_sender",
                "Only the sender can edit a message.",
            ));
        }
        let edited = Message::edit(conn, &message, text).await?;
        // Mentions follow the new text (seed 004 §8).
        let mentions = Message::record_mentions(conn, &edited, text).await?;
        let mut message = edited.snapshot(mentions);
        message.reactions = Reaction::counts(conn, &[edited.id])
            .await?
            .remove(&edited.id)
            .unwrap_or_default();
        message.attachments = Attachment::snapshots_of(conn, &[edited.id])
            .await?
            .remove(&edited.id)
            .unwrap_or_default();
        let event = event::record(conn, chat.id, |_| DomainEvent::MessageUpdated {
            message: Box::new(message),
        })
        .await?;
        Ok((edited, event))
    })?;
    live::publish_logged(&ctx.bus, vec![event]).await;
    read_for(&mut conn, &message, me).await
}

/// `DELETE /messages/{id}?for_all=`: `for_all = true` deletes for everyone
/// (the sender, or a chat owner / admin) and leaves a tombstone; otherwise
/// hides the message for the caller only. Deleting twice is not an error.
/// Answers when the message was deleted for everyone (`None` for a delete
/// for me).
///
/// Errors: 404 `message_not_found`; 403 `not_a_member` /
/// `cannot_delete_for_all`.
pub async fn delete_message(
    ctx: &AppContext,
    auth: &AuthContext,
    message_id: i64,
    for_all: bool,
) -> AppResult<Option<DateTime<Utc>>> {
    let me = auth.user_id;
    let mut conn = ctx.db.get().await?;
    let (chat_id, event, deleted_at) = crate::transaction!(conn, async |conn| {
        let (message, chat, member) = visible_message(conn, message_id, me, true).await?;
        if !for_all {
            Message::hide_for(conn, message.id, me).await?;
            return Ok((chat.id, None, None));
        }
        if message.sender_id != Some(me)
            && !permissions::allows(chat.chat_type, member.role, Action::DeleteOthersMessage)
        {
            return Err(AppError::forbidden(
                "cannot_delete_for_all",
                "Only the sender or a chat admin can delete a message for everyone.",
            ));
        }
        if message.deleted_at.is_some() {
            return Ok((chat.id, None, message.deleted_at));
        }
        let deleted = Message::delete_for_all(conn, message.id).await?;
        event::redact_message(conn, &message).await?;
        let event = event::record(conn, chat.id, |_| DomainEvent::MessageDeleted {
            message_id: message.id,
        })
        .await?;
        Ok((chat.id, Some(event), deleted.deleted_at))
    })?;
    match event {
        Some(event) => live::publish_logged(&ctx.bus, vec![event]).await,
        None if !for_all => {
            let event = LiveEvent::DeletedForMe {
                chat_id,
                message_id,
            };
            live::publish(&ctx.bus, Topic::User(me), &event).await;
        }
        None => {}
    }
    Ok(deleted_at)
}
