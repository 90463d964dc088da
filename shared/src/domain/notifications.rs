//! Notifications (seed 004 §10; ARCHITECTURE §4 "notification fan-out").
//!
//! Every new message is handled once by the fan-out ([`fan_out`]), which
//! the worker runs in a loop: it takes the messages not handled yet
//! (`notification_queue`, which a trigger on `messages` fills from every
//! insert; oldest first, `SKIP LOCKED` so that workers share them) and
//! writes a notification for each member other than the sender who is
//! offline (and has not muted the chat), or who muted the chat but is
//! mentioned. One per user per message, so a batch
//! redone after a crash writes nothing twice; a message that a crashed
//! worker had taken is taken again once its transaction is gone. After
//! commit, online recipients hear `notification` on their sockets and
//! offline ones get a push on their devices ([`crate::infra::push`]); a
//! failed push is logged and never loses the row.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Deserialize;

use crate::domain::caller::AuthContext;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::live::{self, LiveEvent};
use crate::domain::models::notification::{Device, NewNotification, Notification};
use crate::domain::models::{Message, MessageType};
use crate::domain::validate;
use crate::infra::bus::Topic;
use crate::infra::schema::{chat_members, mentions};

/// Messages one fan-out pass takes.
pub const FAN_OUT_BATCH: i64 = 200;
/// Characters of a message's text a notification carries.
const PREVIEW_CHARS: usize = 100;

/// Query of `GET /notifications`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationsQuery {
    /// 1–100, default 50.
    pub limit: Option<i64>,
    /// Notifications older than this one.
    pub before_id: Option<i64>,
}

/// `POST /devices {platform, token}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct DeviceRequest {
    /// `web` (a Web Push subscription, as the browser's
    /// `PushSubscription.toJSON()` gives it, as a string), `fcm` or `apns`
    /// (the token).
    pub platform: String,
    pub token: String,
}

/// `GET /notifications?limit&before_id`: the caller's notifications,
/// newest first.
///
/// Errors: 422 `limit`.
pub async fn list(
    ctx: &AppContext,
    auth: &AuthContext,
    query: &NotificationsQuery,
) -> AppResult<Vec<Notification>> {
    let limit = validate::limit(query.limit, 50, 100)?;
    let mut conn = ctx.db.get().await?;
    Ok(Notification::page(&mut conn, auth.user_id, query.before_id, limit).await?)
}

/// `POST /devices`: registers a push target of the caller (registering it
/// again refreshes it; a token registered by another account moves to the
/// caller, as one browser or phone has one owner at a time).
///
/// Errors: 422 `platform` (not `web`, `fcm` or `apns`), `token` (empty,
/// over 4,096 characters, or for `web` not a subscription with an HTTPS or
/// local `endpoint` and its `keys`).
pub async fn register_device(
    ctx: &AppContext,
    auth: &AuthContext,
    req: &DeviceRequest,
) -> AppResult<Device> {
    if !matches!(req.platform.as_str(), "web" | "fcm" | "apns") {
        return Err(AppError::validation(
            "platform",
            "platform must be web, fcm or apns.",
        ));
    }
    let token = validate::text_field("token", &req.token, 1, 4096)?;
    if req.platform == "web" && crate::infra::push::web_subscription(&token).is_none() {
        return Err(AppError::validation(
            "token",
            "A web token is a push subscription: {\"endpoint\", \"keys\": {\"p256dh\", \"auth\"}}.",
        ));
    }
    let mut conn = ctx.db.get().await?;
    Ok(Device::upsert(&mut conn, auth.user_id, &req.platform, &token).await?)
}

/// `GET /devices`: the caller's devices.
pub async fn devices(ctx: &AppContext, auth: &AuthContext) -> AppResult<Vec<Device>> {
    let mut conn = ctx.db.get().await?;
    Ok(Device::of_user(&mut conn, auth.user_id).await?)
}

/// `DELETE /devices/{id}`: forgets one of the caller's devices.
///
/// Errors: 404 `device_not_found` (also another user's).
pub async fn remove_device(ctx: &AppContext, auth: &AuthContext, id: i64) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    if !Device::delete(&mut conn, auth.user_id, id).await? {
        return Err(AppError::not_found(
            "device_not_found",
            "There is no such device of yours.",
        ));
    }
    Ok(())
}

/// What a notification says about its message (`NotificationRead.payload`).
fn payload(message: &Message, mentioned: bool) -> serde_json::Value {
    let preview: String = match message.message_type {
        MessageType::Text => message.text.chars().take(PREVIEW_CHARS).collect(),
        other => format!("[{other}]"),
    };
    serde_json::json!({
        "chat_id": message.chat_id,
        "message_id": message.id,
        "sender_id": message.sender_id,
        "type": message.message_type,
        "text": preview,
        "mentioned": mentioned,
    })
}

/// One pass of the fan-out: handles up to [`FAN_OUT_BATCH`] messages;
/// returns how many it took (fewer than the batch: the backlog is empty).
///
/// Errors: the database failed (the messages stay unhandled; the next pass
/// takes them again).
pub async fn fan_out(ctx: &AppContext) -> anyhow::Result<usize> {
    let mut conn = ctx.db.get().await?;
    let (taken, created) = conn
        .transaction::<_, anyhow::Error, _>(async |conn| {
            let ids = Notification::claim_messages(conn, FAN_OUT_BATCH).await?;
            if ids.is_empty() {
                return Ok((0, Vec::new()));
            }
            let messages = Message::by_ids(conn, &ids).await?;
            let chat_ids: Vec<i64> = messages.iter().map(|m| m.chat_id).collect();
            let members: Vec<(i64, i64, bool)> = chat_members::table
                .filter(chat_members::chat_id.eq_any(&chat_ids))
                .select((
                    chat_members::chat_id,
                    chat_members::user_id,
                    chat_members::muted,
                ))
                .load(conn)
                .await?;
            let mentioned: HashSet<(i64, i64)> = mentions::table
                .filter(mentions::message_id.eq_any(&ids))
                .select((mentions::message_id, mentions::user_id))
                .load::<(i64, i64)>(conn)
                .await?
                .into_iter()
                .collect();
            let mut people: Vec<i64> = members.iter().map(|(_, user, _)| *user).collect();
            people.sort_unstable();
            people.dedup();
            let online = ctx.presence.online(&people).await?;
            let mut by_chat: HashMap<i64, Vec<(i64, bool)>> = HashMap::new();
            for (chat_id, user_id, muted) in members {
                by_chat.entry(chat_id).or_default().push((user_id, muted));
            }
            let mut rows = Vec::new();
            for message in messages.iter().filter(|m| m.deleted_at.is_none()) {
                for (user_id, muted) in by_chat.get(&message.chat_id).into_iter().flatten() {
                    if Some(*user_id) == message.sender_id {
                        continue;
                    }
                    let is_mentioned = mentioned.contains(&(message.id, *user_id));
                    let away = !online.contains(user_id);
                    // Seed 004 §7: a muted chat still notifies mentions.
                    if !((away && !muted) || (*muted && is_mentioned)) {
                        continue;
                    }
                    rows.push(NewNotification {
                        user_id: *user_id,
                        chat_id: message.chat_id,
                        message_id: message.id,
                        event_type: if is_mentioned {
                            "mention"
                        } else {
                            "message_created"
                        }
                        .to_owned(),
                        payload: payload(message, is_mentioned),
                    });
                }
            }
            let created = Notification::insert_new(conn, &rows).await?;
            Notification::mark_handled(conn, &ids).await?;
            let created: Vec<(Notification, bool)> = created
                .into_iter()
                .map(|n| {
                    let is_online = online.contains(&n.user_id);
                    (n, is_online)
                })
                .collect();
            Ok((ids.len(), created))
        })
        .await?;
    deliver(ctx, created).await;
    Ok(taken)
}

/// Runs [`fan_out`] for ever: again at once while it finds full batches,
/// else every `idle`. What the worker runs (and the API process itself
/// when there is no worker: no Redis).
pub async fn run_fan_out(ctx: AppContext, idle: std::time::Duration) {
    let mut healthy = true;
    loop {
        match fan_out(&ctx).await {
            Ok(taken) => {
                healthy = true;
                if taken < FAN_OUT_BATCH as usize {
                    tokio::time::sleep(idle).await;
                }
            }
            Err(err) => {
                if healthy {
                    tracing::warn!(
                        error = format!("{err:#}"),
                        "notification fan-out failed; retrying"
                    );
                    healthy = false;
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

/// After commit: `notification` to the sockets of online recipients, a
/// push to the devices of the others. Failures are logged.
async fn deliver(ctx: &AppContext, created: Vec<(Notification, bool)>) {
    let mut away = Vec::new();
    for (notification, is_online) in created {
        if is_online {
            let user_id = notification.user_id;
            let event = LiveEvent::Notification {
                notification: Box::new(notification),
            };
            live::publish(&ctx.bus, Topic::User(user_id), &event).await;
        } else {
            away.push(notification);
        }
    }
    if away.is_empty() {
        return;
    }
    let users: Vec<i64> = away.iter().map(|n| n.user_id).collect();
    let devices = async {
        let mut conn = ctx.db.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        anyhow::Ok(Device::of_users(&mut conn, &users).await?)
    }
    .await
    .unwrap_or_else(|err| {
        // The rows are written; only this round of pushes is lost.
        tracing::warn!(
            error = format!("{err:#}"),
            "devices unreadable; pushes skipped"
        );
        Vec::new()
    });
    for notification in &away {
        for device in devices.iter().filter(|d| d.user_id == notification.user_id) {
            if let Err(err) = ctx
                .push
                .send(&device.platform, &device.token, &notification.payload)
                .await
            {
                tracing::warn!(device.id = device.id, platform = %device.platform, error = format!("{err:#}"), "push failed");
            }
        }
    }
}

/// Deletes notifications older than `days`; returns how many. Run by
/// retention.
///
/// Errors: the database failed.
pub async fn prune(ctx: &AppContext, days: i64) -> anyhow::Result<usize> {
    let mut conn = ctx.db.get().await?;
    let before = chrono::Utc::now() - chrono::Duration::days(days);
    Ok(Notification::prune(&mut conn, before).await?)
}
