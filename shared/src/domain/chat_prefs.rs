//! A member's own settings of a chat (seed 004 §7): archive it, pin it in
//! the chat list, mute it, clear its history. They change what the caller
//! sees and nothing of the chat, so they are not chat events: no seq, and
//! the other members see no change. The caller's other devices hear
//! `chat_settings_updated` on the user's topic.

use serde::Deserialize;

use crate::domain::caller::AuthContext;
use crate::domain::chats::{read_chat, require_member};
use crate::domain::context::AppContext;
use crate::domain::error::AppResult;
use crate::domain::live::{self, LiveEvent};
use crate::domain::models::ChatMember;
use crate::domain::models::chat::MemberChanges;
use crate::domain::views::{ChatView, NotificationSettings};
use crate::infra::bus::Topic;

/// A flag of a member's chat list entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFlag {
    /// Shown under `GET /chats?archived=true` instead of the main list.
    Archived,
    /// Pinned to the top of the list (`ChatRead.pinned`; clients sort).
    Pinned,
}

/// `{ "muted": true }` for `PUT /chats/{id}/notifications`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct MuteRequest {
    pub muted: bool,
}

/// `POST /chats/{id}/archive | unarchive | pin-chat | unpin-chat`: sets
/// or clears one flag of the caller's entry; answers the chat as the caller
/// now sees it.
///
/// Errors: 404 `chat_not_found`; 403 `not_a_member`.
pub async fn set_list_flag(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    flag: ListFlag,
    on: bool,
) -> AppResult<ChatView> {
    let mut conn = ctx.db.get().await?;
    require_member(&mut conn, chat_id, auth.user_id).await?;
    let changes = match flag {
        ListFlag::Archived => MemberChanges {
            archived: Some(on),
            ..Default::default()
        },
        ListFlag::Pinned => MemberChanges {
            pinned: Some(on),
            ..Default::default()
        },
    };
    let me = ChatMember::update(&mut conn, chat_id, auth.user_id, &changes).await?;
    announce(ctx, &me).await;
    read_chat(ctx, &mut conn, auth.user_id, chat_id).await
}

/// `GET /chats/{id}/notifications`.
///
/// Errors: 404 `chat_not_found`; 403 `not_a_member`.
pub async fn notifications(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
) -> AppResult<NotificationSettings> {
    let mut conn = ctx.db.get().await?;
    let (_, me) = require_member(&mut conn, chat_id, auth.user_id).await?;
    Ok(NotificationSettings {
        chat_id,
        user_id: me.user_id,
        muted: me.muted,
    })
}

/// `PUT /chats/{id}/notifications`: mutes or unmutes the chat for the
/// caller. A muted chat still notifies its mentions (seed 004 §7).
///
/// Errors: 404 `chat_not_found`; 403 `not_a_member`.
pub async fn set_muted(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    req: &MuteRequest,
) -> AppResult<NotificationSettings> {
    let mut conn = ctx.db.get().await?;
    require_member(&mut conn, chat_id, auth.user_id).await?;
    let changes = MemberChanges {
        muted: Some(req.muted),
        ..Default::default()
    };
    let me = ChatMember::update(&mut conn, chat_id, auth.user_id, &changes).await?;
    announce(ctx, &me).await;
    Ok(NotificationSettings {
        chat_id,
        user_id: me.user_id,
        muted: me.muted,
    })
}

/// `POST /chats/{id}/clear`: clears the chat's history for the caller only
/// (seed 004 §7): every message so far leaves their message list, unread
/// counts and replays (as `message_hidden` stubs); the other members keep
/// theirs, and later messages show as usual.
///
/// Errors: 404 `chat_not_found`; 403 `not_a_member`.
pub async fn clear_history(ctx: &AppContext, auth: &AuthContext, chat_id: i64) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    require_member(&mut conn, chat_id, auth.user_id).await?;
    ChatMember::clear_history(&mut conn, chat_id, auth.user_id).await?;
    // A chat deleted "for me" and cleared again stays in the list.
    let changes = MemberChanges {
        hidden: Some(false),
        ..Default::default()
    };
    let me = ChatMember::update(&mut conn, chat_id, auth.user_id, &changes).await?;
    announce(ctx, &me).await;
    Ok(())
}

/// Tells the member's devices their settings of the chat as they now are.
pub(crate) async fn announce(ctx: &AppContext, me: &ChatMember) {
    let event = LiveEvent::ChatSettings {
        chat_id: me.chat_id,
        archived: me.archived,
        pinned: me.pinned,
        muted: me.muted,
        cleared_before_message_id: me.cleared_before_message_id,
        hidden: me.hidden,
    };
    live::publish(&ctx.bus, Topic::User(me.user_id), &event).await;
}
