//! Reading messages (seed 004 §8): pages by cursor (and, for the
//! dialects, by number), counts, the one visibility rule of a single
//! message, and a message's edit history. Writes are in
//! [`crate::domain::messages`].

use std::collections::HashMap;

use diesel_async::AsyncPgConnection;

use crate::domain::caller::AuthContext;
use crate::domain::chats::{require_member, require_member_locked};
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::models::attachment::Attachment;
use crate::domain::models::message::{MessageEdit, PageCursor};
use crate::domain::models::reaction::Reaction;
use crate::domain::models::{Chat, ChatMember, Message};
use crate::domain::validate;
use crate::domain::views::{DeliveryStatus, MessageView};

/// Query of `GET /messages/{chat_id}` (seed 004 §8 plus `after_id`).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListMessagesQuery {
    pub limit: Option<i64>,
    pub before_id: Option<i64>,
    pub after_id: Option<i64>,
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
    let limit = validate::limit(query.limit, 50, 100)?;
    page(ctx, auth, chat_id, cursor, limit).await
}

/// The `limit` messages just before `before_id` (the newest without it),
/// oldest first, and whether older ones exist: the `has_more` / `hasNext`
/// of seeds 000 and 002, read with the page (one row more) instead of by
/// a second query. `limit` defaults to `default`.
///
/// Errors: 422 `limit` outside 1..=100; 404 / 403 as [`require_member`].
pub async fn list_older(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    before_id: Option<i64>,
    limit: Option<i64>,
    default: i64,
) -> AppResult<(Vec<MessageView>, bool)> {
    let limit = validate::limit(limit, default, 100)?;
    let cursor = before_id.map_or(PageCursor::Latest, PageCursor::Before);
    let mut views = page(ctx, auth, chat_id, cursor, limit + 1).await?;
    let more = views.len() as i64 > limit;
    if more {
        views.remove(0);
    }
    Ok((views, more))
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

/// A page of `chat_id` by number, oldest first: the `limit` messages the
/// caller sees just before the newest `offset` (seed 001's `page` /
/// `size`). Cursor paging ([`list_messages`]) is the one that stays cheap
/// deep in a history; this one reads past `offset` rows.
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
    if offset < 0 {
        return Err(AppError::validation("offset", "offset must be 0 or more."));
    }
    let limit = validate::limit(Some(limit), 50, 100)?;
    page(ctx, auth, chat_id, PageCursor::Skip(offset), limit).await
}

/// A page of `limit` (validated by the caller) messages of the chat at
/// `cursor` as the caller sees it, oldest first.
async fn page(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    cursor: PageCursor,
    limit: i64,
) -> AppResult<Vec<MessageView>> {
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

/// That `message_id` is a message of `chat_id` the caller can see: for APIs
/// that name a message under its chat (the dialects' `…/rooms/{room}/
/// messages/{message}`). The chat is checked first, so a caller outside it
/// learns nothing about the message.
///
/// Errors: 404 `chat_not_found`; 403 `not_a_member` (of `chat_id`); 404
/// `message_not_found` (another chat's, or one the caller cannot see).
pub async fn require_in_chat(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    message_id: i64,
) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    require_member(&mut conn, chat_id, auth.user_id).await?;
    let message = Message::find(&mut conn, message_id)
        .await
        .map_err(or_message_not_found)?;
    if message.chat_id != chat_id {
        return Err(message_not_found());
    }
    visible_message(&mut conn, message_id, auth.user_id, false).await?;
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
