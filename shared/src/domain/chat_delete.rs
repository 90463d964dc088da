//! Deleting a chat (seed 004 §7, `DELETE /chats/{id}?for_all=`).
//!
//! For everyone: the chat's last event is `chat_deleted` (with its `seq`,
//! on every replica's sockets and in catch-up); then its members, handle,
//! public listing and invite links are gone, and it answers 404 from then
//! on. The row stays (marked `deleted_at`) so that its log can still tell a
//! former member who catches up late what happened; a private pair (or a
//! saved-messages owner) can start a new chat afterwards.
//!
//! An operator's purge ([`purge_chat`]) deletes it for everyone the same
//! way, then deletes every message for all, text included.
//!
//! For me: a group or channel is left (as `POST /chats/{id}/leave`); a
//! private chat has its history cleared for the caller and leaves their
//! chat list until a new message arrives (the other member keeps theirs).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;

use crate::domain::caller::AuthContext;
use crate::domain::chat_prefs;
use crate::domain::chats::{require_member, require_member_locked};
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::events::DomainEvent;
use crate::domain::live;
use crate::domain::members;
use crate::domain::models::chat::MemberChanges;
use crate::domain::models::{Chat, ChatMember, ChatType, Message, event};
use crate::domain::permissions::{self, Action};
use crate::infra::schema::{chat_members, chats, invite_links, messages};

/// Query of `DELETE /chats/{id}`: `for_all=true` deletes the chat for
/// every member; the default deletes it for the caller only.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteChatQuery {
    #[serde(default)]
    pub for_all: bool,
}

/// `DELETE /chats/{id}?for_all=`: see the module documentation. For
/// everyone: a group's or channel's owner, or either member of a private
/// chat ([`permissions`], `DeleteChat`).
///
/// Errors: 404 `chat_not_found`; 403 `not_a_member`, `not_chat_owner`.
pub async fn delete_chat(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    query: &DeleteChatQuery,
) -> AppResult<()> {
    if !query.for_all {
        return delete_for_me(ctx, auth, chat_id).await;
    }
    let mut conn = ctx.db.get().await?;
    let deleted = crate::transaction!(conn, async |conn| {
        let (chat, me) = require_member_locked(conn, chat_id, auth.user_id).await?;
        if !permissions::allows(chat.chat_type, me.role, Action::DeleteChat) {
            return Err(AppError::forbidden(
                "not_chat_owner",
                "Only the chat's owner can delete it for everyone.",
            ));
        }
        let user_id = auth.user_id;
        let deleted = event::record(conn, chat_id, |_| DomainEvent::ChatDeleted {
            user_id: Some(user_id),
        })
        .await?;
        retire(conn, &chat).await?;
        Ok(deleted)
    })?;
    live::publish_logged(&ctx.bus, vec![deleted]).await;
    tracing::info!(
        chat.id = chat_id,
        user.id = auth.user_id,
        "chat deleted for all"
    );
    Ok(())
}

/// Removes what made the chat reachable: its members, invite links, handle
/// and public listing; frees a private pair's key for a new chat.
async fn retire(conn: &mut AsyncPgConnection, chat: &Chat) -> QueryResult<()> {
    diesel::delete(chat_members::table.filter(chat_members::chat_id.eq(chat.id)))
        .execute(conn)
        .await?;
    diesel::delete(invite_links::table.filter(invite_links::chat_id.eq(chat.id)))
        .execute(conn)
        .await?;
    // Private chats must keep a key (a table constraint); this one is
    // unique and matches no pair.
    let private_key = (chat.chat_type == ChatType::Private).then(|| format!("deleted:{}", chat.id));
    diesel::update(chats::table.find(chat.id))
        .set((
            chats::deleted_at.eq(diesel::dsl::now),
            chats::updated_at.eq(diesel::dsl::now),
            chats::handle.eq(None::<String>),
            chats::is_public.eq(false),
            chats::pinned_message_id.eq(None::<i64>),
            chats::private_key.eq(private_key),
            chats::search_tokens.eq(Vec::<String>::new()),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

async fn delete_for_me(ctx: &AppContext, auth: &AuthContext, chat_id: i64) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    let (chat, _) = require_member(&mut conn, chat_id, auth.user_id).await?;
    if chat.chat_type != ChatType::Private {
        drop(conn);
        return members::leave_chat(ctx, auth, chat_id).await;
    }
    ChatMember::clear_history(&mut conn, chat_id, auth.user_id).await?;
    let changes = MemberChanges {
        hidden: Some(true),
        ..Default::default()
    };
    let me = ChatMember::update(&mut conn, chat_id, auth.user_id, &changes).await?;
    chat_prefs::announce(ctx, &me).await;
    tracing::info!(
        chat.id = chat_id,
        user.id = auth.user_id,
        "chat deleted for me"
    );
    Ok(())
}

/// Messages redacted per transaction by [`purge_chat`].
const PURGE_BATCH: i64 = 500;

/// An operator's purge (`parley-admin purge-chat`): the chat is deleted
/// for everyone as its owner would delete it (a last `chat_deleted`, with
/// `user_id: None`), then every message is deleted for all with its text
/// removed from every logged copy, batch by batch. A chat already deleted
/// for everyone only has its messages purged. Returns how many messages
/// were purged; running it again purges what is left.
///
/// Errors: 404 `chat_not_found` for no such chat.
pub async fn purge_chat(ctx: &AppContext, chat_id: i64) -> AppResult<usize> {
    let mut conn = ctx.db.get().await?;
    let deleted_at: Option<Option<chrono::DateTime<chrono::Utc>>> = chats::table
        .find(chat_id)
        .select(chats::deleted_at)
        .first(&mut conn)
        .await
        .optional()?;
    let Some(deleted_at) = deleted_at else {
        return Err(AppError::not_found(
            "chat_not_found",
            "This chat does not exist.",
        ));
    };
    if deleted_at.is_none() {
        let deleted = crate::transaction!(conn, async |conn| {
            let chat = Chat::lock(conn, chat_id).await?;
            let deleted = event::record(conn, chat_id, |_| DomainEvent::ChatDeleted {
                user_id: None,
            })
            .await?;
            retire(conn, &chat).await?;
            Ok(deleted)
        })?;
        live::publish_logged(&ctx.bus, vec![deleted]).await;
    }
    let mut purged = 0;
    loop {
        // Nobody can write to a deleted chat: no lock is needed.
        let count = crate::transaction!(conn, async |conn| {
            let batch: Vec<Message> = messages::table
                .filter(messages::chat_id.eq(chat_id))
                .filter(messages::deleted_at.is_null())
                .order(messages::id.asc())
                .limit(PURGE_BATCH)
                .select(Message::as_select())
                .load(conn)
                .await?;
            for message in &batch {
                Message::delete_for_all(conn, message.id).await?;
                event::redact_message(conn, message).await?;
            }
            Ok(batch.len())
        })?;
        purged += count;
        if (count as i64) < PURGE_BATCH {
            break;
        }
    }
    tracing::info!(
        chat.id = chat_id,
        messages = purged,
        "chat purged by an operator"
    );
    Ok(purged)
}
