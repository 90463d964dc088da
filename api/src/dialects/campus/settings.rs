//! Seed 001's room settings and online list ("고급 기능" 2–4): the
//! document's settings are the caller's notifications (Parley's mute) and
//! the chat's settings (`retention_days`, `read_receipts_enabled`); the
//! online list is the members' presence as the caller may see it.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use chrono::Utc;
use parley_shared::AppContext;
use parley_shared::domain::caller::AuthContext;
use parley_shared::domain::chat_info::{self, ChatSettingsUpdate};
use parley_shared::domain::chat_prefs::{self, MuteRequest};
use parley_shared::domain::chats;
use parley_shared::domain::views::{ChatSettings, CounterpartPresence, NotificationSettings};
use serde::{Deserialize, Serialize};

use super::convert::{display_name, time};
use super::error::{CampusResult, CampusUser};
use super::rooms::all_chats;
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

/// The presence the caller may see (seed 004 §3.7) of the other members of
/// their direct rooms, and whether the caller is online, read from their
/// chat list (the one domain view that carries presence).
async fn visible_presence(
    ctx: &AppContext,
    auth: &AuthContext,
) -> CampusResult<(HashMap<i64, CounterpartPresence>, Option<bool>)> {
    let mut seen = HashMap::new();
    let mut me_online = None;
    for chat in all_chats(ctx, auth).await? {
        let Some(other) = chat.row.counterpart_user_id else {
            continue;
        };
        let other_online = chat.counterpart_presence.is_some_and(|p| p.is_online);
        // A direct room's `online_count` is the visible counterpart's
        // presence plus the caller's.
        if me_online.is_none() {
            me_online = Some(chat.online_count - i64::from(other_online) > 0);
        }
        if let Some(presence) = chat.counterpart_presence {
            seen.insert(other, presence);
        }
    }
    Ok((seen, me_online))
}

/// "4. 온라인 사용자 상태" `GET /chat/rooms/{room_id}/online-status/`: each
/// member, online or not and when last seen, as far as their privacy lets
/// the caller see it (Parley's domain shows presence per direct room's
/// counterpart: a member the caller shares no direct room with shows
/// offline, never seen). An online user's `last_seen` is now.
pub async fn online_status(
    state: web::Data<ApiState>,
    caller: CampusUser,
    path: web::Path<i64>,
) -> CampusResult<HttpResponse> {
    let detail = chats::get_chat(&state.ctx, &caller, path.into_inner()).await?;
    let (seen, me_online) = visible_presence(&state.ctx, &caller).await?;
    let now = Utc::now();
    let list: Vec<OnlineStatus> = detail
        .members
        .iter()
        .map(|m| {
            let presence = if m.user_id == caller.user_id {
                me_online.map(|is_online| CounterpartPresence {
                    is_online,
                    last_seen_at: None,
                })
            } else {
                seen.get(&m.user_id).copied()
            };
            let is_online = presence.is_some_and(|p| p.is_online);
            let last_seen = if is_online {
                Some(now)
            } else {
                presence.and_then(|p| p.last_seen_at)
            };
            OnlineStatus {
                user_id: m.user_id,
                user_name: display_name(&m.name, m.nickname.as_deref()),
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
