//! What a chat shows to everyone (seed 004 §7): a group's or channel's
//! title, description and avatar, the pinned message, and the chat's
//! settings (seed 001). Each change is one
//! transaction that appends `chat_updated` / `message_pinned` to the chat's
//! log, published after commit.

use serde::Deserialize;

use crate::domain::caller::AuthContext;
use crate::domain::chats::{read_chat, require_member, require_member_locked};
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::events::{DomainEvent, LoggedEvent};
use crate::domain::live;
use crate::domain::members::{require_allowed, require_group};
use crate::domain::models::chat::ChatChanges;
use crate::domain::models::{Chat, ChatMember, Message, event};
use crate::domain::permissions::Action;
use crate::domain::validate;
use crate::domain::views::{ChatSettings, ChatView};

/// `{ "title": "..." }` for `PATCH /chats/{id}/title`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TitleRequest {
    pub title: String,
}

/// `{ "title"?, "description"?, "avatar_url"? }` for `PATCH
/// /chats/{id}/profile` (seed 004 §7); `""` clears the description or the
/// avatar.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ChatProfileUpdate {
    pub title: Option<String>,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
}

/// `{ "message_id": 42 }` (or `null` to unpin) for `POST /chats/{id}/pin`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct PinRequest {
    pub message_id: Option<i64>,
}

/// `PUT /chats/{id}/settings` (seed 001's room settings): each field
/// present is set; `retention_days: null` keeps messages for ever.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ChatSettingsUpdate {
    #[serde(default, deserialize_with = "validate::present")]
    pub retention_days: Option<Option<i32>>,
    pub read_receipts_enabled: Option<bool>,
}

/// `GET /chats/{id}/settings`: the chat's settings, for any member.
///
/// Errors: 404 `chat_not_found`; 403 `not_a_member`.
pub async fn settings(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
) -> AppResult<ChatSettings> {
    let mut conn = ctx.db.get().await?;
    let (chat, _) = require_member(&mut conn, chat_id, auth.user_id).await?;
    Ok(settings_of(&chat))
}

fn settings_of(chat: &Chat) -> ChatSettings {
    ChatSettings {
        chat_id: chat.id,
        retention_days: chat.retention_days,
        read_receipts_enabled: chat.read_receipts_enabled,
    }
}

/// `PUT /chats/{id}/settings`: an owner or admin of a group or channel, or
/// either member of a private chat, changes its settings; the members hear
/// `chat_updated`. A body that changes nothing logs nothing.
///
/// Errors: 422 `retention_days` outside 1..=3650; 404 `chat_not_found`;
/// 403 `not_a_member`, `not_chat_admin`.
pub async fn set_settings(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    req: &ChatSettingsUpdate,
) -> AppResult<ChatSettings> {
    if let Some(Some(days)) = req.retention_days
        && !(1..=3650).contains(&days)
    {
        return Err(AppError::validation(
            "retention_days",
            "retention_days must be 1 to 3650, or null to keep messages.",
        ));
    }
    let mut conn = ctx.db.get().await?;
    let (chat, event) = crate::transaction!(conn, async |conn| {
        let (chat, me) = require_member_locked(conn, chat_id, auth.user_id).await?;
        require_allowed(&chat, &me, Action::ChangeSettings)?;
        let retention_days = req.retention_days.filter(|d| *d != chat.retention_days);
        let read_receipts_enabled = req
            .read_receipts_enabled
            .filter(|on| *on != chat.read_receipts_enabled);
        if retention_days.is_none() && read_receipts_enabled.is_none() {
            return Ok((chat, None));
        }
        let changes = ChatChanges {
            retention_days,
            read_receipts_enabled,
            ..Default::default()
        };
        let chat = Chat::update(conn, chat_id, &changes).await?;
        let event = record_updated(conn, &chat).await?;
        Ok((chat, Some(event)))
    })?;
    live::publish_logged(&ctx.bus, event.into_iter().collect()).await;
    Ok(settings_of(&chat))
}

/// `PATCH /chats/{id}/title`: an owner or admin renames a group or channel.
///
/// Errors: 422 for a bad title; 404 `chat_not_found`; 403 `not_a_member`,
/// `not_chat_admin`, `private_chat`.
pub async fn set_title(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    req: &TitleRequest,
) -> AppResult<ChatView> {
    let update = ChatProfileUpdate {
        title: Some(req.title.clone()),
        ..Default::default()
    };
    set_profile(ctx, auth, chat_id, &update).await
}

/// `PATCH /chats/{id}/profile`: an owner or admin changes the title (1–128
/// characters), the description (up to 500) or the avatar URL (up to
/// 2,048) of a group or channel. An empty body changes nothing and logs
/// nothing.
///
/// Errors: 422 naming the field; 404 `chat_not_found`; 403 `not_a_member`,
/// `not_chat_admin`, `private_chat`.
pub async fn set_profile(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    req: &ChatProfileUpdate,
) -> AppResult<ChatView> {
    let title = req
        .title
        .as_deref()
        .map(|t| validate::text_field("title", t, 1, 128))
        .transpose()?;
    let description = req
        .description
        .as_deref()
        .map(|d| validate::clearable("description", d, 500))
        .transpose()?;
    let avatar_url = req
        .avatar_url
        .as_deref()
        .map(|a| validate::clearable("avatar_url", a, 2048))
        .transpose()?;
    let changes = ChatChanges {
        title: title.as_deref(),
        description: description.as_ref().map(Option::as_deref),
        avatar_url: avatar_url.as_ref().map(Option::as_deref),
        ..Default::default()
    };
    let nothing =
        changes.title.is_none() && changes.description.is_none() && changes.avatar_url.is_none();
    let mut conn = ctx.db.get().await?;
    let event = crate::transaction!(conn, async |conn| {
        let (chat, me) = require_member_locked(conn, chat_id, auth.user_id).await?;
        require_group(&chat)?;
        require_allowed(&chat, &me, Action::EditChatInfo)?;
        if nothing {
            return Ok(None);
        }
        let chat = Chat::update(conn, chat_id, &changes).await?;
        Ok(Some(record_updated(conn, &chat).await?))
    })?;
    live::publish_logged(&ctx.bus, event.into_iter().collect()).await;
    read_chat(ctx, &mut conn, auth.user_id, chat_id).await
}

async fn record_updated(
    conn: &mut diesel_async::AsyncPgConnection,
    chat: &Chat,
) -> AppResult<LoggedEvent> {
    let member_ids = ChatMember::user_ids(conn, chat.id).await?;
    let chat = chat.snapshot(member_ids);
    Ok(event::record(conn, chat.id, |_| DomainEvent::ChatUpdated { chat }).await?)
}

/// `POST /chats/{id}/pin`: pins a message of the chat for everyone, or
/// unpins with `message_id: null` (seed 004 §7). Owners, admins and
/// moderators of a group or channel; either member of a private chat
/// ([`crate::domain::permissions`]). Pinning what is already pinned logs
/// nothing.
///
/// Errors: 404 `chat_not_found`, `message_not_found` (not in this chat,
/// deleted, or hidden from the caller); 403 `not_a_member`,
/// `not_chat_admin`.
pub async fn pin_message(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    req: &PinRequest,
) -> AppResult<ChatView> {
    let mut conn = ctx.db.get().await?;
    let event = crate::transaction!(conn, async |conn| {
        let (chat, me) = require_member_locked(conn, chat_id, auth.user_id).await?;
        require_allowed(&chat, &me, Action::PinMessage)?;
        if let Some(message_id) = req.message_id {
            let message = Message::find(conn, message_id).await.ok();
            let visible = match message {
                Some(m) if m.chat_id == chat_id && m.deleted_at.is_none() => {
                    m.id > me.cleared_before_message_id
                        && !Message::is_hidden_for(conn, m.id, me.user_id).await?
                }
                _ => false,
            };
            if !visible {
                return Err(AppError::not_found(
                    "message_not_found",
                    "This message does not exist.",
                ));
            }
        }
        if chat.pinned_message_id == req.message_id {
            return Ok(None);
        }
        let changes = ChatChanges {
            pinned_message_id: Some(req.message_id),
            ..Default::default()
        };
        Chat::update(conn, chat_id, &changes).await?;
        let pinned = DomainEvent::MessagePinned {
            message_id: req.message_id,
            user_id: me.user_id,
        };
        Ok(Some(event::record(conn, chat_id, |_| pinned).await?))
    })?;
    live::publish_logged(&ctx.bus, event.into_iter().collect()).await;
    read_chat(ctx, &mut conn, auth.user_id, chat_id).await
}
