//! Delivery and read receipts (seed 004 §8, `POST /messages/status`; the
//! socket's `delivered` / `read` frames). A member's positions only move
//! forward; reading implies delivery. Unread counts are computed from these
//! positions (see [`crate::domain::models::chat::ChatListRow`]), so they follow
//! exactly. Receipt events are ephemeral: they go over pub/sub, not the log.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};

use crate::domain::caller::AuthContext;
use crate::domain::chats::require_member;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::live::{self, LiveEvent};
use crate::domain::models::{ChatMember, Message};
use crate::infra::bus::Topic;
use crate::infra::schema::chat_members;

pub use crate::domain::kinds::ReceiptKind;

/// `MessageStatusUpdateRequest` (seed 004 §3.4).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct StatusUpdateRequest {
    pub chat_id: i64,
    pub message_id: i64,
    pub status: ReceiptKind,
}

/// The caller's positions after the update (seed 004 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusPositions {
    pub last_delivered_message_id: i64,
    pub last_read_message_id: i64,
}

/// Moves the caller's delivered (and, for `MessageRead`, read) position in
/// `chat_id` up to `message_id`, never back. When a position moved, the
/// chat's members hear `message_delivered` / `message_read` (`message_read`
/// only the caller's own devices when the chat's `read_receipts_enabled`
/// setting is off).
///
/// Errors: 404 `chat_not_found` / `message_not_found` (also a message of
/// another chat); 403 `not_a_member`.
pub async fn update_status(
    ctx: &AppContext,
    auth: &AuthContext,
    req: &StatusUpdateRequest,
) -> AppResult<StatusPositions> {
    let mut conn = ctx.db.get().await?;
    let (chat, before) = require_member(&mut conn, req.chat_id, auth.user_id).await?;
    let message = Message::find(&mut conn, req.message_id)
        .await
        .ok()
        .filter(|m| m.chat_id == req.chat_id)
        .ok_or_else(|| AppError::not_found("message_not_found", "This message does not exist."))?;
    let read_target = match req.status {
        ReceiptKind::MessageRead => message.id,
        ReceiptKind::MessageDelivered => 0,
    };
    let (delivered, read): (i64, i64) = diesel::update(
        chat_members::table
            .filter(chat_members::chat_id.eq(req.chat_id))
            .filter(chat_members::user_id.eq(auth.user_id)),
    )
    .set((
        chat_members::last_delivered_message_id.eq(greatest(
            chat_members::last_delivered_message_id,
            message.id,
        )),
        chat_members::last_read_message_id
            .eq(greatest(chat_members::last_read_message_id, read_target)),
    ))
    .returning((
        chat_members::last_delivered_message_id,
        chat_members::last_read_message_id,
    ))
    .get_result(&mut conn)
    .await?;
    let moved = if read > before.last_read_message_id {
        Some((ReceiptKind::MessageRead, read))
    } else if delivered > before.last_delivered_message_id {
        Some((ReceiptKind::MessageDelivered, delivered))
    } else {
        None
    };
    if let Some((kind, message_id)) = moved {
        let event = LiveEvent::Receipt {
            chat_id: req.chat_id,
            user_id: auth.user_id,
            message_id,
            kind,
        };
        // With read receipts off (a chat setting) only the reader's own
        // devices hear where they read.
        let topic = if kind == ReceiptKind::MessageRead && !chat.read_receipts_enabled {
            Topic::User(auth.user_id)
        } else {
            Topic::Chat(req.chat_id)
        };
        live::publish(&ctx.bus, topic, &event).await;
    }
    Ok(StatusPositions {
        last_delivered_message_id: delivered,
        last_read_message_id: read,
    })
}

/// Reads the whole chat: the caller's read position moves to the newest
/// message they can see (the "mark as read" of seeds 000–002), as
/// [`update_status`] moves it. `None` in a chat without such a message.
///
/// Errors: 404 `chat_not_found`; 403 `not_a_member`.
pub async fn read_all(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
) -> AppResult<Option<StatusPositions>> {
    let newest = {
        let mut conn = ctx.db.get().await?;
        let (_, member) = require_member(&mut conn, chat_id, auth.user_id).await?;
        let viewer = Some((auth.user_id, member.cleared_before_message_id));
        Message::recent(&mut conn, chat_id, viewer, 1).await?.pop()
    };
    let Some(message) = newest else {
        return Ok(None);
    };
    let request = StatusUpdateRequest {
        chat_id,
        message_id: message.id,
        status: ReceiptKind::MessageRead,
    };
    Ok(Some(update_status(ctx, auth, &request).await?))
}

/// A member's read position as the caller may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadMark {
    pub user_id: i64,
    /// The last message they read (`0`: none, or not shown).
    pub last_read_message_id: i64,
    /// That message's time: every message up to it is read. `None` when
    /// nothing was read, or the position is not shown.
    pub last_read_at: Option<DateTime<Utc>>,
}

/// Every member's read position in `chat_id`, in joining order (seed 001's
/// participants' `last_read_at`). Others' positions show only while the
/// chat's read receipts are on (the rule of the `message_read` events);
/// the caller's own always shows.
///
/// Errors: 404 `chat_not_found`; 403 `not_a_member`.
pub async fn read_marks(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
) -> AppResult<Vec<ReadMark>> {
    let mut conn = ctx.db.get().await?;
    let (chat, _) = require_member(&mut conn, chat_id, auth.user_id).await?;
    let positions = ChatMember::read_positions(&mut conn, chat_id).await?;
    Ok(positions
        .into_iter()
        .map(|(user_id, message_id, read_at)| {
            if chat.read_receipts_enabled || user_id == auth.user_id {
                ReadMark {
                    user_id,
                    last_read_message_id: message_id,
                    last_read_at: read_at,
                }
            } else {
                ReadMark {
                    user_id,
                    last_read_message_id: 0,
                    last_read_at: None,
                }
            }
        })
        .collect())
}

diesel::define_sql_function! {
    /// PostgreSQL's `GREATEST(a, b)`.
    fn greatest(a: diesel::sql_types::BigInt, b: diesel::sql_types::BigInt) -> diesel::sql_types::BigInt;
}
