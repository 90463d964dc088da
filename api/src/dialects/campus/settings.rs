//! Seed 001's room settings and online list ("고급 기능" 2–4): the
//! document's settings are the caller's notifications (Parley's mute) and
//! the chat's settings (`retention_days`, `read_receipts_enabled`); the
//! online list is the members' presence as the caller may see it.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use chrono::Utc;
use parley_shared::domain::chat_info::{self, ChatSettingsUpdate};
use parley_shared::domain::chat_prefs::{self, MuteRequest};
use parley_shared::domain::views::{ChatSettings, NotificationSettings};
use parley_shared::domain::{chats, members};
use serde::{Deserialize, Serialize};

use super::convert::{display_name, time};
use super::error::{CampusResult, CampusUser};
use crate::extract::parse_json;
use crate::state::ApiState;

/// What `message_retention_days` shows while auto-delete is off, and what
/// turning it on without a number keeps: the document's value.
pub const DEFAULT_RETENTION_DAYS: i32 = 365;

/// `GET /chat/rooms/{room_id}/settings/` and the answer of `PUT`.
#[derive(Debug, Serialize)]
pub struct RoomSettings {
    pub room_id: i64,
    pub notification_enabled: bool,
    pub message_retention_days: i32,
    pub auto_delete_enabled: bool,
    pub read_receipt_enabled: bool,
}

impl RoomSettings {
    pub fn new(chat: &ChatSettings, mine: &NotificationSettings) -> Self {
        RoomSettings {
            room_id: chat.chat_id,
            notification_enabled: !mine.muted,
            message_retention_days: chat.retention_days.unwrap_or(DEFAULT_RETENTION_DAYS),
            auto_delete_enabled: chat.retention_days.is_some(),
            read_receipt_enabled: chat.read_receipts_enabled,
        }
    }
}

/// `PUT /chat/rooms/{room_id}/settings/` request: each field present is
/// set.
#[derive(Debug, Deserialize)]
pub struct SettingsUpdate {
    #[serde(default)]
    pub notification_enabled: Option<bool>,
    #[serde(default)]
    pub message_retention_days: Option<i32>,
    #[serde(default)]
    pub auto_delete_enabled: Option<bool>,
    #[serde(default)]
    pub read_receipt_enabled: Option<bool>,
}

/// The chat's `retention_days` change a settings update asks for
/// (`None`: no change): auto-delete off keeps messages; on, it keeps them
/// `message_retention_days` (or the current number, or
/// [`DEFAULT_RETENTION_DAYS`]); a number alone changes the number while
/// auto-delete is on and is not kept while it is off.
pub fn retention_change(req: &SettingsUpdate, current: Option<i32>) -> Option<Option<i32>> {
    let wanted = match (req.auto_delete_enabled, req.message_retention_days) {
        (Some(false), _) => None,
        (Some(true), days) => Some(days.or(current).unwrap_or(DEFAULT_RETENTION_DAYS)),
        (None, Some(days)) if current.is_some() => Some(days),
        (None, _) => return None,
    };
    (wanted != current).then_some(wanted)
}

/// One user of `GET /chat/rooms/{room_id}/online-status/`.
#[derive(Debug, Serialize)]
pub struct OnlineStatus {
    pub user_id: i64,
    pub user_name: String,
    pub is_online: bool,
    pub last_seen: Option<String>,
}

/// "2. 채팅방 설정" `GET /chat/rooms/{room_id}/settings/`: the caller's
/// notifications (not muted) and the chat's settings.
pub async fn settings(
    state: web::Data<ApiState>,
    caller: CampusUser,
    path: web::Path<i64>,
) -> CampusResult<HttpResponse> {
    let room_id = path.into_inner();
    let chat = chat_info::settings(&state.ctx, &caller, room_id).await?;
    let mine = chat_prefs::notifications(&state.ctx, &caller, room_id).await?;
    Ok(HttpResponse::Ok().json(RoomSettings::new(&chat, &mine)))
}

/// "3. 채팅방 설정 업데이트" `PUT /chat/rooms/{room_id}/settings/`:
/// `notification_enabled` mutes or unmutes the room for the caller;
/// `auto_delete_enabled` / `message_retention_days` and
/// `read_receipt_enabled` are the chat's (the domain lets its owner and
/// admins, or either member of a direct room, change them). Only chat
/// settings that differ from the current ones are sent, so that a member
/// who sends the whole form back with their notifications changed is not
/// refused for the rest.
pub async fn update_settings(
    state: web::Data<ApiState>,
    caller: CampusUser,
    path: web::Path<i64>,
    bytes: web::Bytes,
) -> CampusResult<HttpResponse> {
    let req: SettingsUpdate = parse_json(&bytes)?;
    let room_id = path.into_inner();
    let ctx = &state.ctx;
    let current = chat_info::settings(ctx, &caller, room_id).await?;
    let update = ChatSettingsUpdate {
        retention_days: retention_change(&req, current.retention_days),
        read_receipts_enabled: req
            .read_receipt_enabled
            .filter(|on| *on != current.read_receipts_enabled),
    };
    let chat = if update.retention_days.is_some() || update.read_receipts_enabled.is_some() {
        chat_info::set_settings(ctx, &caller, room_id, &update).await?
    } else {
        current
    };
    let mine = match req.notification_enabled {
        Some(on) => {
            chat_prefs::set_muted(ctx, &caller, room_id, &MuteRequest { muted: !on }).await?
        }
        None => chat_prefs::notifications(ctx, &caller, room_id).await?,
    };
    Ok(HttpResponse::Ok().json(RoomSettings::new(&chat, &mine)))
}

/// "4. 온라인 사용자 상태" `GET /chat/rooms/{room_id}/online-status/`: each
/// member, online or not and when last seen, as far as their privacy lets
/// the caller see it (a hidden member shows offline, never seen). An
/// online user's `last_seen` is now.
pub async fn online_status(
    state: web::Data<ApiState>,
    caller: CampusUser,
    path: web::Path<i64>,
) -> CampusResult<HttpResponse> {
    let room_id = path.into_inner();
    let presence = members::members_presence(&state.ctx, &caller, room_id).await?;
    let detail = chats::get_chat(&state.ctx, &caller, room_id).await?;
    let names: HashMap<i64, String> = detail
        .members
        .iter()
        .map(|m| (m.user_id, display_name(&m.name, m.nickname.as_deref())))
        .collect();
    let now = Utc::now();
    let list: Vec<OnlineStatus> = presence
        .into_iter()
        .map(|(user_id, presence)| {
            let is_online = presence.is_some_and(|p| p.is_online);
            let last_seen = if is_online {
                Some(now)
            } else {
                presence.and_then(|p| p.last_seen_at)
            };
            OnlineStatus {
                user_id,
                user_name: names.get(&user_id).cloned().unwrap_or_default(),
                is_online,
                last_seen: last_seen.map(time),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_follows_auto_delete() {
        let update = |auto: Option<bool>, days: Option<i32>| SettingsUpdate {
            notification_enabled: None,
            message_retention_days: days,
            auto_delete_enabled: auto,
            read_receipt_enabled: None,
        };
        assert_eq!(
            retention_change(&update(Some(true), None), None),
            Some(Some(365))
        );
        assert_eq!(
            retention_change(&update(Some(true), Some(30)), None),
            Some(Some(30))
        );
        assert_eq!(
            retention_change(&update(Some(false), Some(30)), Some(7)),
            Some(None)
        );
        assert_eq!(retention_change(&update(None, Some(30)), None), None);
        assert_eq!(
            retention_change(&update(None, Some(30)), Some(7)),
            Some(Some(30))
        );
        assert_eq!(retention_change(&update(Some(true), None), Some(7)), None);
        assert_eq!(retention_change(&update(None, None), Some(7)), None);
    }
}
