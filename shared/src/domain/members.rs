//! Chat membership and chat changes (seed 004 §7): add and remove members,
//! leave, rename. Each is one transaction that appends `member_joined` /
//! `member_left` / `chat_updated` to the chat's log; after commit the event
//! goes to the chat's topic, and a new member's copy also to that user's
//! topic, so that every replica's subscriptions follow at once
//! (ARCHITECTURE §3).

use diesel_async::AsyncPgConnection;
use serde::Deserialize;

use crate::domain::accounts::AuthContext;
use crate::domain::chats::require_member_locked;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::events::LoggedEvent;
use crate::domain::events::{DomainEvent, LeaveReason, MemberSnapshot};
use crate::domain::live;
use crate::domain::models::chat::NewChatMember;
use crate::domain::models::{Chat, ChatMember, ChatType, MemberRole, User, event};
use crate::domain::permissions::{self, Action};
use crate::domain::validate;
use crate::domain::views::ChatView;

/// `{ "user_id": 123 }` for `POST /chats/{id}/members`.
#[derive(Debug, Clone, Deserialize)]
pub struct AddMemberRequest {
    pub user_id: i64,
}

/// `{ "title": "..." }` for `PATCH /chats/{id}/title`.
#[derive(Debug, Clone, Deserialize)]
pub struct TitleRequest {
    pub title: String,
}

fn require_group(chat: &Chat) -> AppResult<()> {
    if chat.chat_type == ChatType::Private {
        return Err(AppError::forbidden(
            "private_chat",
            "A private chat has exactly its two members.",
        ));
    }
    Ok(())
}

fn member_not_found() -> AppError {
    AppError::not_found("member_not_found", "This user is not a member.")
}

/// Errors: 403 `not_chat_admin` when the member's role may not do `action`
/// ([`permissions`]).
fn require_allowed(chat: &Chat, member: &ChatMember, action: Action) -> AppResult<()> {
    if !permissions::allows(chat.chat_type, member.role, action) {
        return Err(AppError::forbidden(
            "not_chat_admin",
            "Only the chat's owner and admins can do this.",
        ));
    }
    Ok(())
}

async fn member_snapshot(
    conn: &mut AsyncPgConnection,
    chat_id: i64,
    user_id: i64,
) -> AppResult<MemberSnapshot> {
    let (member, name, username) = ChatMember::with_user(conn, chat_id, user_id).await?;
    Ok(member.snapshot(name, username))
}

async fn append_left(
    conn: &mut AsyncPgConnection,
    chat_id: i64,
    user_id: i64,
    reason: LeaveReason,
) -> AppResult<LoggedEvent> {
    Ok(event::record(conn, chat_id, |_| DomainEvent::MemberLeft {
        user_id,
        reason,
    })
    .await?)
}

/// `POST /chats/{id}/members`: an owner or admin adds a user to a group or
/// channel.
///
/// Errors: 404 `chat_not_found` / `user_not_found`; 403 `not_a_member`,
/// `not_chat_admin`, `private_chat`; 409 `already_member`.
pub async fn add_member(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    req: &AddMemberRequest,
) -> AppResult<MemberSnapshot> {
    let mut conn = ctx.db.get().await?;
    let (member, event) = crate::transaction!(conn, async |conn| {
        let (chat, me) = require_member_locked(conn, chat_id, auth.user_id).await?;
        require_group(&chat)?;
        require_allowed(&chat, &me, Action::AddMember)?;
        User::find(conn, req.user_id).await.map_err(|e| match e {
            diesel::result::Error::NotFound => {
                AppError::not_found("user_not_found", "This user does not exist.")
            }
            e => e.into(),
        })?;
        if ChatMember::find(conn, chat_id, req.user_id)
            .await?
            .is_some()
        {
            return Err(AppError::conflict(
                "already_member",
                "This user is already a member.",
            ));
        }
        ChatMember::insert_all(
            conn,
            &[NewChatMember {
                chat_id,
                user_id: req.user_id,
                role: MemberRole::Member,
            }],
        )
        .await?;
        let member = member_snapshot(conn, chat_id, req.user_id).await?;
        let joined = member.clone();
        let event = event::record(conn, chat_id, |_| DomainEvent::MemberJoined { member }).await?;
        ChatMember::set_joined_seq(conn, chat_id, req.user_id, event.seq).await?;
        Ok((joined, event))
    })?;
    live::publish_to_new_members(&ctx.bus, event, &[req.user_id]).await;
    tracing::info!(
        chat.id = chat_id,
        user.id = req.user_id,
        by = auth.user_id,
        "member added"
    );
    Ok(member)
}

/// `DELETE /chats/{id}/members/{user_id}`: an owner removes anyone but
/// themself; an admin removes plain members.
///
/// Errors: 404 `chat_not_found` / `member_not_found`; 403 `not_a_member`,
/// `not_chat_admin`, `private_chat`, `cannot_remove`.
pub async fn remove_member(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    user_id: i64,
) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    let event = crate::transaction!(conn, async |conn| {
        let (chat, me) = require_member_locked(conn, chat_id, auth.user_id).await?;
        require_group(&chat)?;
        require_allowed(&chat, &me, Action::RemoveMember)?;
        let target = ChatMember::find(conn, chat_id, user_id)
            .await?
            .ok_or_else(member_not_found)?;
        if !permissions::can_act_on(chat.chat_type, me.role, Action::RemoveMember, target.role) {
            return Err(AppError::forbidden(
                "cannot_remove",
                "You cannot remove this member (leave the chat to remove yourself).",
            ));
        }
        if !ChatMember::delete(conn, chat_id, user_id).await? {
            return Err(member_not_found());
        }
        append_left(conn, chat_id, user_id, LeaveReason::Removed).await
    })?;
    live::publish_logged(&ctx.bus, vec![event]).await;
    tracing::info!(
        chat.id = chat_id,
        user.id = user_id,
        by = auth.user_id,
        "member removed"
    );
    Ok(())
}

/// `POST /chats/{id}/leave`: the caller leaves a group or channel. An owner
/// who leaves hands the chat to the longest-standing admin (or member).
///
/// Errors: 404 `chat_not_found`; 403 `not_a_member`, `private_chat`.
pub async fn leave_chat(ctx: &AppContext, auth: &AuthContext, chat_id: i64) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    let events = crate::transaction!(conn, async |conn| {
        let (chat, me) = require_member_locked(conn, chat_id, auth.user_id).await?;
        require_group(&chat)?;
        if !ChatMember::delete(conn, chat_id, me.user_id).await? {
            return Err(AppError::not_a_member());
        }
        let mut events = vec![append_left(conn, chat_id, me.user_id, LeaveReason::Left).await?];
        if me.role == MemberRole::Owner
            && let Some(heir) = ChatMember::successor(conn, chat_id, me.user_id).await?
        {
            ChatMember::set_role(conn, heir.id, MemberRole::Owner).await?;
            let member = member_snapshot(conn, chat_id, heir.user_id).await?;
            let updated =
                event::record(conn, chat_id, |_| DomainEvent::MemberUpdated { member }).await?;
            events.push(updated);
        }
        Ok(events)
    })?;
    live::publish_logged(&ctx.bus, events).await;
    tracing::info!(chat.id = chat_id, user.id = auth.user_id, "member left");
    Ok(())
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
    let title = validate::text_field("title", &req.title, 1, 128)?;
    let mut conn = ctx.db.get().await?;
    let event = crate::transaction!(conn, async |conn| {
        let (chat, me) = require_member_locked(conn, chat_id, auth.user_id).await?;
        require_group(&chat)?;
        require_allowed(&chat, &me, Action::EditChatInfo)?;
        let chat = Chat::set_title(conn, chat_id, &title).await?;
        let member_ids = ChatMember::user_ids(conn, chat_id).await?;
        let chat = chat.snapshot(member_ids);
        Ok(event::record(conn, chat_id, |_| DomainEvent::ChatUpdated { chat }).await?)
    })?;
    live::publish_logged(&ctx.bus, vec![event]).await;
    crate::domain::chats::read_chat(ctx, &mut conn, auth.user_id, chat_id).await
}
