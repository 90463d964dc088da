//! Messages (seed 004 §8, first part): send (idempotent by
//! `client_message_id`), list, edit with history, delete for me / for all.
//!
//! Every durable change takes the chat's next seq and appends to
//! `chat_events` in the same transaction (ARCHITECTURE §2); the event is
//! published after commit. The REST handlers and the socket's `send` frame
//! both call [`send_message`].

use std::collections::HashMap;

use diesel_async::AsyncPgConnection;

use crate::domain::blocks;
use crate::domain::caller::AuthContext;
use crate::domain::chats::{require_member, require_member_locked};
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::events::{DomainEvent, LoggedEvent};
use crate::domain::live::{self, LiveEvent};
use crate::domain::models::attachment::Attachment;
use crate::domain::models::message::{MessageEdit, NewMessage, PageCursor};
use crate::domain::models::reaction::Reaction;
use crate::domain::models::{Chat, ChatMember, ChatType, Message, MessageType, event};
use crate::domain::permissions::{self, Action};
use crate::domain::validate;
use crate::domain::views::{DeliveryStatus, MessageView};
use crate::infra::bus::Topic;
use crate::infra::ratelimit::Limit;

/// The longest message text, in characters.
pub const MAX_TEXT_CHARS: usize = 4096;
/// The longest `client_message_id`, in characters.
pub const MAX_CLIENT_ID_CHARS: usize = 64;

/// Query of `GET /messages/{chat_id}` (seed 004 §8 plus `after_id`).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListMessagesQuery {
    pub limit: Option<i64>,
    pub before_id: Option<i64>,
    pub after_id: Option<i64>,
}

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

// The sentinel that rolls back a send that lost a race with its own retry.
pub(crate) const DUPLICATE_CODE: &str = "duplicate_client_message_id";

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
/// private chat with a block between the two, [`blocks`]).
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
pub(crate) async fn send(
    ctx: &AppContext,
    sender_id: i64,
    req: &MessageCreateRequest,
    client_id: Option<String>,
    throttle: Throttle,
) -> AppResult<(MessageView, SendOutcome)> {
    let mut conn = ctx.db.get().await?;
    // A retry of an earlier send is answered even when over the limit.
    let retry = match &client_id {
        Some(cid) => Message::find_by_client_id(&mut conn, sender_id, cid).await?,
        None => None,
    };
    if let Some(existing) = retry {
        check_retry(&existing, req)?;
        // Still authorised? (A retry after being removed from the chat.)
        require_member(&mut conn, existing.chat_id, sender_id).await?;
        let read = read_for(&mut conn, &existing, sender_id).await?;
        return Ok((read, SendOutcome::Existing));
    }
    if throttle == Throttle::PerSender {
        ctx.limits
            .check(Limit::Message, &sender_id.to_string())
            .await?;
    }
    let cooldown = ctx.settings.limits.duplicate_message_cooldown_seconds;
    if throttle == Throttle::PerSender
        && cooldown > 0
        && !req.text.is_empty()
        && let Some(age) =
            Message::same_text_age(&mut conn, req.chat_id, sender_id, &req.text).await?
        && age < cooldown
    {
        return Err(AppError::RateLimited {
            retry_after_secs: (cooldown - age).max(1) as u64,
        });
    }
    let post = Post {
        chat_id: req.chat_id,
        message_type: req.message_type.unwrap_or(MessageType::Text),
        text: &req.text,
        reply_to_message_id: req.reply_to_message_id,
        forwarded_from_message_id: None,
        client_message_id: client_id.as_deref(),
        attachments_of: None,
    };
    let result = crate::transaction!(conn, async |conn| {
        post_message(conn, sender_id, &post).await
    });
    match result {
        Ok((event, read)) => {
            live::publish_logged(&ctx.bus, vec![event]).await;
            Ok((read, SendOutcome::Created))
        }
        // A concurrent retry committed first: answer with its message.
        Err(AppError::Conflict { code, .. }) if code == DUPLICATE_CODE => {
            let cid = client_id.as_deref().unwrap_or_default();
            let existing = Message::find_by_client_id(&mut conn, sender_id, cid)
                .await?
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("duplicate vanished")))?;
            check_retry(&existing, req)?;
            let read = read_for(&mut conn, &existing, sender_id).await?;
            Ok((read, SendOutcome::Existing))
        }
        Err(err) => Err(err),
    }
}

/// What a new message holds: a send, or a forward's copy.
pub(crate) struct Post<'a> {
    pub chat_id: i64,
    pub message_type: MessageType,
    pub text: &'a str,
    pub reply_to_message_id: Option<i64>,
    pub forwarded_from_message_id: Option<i64>,
    pub client_message_id: Option<&'a str>,
    /// A forward: the message whose attachments the new one shares.
    pub attachments_of: Option<i64>,
}

/// Posts one message as `sender_id` in the caller's transaction and logs
/// its `message_created` (publish it after commit). The chat's seq is taken
/// first: it locks the chat's row, so that the membership and role read
/// next cannot change before commit.
///
/// Errors: 404 `chat_not_found`; 403 `not_a_member`, `cannot_post` (a
/// channel's reader), `blocked` (a private chat with a block between the
/// two); 422 `reply_to_message_id` outside the chat; 409
/// [`DUPLICATE_CODE`] when the sender's `client_message_id` was taken
/// meanwhile (the caller answers with that message).
pub(crate) async fn post_message(
    conn: &mut AsyncPgConnection,
    sender_id: i64,
    post: &Post<'_>,
) -> AppResult<(LoggedEvent, MessageView)> {
    let chat = event::take_message_seq(conn, post.chat_id)
        .await
        .map_err(crate::domain::chats::or_chat_not_found)?;
    let seq = chat.last_seq;
    let member = ChatMember::find(conn, chat.id, sender_id)
        .await?
        .ok_or_else(AppError::not_a_member)?;
    if !permissions::allows(chat.chat_type, member.role, Action::PostMessage) {
        return Err(AppError::forbidden(
            "cannot_post",
            "Only owners and admins can post in this channel.",
        ));
    }
    if chat.chat_type == ChatType::Private
        && blocks::in_private_chat(conn, chat.id, sender_id).await?
    {
        return Err(blocks::blocked());
    }
    if let Some(reply_to) = post.reply_to_message_id {
        let target = Message::find(conn, reply_to).await.ok();
        if !target.is_some_and(|m| m.chat_id == chat.id && m.deleted_at.is_none()) {
            return Err(AppError::validation(
                "reply_to_message_id",
                "reply_to_message_id must be a message of this chat.",
            ));
        }
    }
    let message = Message::insert(
        conn,
        NewMessage {
            chat_id: chat.id,
            sender_id,
            seq,
            message_type: post.message_type,
            text: post.text,
            reply_to_message_id: post.reply_to_message_id,
            forwarded_from_message_id: post.forwarded_from_message_id,
            client_message_id: post.client_message_id,
            search_tokens: crate::domain::search_tokens::document_tokens(post.text),
        },
    )
    .await?
    .ok_or_else(|| AppError::conflict(DUPLICATE_CODE, "retry in flight"))?;
    let mentions = Message::record_mentions(conn, &message, post.text).await?;
    let mut snapshot = message.snapshot(mentions);
    if let Some(source) = post.attachments_of {
        Attachment::copy(conn, source, message.id).await?;
        snapshot.attachments = Attachment::snapshots_of(conn, &[message.id])
            .await?
            .remove(&message.id)
            .unwrap_or_default();
    }
    let view = MessageView {
        message: snapshot.clone(),
        delivery_status: DeliveryStatus::Sent,
        my_reactions: Vec::new(),
    };
    let created = DomainEvent::MessageCreated {
        message: Box::new(snapshot),
    };
    let event = event::append(conn, chat.id, seq, created).await?;
    Ok((event, view))
}

/// One message as `viewer_id` sees it, with its delivery status.
pub(crate) async fn read_for(
    conn: &mut AsyncPgConnection,
    message: &Message,
    viewer_id: i64,
) -> AppResult<MessageView> {
    let mut reads = reads_for(
        conn,
        message.chat_id,
        viewer_id,
        std::slice::from_ref(message),
    )
    .await?;
    reads
        .pop()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("no read model")))
}

/// Messages as `viewer_id` sees them: the viewer's own messages are `read` /
/// `delivered` as far as the other members got; others' messages by the
/// viewer's own positions.
pub(crate) async fn reads_for(
    conn: &mut AsyncPgConnection,
    chat_id: i64,
    viewer_id: i64,
    messages: &[Message],
) -> AppResult<Vec<MessageView>> {
    let (others_read, others_delivered) =
        ChatMember::others_positions(conn, chat_id, viewer_id).await?;
    let mine = ChatMember::find(conn, chat_id, viewer_id).await?;
    let (my_read, my_delivered) = mine
        .map(|m| (m.last_read_message_id, m.last_delivered_message_id))
        .unwrap_or((0, 0));
    let ids: Vec<i64> = messages.iter().map(|m| m.id).collect();
    let mut mentioned: HashMap<i64, Vec<i64>> = HashMap::new();
    for (message_id, user_id) in Message::mentions_of(conn, &ids).await? {
        mentioned.entry(message_id).or_default().push(user_id);
    }
    let mut counts = Reaction::counts(conn, &ids).await?;
    let mut files = Attachment::snapshots_of(conn, &ids).await?;
    let mut mine = Reaction::mine(conn, &ids, viewer_id).await?;
    Ok(messages
        .iter()
        .map(|m| {
            let (read, delivered) = if m.sender_id == Some(viewer_id) {
                (others_read, others_delivered)
            } else {
                (my_read, my_delivered)
            };
            let delivery_status = if m.id <= read {
                DeliveryStatus::Read
            } else if m.id <= delivered {
                DeliveryStatus::Delivered
            } else {
                DeliveryStatus::Sent
            };
            let mut message = m.snapshot(mentioned.remove(&m.id).unwrap_or_default());
            message.reactions = counts.remove(&m.id).unwrap_or_default();
            message.attachments = files.remove(&m.id).unwrap_or_default();
            MessageView {
                message,
                delivery_status,
                my_reactions: mine.remove(&m.id).unwrap_or_default(),
            }
        })
        .collect())
}

/// `GET /messages/{chat_id}`: a page of the chat, oldest first. Without a
/// cursor, the newest `limit` messages; with `before_id`, those just before
/// it; with `after_id`, those just after it.
///
/// Errors: 422 for `limit` outside 1..=100 or both cursors; 404 / 403 as
/// [`require_member`].
pub async fn list_messages(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    query: ListMessagesQuery,
) -> AppResult<Vec<MessageView>> {
    let limit = validate::limit(query.limit, 50, 100)?;
    let cursor = match (query.before_id, query.after_id) {
        (None, None) => PageCursor::Latest,
        (Some(id), None) => PageCursor::Before(id),
        (None, Some(id)) => PageCursor::After(id),
        (Some(_), Some(_)) => {
            return Err(AppError::validation(
                "after_id",
                "Give before_id or after_id, not both.",
            ));
        }
    };
    let mut conn = ctx.db.get().await?;
    let (_, member) = require_member(&mut conn, chat_id, auth.user_id).await?;
    let messages = Message::page(
        &mut conn,
        chat_id,
        auth.user_id,
        member.cleared_before_message_id,
        cursor,
        limit,
    )
    .await?;
    reads_for(&mut conn, chat_id, auth.user_id, &messages).await
}

/// How many messages of `chat_id` the caller sees (deleted-for-everyone
/// tombstones included; not what they cleared or deleted for themselves):
/// the `total` of APIs that show one (seeds 000 and 001).
///
/// Errors: 404 / 403 as [`require_member`].
pub async fn count_messages(ctx: &AppContext, auth: &AuthContext, chat_id: i64) -> AppResult<i64> {
    let mut conn = ctx.db.get().await?;
    let (_, member) = require_member(&mut conn, chat_id, auth.user_id).await?;
    Ok(Message::count_visible(
        &mut conn,
        chat_id,
        auth.user_id,
        member.cleared_before_message_id,
    )
    .await?)
}

/// A page of `chat_id` by number, newest first: the `limit` messages after
/// the newest `offset` the caller sees (seed 001's `page` / `size`). Cursor
/// paging ([`list_messages`]) is the one that stays cheap deep in a
/// history; this one reads past `offset` rows.
///
/// Errors: 422 `limit` outside 1..=100, `offset` below 0; 404 / 403 as
/// [`require_member`].
pub async fn list_messages_at(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    offset: i64,
    limit: i64,
) -> AppResult<Vec<MessageView>> {
    let limit = validate::limit(Some(limit), 50, 100)?;
    if offset < 0 {
        return Err(AppError::validation("offset", "offset must be 0 or more."));
    }
    let mut conn = ctx.db.get().await?;
    let (_, member) = require_member(&mut conn, chat_id, auth.user_id).await?;
    let messages = Message::page_at(
        &mut conn,
        chat_id,
        auth.user_id,
        member.cleared_before_message_id,
        offset,
        limit,
    )
    .await?;
    reads_for(&mut conn, chat_id, auth.user_id, &messages).await
}

pub(crate) fn message_not_found() -> AppError {
    AppError::not_found("message_not_found", "This message does not exist.")
}

fn or_message_not_found(err: diesel::result::Error) -> AppError {
    match err {
        diesel::result::Error::NotFound => message_not_found(),
        other => other.into(),
    }
}

/// Loads a message and the caller's membership of its chat; a message the
/// caller cannot see (not a member, hidden for them, cleared) is 404. With
/// `for_update` (inside a transaction that changes the message), the chat's
/// row is locked first and then the message's: the one lock order of every
/// write ([`Chat::lock`]), so an edit and a reply to it never deadlock.
pub(crate) async fn visible_message(
    conn: &mut AsyncPgConnection,
    message_id: i64,
    user_id: i64,
    for_update: bool,
) -> AppResult<(Message, Chat, ChatMember)> {
    let message = Message::find(conn, message_id)
        .await
        .map_err(or_message_not_found)?;
    let (chat, member, message) = if for_update {
        let (chat, member) = require_member_locked(conn, message.chat_id, user_id).await?;
        let message = Message::find_for_update(conn, message_id)
            .await
            .map_err(or_message_not_found)?;
        (chat, member, message)
    } else {
        let (chat, member) = require_member(conn, message.chat_id, user_id).await?;
        (chat, member, message)
    };
    if message.id <= member.cleared_before_message_id
        || Message::is_hidden_for(conn, message.id, user_id).await?
    {
        return Err(message_not_found());
    }
    Ok((message, chat, member))
}

/// The chat of a message the caller can see: for APIs that name a message
/// under its chat (seed 003's `/chatrooms/{roomId}/messages/{messageId}`),
/// to refuse a message of another chat.
///
/// Errors: 404 `message_not_found` (also one the caller cannot see); 403
/// `not_a_member`.
pub async fn chat_of(ctx: &AppContext, auth: &AuthContext, message_id: i64) -> AppResult<i64> {
    let mut conn = ctx.db.get().await?;
    let (message, _, _) = visible_message(&mut conn, message_id, auth.user_id, false).await?;
    Ok(message.chat_id)
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
///
/// Errors: 404 `message_not_found`; 403 `not_a_member` /
/// `cannot_delete_for_all`.
pub async fn delete_message(
    ctx: &AppContext,
    auth: &AuthContext,
    message_id: i64,
    for_all: bool,
) -> AppResult<()> {
    let me = auth.user_id;
    let mut conn = ctx.db.get().await?;
    let (chat_id, event) = crate::transaction!(conn, async |conn| {
        let (message, chat, member) = visible_message(conn, message_id, me, true).await?;
        if !for_all {
            Message::hide_for(conn, message.id, me).await?;
            return Ok((chat.id, None));
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
            return Ok((chat.id, None));
        }
        Message::delete_for_all(conn, message.id).await?;
        event::redact_message(conn, &message).await?;
        let event = event::record(conn, chat.id, |_| DomainEvent::MessageDeleted {
            message_id: message.id,
        })
        .await?;
        Ok((chat.id, Some(event)))
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
    Ok(())
}

/// `GET /messages/{id}/edits`: the texts a message had before each edit,
/// oldest first.
///
/// Errors: 404 `message_not_found`; 403 `not_a_member`.
pub async fn message_edits(
    ctx: &AppContext,
    auth: &AuthContext,
    message_id: i64,
) -> AppResult<Vec<MessageEdit>> {
    let mut conn = ctx.db.get().await?;
    let (message, _, _) = visible_message(&mut conn, message_id, auth.user_id, false).await?;
    Ok(Message::edits(&mut conn, message.id).await?)
}
