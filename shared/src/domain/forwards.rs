//! Forwarding (seed 004 §8): `POST /messages/{id}/forward {target_chat_id}`
//! and `POST /messages/{id}/forward-bulk {target_chat_ids}`. The copy is a
//! new message of the caller in the target chat, with the source's type and
//! text and `forwarded_from_message_id` naming the original (a forward of a
//! forward names the first message). The caller must be able to read the
//! source and post in every target.
//!
//! Both take an optional `client_message_id`: a retry with it answers the
//! copies made the first time and makes no new ones (a bulk forward keys
//! each copy by it and the target chat).

use std::collections::BTreeSet;

use diesel_async::AsyncPgConnection;
use serde::Deserialize;

use crate::domain::caller::AuthContext;
use crate::domain::chats::require_member;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::events::LoggedEvent;
use crate::domain::group_commit::{DUPLICATE_CODE, Post, post_message};
use crate::domain::history::{message_not_found, read_for, visible_message};
use crate::domain::live;
use crate::domain::messages::{MAX_CLIENT_ID_CHARS, SendOutcome, Throttle};
use crate::domain::models::Message;
use crate::domain::validate;
use crate::domain::views::MessageView;
use crate::infra::ratelimit::Limit;

/// `MessageForwardRequest` (seed 004 §3.4), plus an optional
/// `client_message_id` that makes a retry safe.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ForwardRequest {
    pub target_chat_id: i64,
    #[serde(default)]
    pub client_message_id: Option<String>,
}

/// `MessageForwardBulkRequest` (seed 004 §3.4), plus a
/// `client_message_id` (optional up to `BULK_SYNC_MAX` targets, required
/// above, where the worker does it).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ForwardBulkRequest {
    /// 1 to `BULK_MAX_RECEIVERS` chats (repeats count once).
    pub target_chat_ids: Vec<i64>,
    #[serde(default)]
    pub client_message_id: Option<String>,
}

/// `POST /messages/{id}/forward`: copies the message into the target chat.
///
/// Errors: 404 `message_not_found` (deleted, or hidden from the caller),
/// `chat_not_found`; 403 `not_a_member` (of the source's chat or the
/// target), `cannot_post`, `blocked`; 409 `client_message_id_conflict`
/// (the id was used for another message); 429 `rate_limited`.
pub async fn forward(
    ctx: &AppContext,
    auth: &AuthContext,
    message_id: i64,
    req: &ForwardRequest,
) -> AppResult<(MessageView, SendOutcome)> {
    let (mut views, outcome) = forward_to(
        ctx,
        auth.user_id,
        message_id,
        &[req.target_chat_id],
        req.client_message_id.as_deref(),
    )
    .await?;
    let view = views
        .pop()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("no forwarded copy")))?;
    Ok((view, outcome))
}

/// The target chats of a bulk forward once each, in ascending order (the
/// order chats are locked in).
pub(crate) fn distinct_targets(ids: &[i64]) -> Vec<i64> {
    ids.iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A bulk forward done in the request (up to `BULK_SYNC_MAX` targets, see
/// [`crate::domain::bulk::forward_bulk`]): copies the message into each
/// target chat, all or none: when one target refuses, nothing is sent and
/// the answer is that target's refusal. Copies come back in target id order.
///
/// Errors: as [`forward`].
pub(crate) async fn forward_bulk_now(
    ctx: &AppContext,
    me: i64,
    message_id: i64,
    targets: &[i64],
    client_id: Option<&str>,
) -> AppResult<(Vec<MessageView>, SendOutcome)> {
    forward_to(ctx, me, message_id, targets, client_id).await
}

/// The client id of the copy in `target` (each copy needs its own).
fn copy_key(client_id: &str, targets: &[i64], target: i64) -> String {
    if targets.len() == 1 {
        client_id.to_owned()
    } else {
        format!("{client_id}@{target}")
    }
}

async fn forward_to(
    ctx: &AppContext,
    me: i64,
    message_id: i64,
    targets: &[i64],
    client_id: Option<&str>,
) -> AppResult<(Vec<MessageView>, SendOutcome)> {
    let client_id = client_id
        .map(|id| validate::text_field("client_message_id", id, 1, MAX_CLIENT_ID_CHARS))
        .transpose()?;
    let keys: Vec<Option<String>> = targets
        .iter()
        .map(|t| client_id.as_deref().map(|c| copy_key(c, targets, *t)))
        .collect();
    forward_copies(ctx, me, message_id, targets, &keys, Throttle::PerSender).await
}

/// Copies `message_id` into each of `targets` (ascending) in one
/// transaction, each copy keyed by its `keys` entry; answers the earlier
/// copies when they were all made already.
///
/// Errors: as [`forward`].
pub(crate) async fn forward_copies(
    ctx: &AppContext,
    me: i64,
    message_id: i64,
    targets: &[i64],
    keys: &[Option<String>],
    throttle: Throttle,
) -> AppResult<(Vec<MessageView>, SendOutcome)> {
    let mut conn = ctx.db.get().await?;
    if let Some(copies) = earlier_copies(&mut conn, me, message_id, targets, keys).await? {
        return Ok((copies, SendOutcome::Existing));
    }
    if throttle == Throttle::PerSender {
        ctx.limits.check(Limit::Message, &me.to_string()).await?;
    }
    let result = crate::transaction!(conn, async |conn| {
        let (source, _, _) = visible_message(conn, message_id, me, false).await?;
        if source.deleted_at.is_some() {
            return Err(message_not_found());
        }
        let original = source.forwarded_from_message_id.unwrap_or(source.id);
        let mut made: Vec<(LoggedEvent, MessageView)> = Vec::with_capacity(targets.len());
        // Ascending chat ids: the one lock order of writes to several chats.
        for (target, key) in targets.iter().zip(keys) {
            let post = Post {
                chat_id: *target,
                message_type: source.message_type,
                text: &source.text,
                reply_to_message_id: None,
                forwarded_from_message_id: Some(original),
                client_message_id: key.as_deref(),
                attachments_of: Some(source.id),
            };
            made.push(post_message(conn, me, post).await?);
        }
        Ok(made)
    });
    match result {
        Ok(made) => {
            let (events, views): (Vec<_>, Vec<_>) = made.into_iter().unzip();
            live::publish_logged(&ctx.bus, events).await;
            Ok((views, SendOutcome::Created))
        }
        // A concurrent retry committed first: answer with its copies.
        Err(AppError::Conflict { code, .. }) if code == DUPLICATE_CODE => {
            earlier_copies(&mut conn, me, message_id, targets, keys)
                .await?
                .map(|copies| (copies, SendOutcome::Existing))
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("forward retry vanished")))
        }
        Err(err) => Err(err),
    }
}

/// The copies an earlier forward with these client ids made, if it made
/// them all; 409 `client_message_id_conflict` when an id names another
/// message.
async fn earlier_copies(
    conn: &mut AsyncPgConnection,
    me: i64,
    message_id: i64,
    targets: &[i64],
    keys: &[Option<String>],
) -> AppResult<Option<Vec<MessageView>>> {
    let source = Message::find(conn, message_id).await.ok();
    let original = source.map(|s| s.forwarded_from_message_id.unwrap_or(s.id));
    let mut copies = Vec::new();
    for (target, key) in targets.iter().zip(keys) {
        let Some(key) = key else {
            return Ok(None);
        };
        let Some(copy) = Message::find_by_client_id(conn, me, key).await? else {
            return Ok(None);
        };
        if copy.chat_id != *target || copy.forwarded_from_message_id != original {
            return Err(AppError::conflict(
                "client_message_id_conflict",
                "client_message_id was already used for another message.",
            ));
        }
        copies.push(copy);
    }
    let mut views = Vec::with_capacity(copies.len());
    for copy in &copies {
        // Still authorised? (A retry after being removed from a chat.)
        require_member(conn, copy.chat_id, me).await?;
        views.push(read_for(conn, copy, me).await?);
    }
    Ok(Some(views))
}
