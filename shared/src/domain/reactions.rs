//! Reactions (seed 004 §8): `GET /messages/{id}/reactions` and
//! `POST /messages/{id}/reactions/toggle {emoji}`. One reaction per user per
//! emoji per message; a toggle adds it or takes it back, and every member
//! hears `reactions_updated` (logged, with its `seq`) carrying the message's
//! counts after it.

use std::collections::HashMap;

use serde::Deserialize;

use crate::domain::blocks;
use crate::domain::caller::AuthContext;
use crate::domain::chats::require_member;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::events::{DomainEvent, ReactionCount};
use crate::domain::history::{message_not_found, visible_message};
use crate::domain::live;
use crate::domain::models::reaction::Reaction;
use crate::domain::models::{ChatType, event};

/// `MessageReactionToggleRequest` (seed 004 §3.4).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ReactionToggleRequest {
    /// One emoji, as Unicode defines them (skin tones included).
    pub emoji: String,
}

/// A message's reactions as one reader sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageReactions {
    /// Per emoji, the most used first.
    pub counts: Vec<ReactionCount>,
    /// The emojis the reader reacted with.
    pub mine: Vec<String>,
}

/// `GET /messages/{id}/reactions`.
///
/// Errors: 404 `message_not_found` (also hidden from the caller); 403
/// `not_a_member`.
pub async fn list_reactions(
    ctx: &AppContext,
    auth: &AuthContext,
    message_id: i64,
) -> AppResult<MessageReactions> {
    let mut conn = ctx.db.get().await?;
    let (message, _, _) = visible_message(&mut conn, message_id, auth.user_id, false).await?;
    let counts = Reaction::counts(&mut conn, &[message.id])
        .await?
        .remove(&message.id)
        .unwrap_or_default();
    let mine = Reaction::mine(&mut conn, &[message.id], auth.user_id)
        .await?
        .remove(&message.id)
        .unwrap_or_default();
    Ok(MessageReactions { counts, mine })
}

/// Who reacted, per message id, per emoji: the users in the order they
/// reacted.
pub type Reactors = HashMap<i64, HashMap<String, Vec<i64>>>;

/// Who reacted to each of `message_ids` in `chat_id`, for a member (seed
/// 000's `reactions[].users`; every member may see who reacted). Messages
/// of other chats, and those the caller cleared from their history, are
/// left out.
///
/// Errors: 404 `chat_not_found`; 403 `not_a_member`.
pub async fn who_reacted(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    message_ids: &[i64],
) -> AppResult<Reactors> {
    let mut conn = ctx.db.get().await?;
    let (_, me) = require_member(&mut conn, chat_id, auth.user_id).await?;
    Ok(Reaction::reactors(
        &mut conn,
        chat_id,
        me.cleared_before_message_id,
        message_ids,
    )
    .await?)
}

/// `POST /messages/{id}/reactions/toggle {emoji}`: adds the caller's
/// `emoji` to the message, or takes it back. Any member may react (a
/// channel's readers too); not to a deleted message, and not across a
/// block in a private chat.
///
/// Errors: 422 `emoji` (not exactly one emoji); 404 `message_not_found`;
/// 403 `not_a_member`, `blocked`.
pub async fn toggle_reaction(
    ctx: &AppContext,
    auth: &AuthContext,
    message_id: i64,
    req: &ReactionToggleRequest,
) -> AppResult<MessageReactions> {
    change_reaction(ctx, auth, message_id, req, ReactionChange::Toggle).await
}

/// What [`change_reaction`] does with the caller's reaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReactionChange {
    /// Adds it, or takes it back ([`toggle_reaction`]).
    Toggle,
    /// Adds it; already there, nothing changes (seed 000's `POST …/react`).
    Add,
    /// Takes it back; not there, nothing changes (seed 000's `DELETE …/react`).
    Remove,
}

/// Changes the caller's `emoji` on the message as `change` says, under the
/// rules of [`toggle_reaction`]; a change that changes nothing is logged
/// and heard by no one.
///
/// Errors: as [`toggle_reaction`].
pub async fn change_reaction(
    ctx: &AppContext,
    auth: &AuthContext,
    message_id: i64,
    req: &ReactionToggleRequest,
    change: ReactionChange,
) -> AppResult<MessageReactions> {
    let emoji = req.emoji.trim();
    if emojis::get(emoji).is_none() {
        return Err(AppError::validation(
            "emoji",
            "emoji must be exactly one emoji.",
        ));
    }
    let me = auth.user_id;
    let mut conn = ctx.db.get().await?;
    let (event, reactions) = crate::transaction!(conn, async |conn| {
        let (message, chat, _) = visible_message(conn, message_id, me, true).await?;
        if message.deleted_at.is_some() {
            return Err(message_not_found());
        }
        if chat.chat_type == ChatType::Private && blocks::in_private_chat(conn, chat.id, me).await?
        {
            return Err(blocks::blocked());
        }
        let had = Reaction::mine(conn, &[message.id], me)
            .await?
            .remove(&message.id)
            .unwrap_or_default()
            .iter()
            .any(|e| e == emoji);
        let unchanged = match change {
            ReactionChange::Toggle => false,
            ReactionChange::Add => had,
            ReactionChange::Remove => !had,
        };
        let added = if unchanged {
            had
        } else {
            Reaction::toggle(conn, message.id, me, emoji).await?
        };
        let counts = Reaction::counts(conn, &[message.id])
            .await?
            .remove(&message.id)
            .unwrap_or_default();
        let mine = Reaction::mine(conn, &[message.id], me)
            .await?
            .remove(&message.id)
            .unwrap_or_default();
        if unchanged {
            return Ok((None, MessageReactions { counts, mine }));
        }
        let updated = DomainEvent::ReactionsUpdated {
            message_id: message.id,
            user_id: me,
            emoji: emoji.to_owned(),
            added,
            reactions: counts.clone(),
        };
        let event = event::record(conn, chat.id, |_| updated).await?;
        Ok((Some(event), MessageReactions { counts, mine }))
    })?;
    if let Some(event) = event {
        live::publish_logged(&ctx.bus, vec![event]).await;
    }
    Ok(reactions)
}
