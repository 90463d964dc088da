//! The chat list as one member sees it (seed 004 §7): each chat's row
//! ([`ChatListRow`]), its display title and avatar, and the presence of a
//! private chat's counterpart as their privacy lets the viewer see it
//! (seed 004 §3.7).

use std::collections::HashMap;

use diesel_async::AsyncPgConnection;

use crate::domain::blocks;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::models::chat::{ChatListFilter, ChatListRow};
use crate::domain::models::{ChatType, Privacy};
use crate::domain::views::{ChatView, CounterpartPresence};

fn chat_view(mut row: ChatListRow, presence: &PresenceView) -> ChatView {
    if row
        .counterpart_user_id
        .is_some_and(|id| presence.hidden_avatars.contains(&id))
    {
        row.counterpart_avatar_url = None;
    }
    let display_title = if row.is_saved {
        SAVED_TITLE.to_owned()
    } else {
        row.title
            .clone()
            .or_else(|| row.counterpart_name.clone())
            .unwrap_or_else(|| "Deleted account".to_owned())
    };
    let subscribers_count = (row.chat_type == ChatType::Channel).then_some(row.members_count);
    let counterpart_presence = row
        .counterpart_user_id
        .and_then(|id| presence.visible.get(&id).copied());
    let online_count = i64::from(counterpart_presence.is_some_and(|p| p.is_online))
        + i64::from(row.counterpart_user_id.is_some() && presence.viewer_online);
    ChatView {
        avatar_url: row
            .avatar_url
            .clone()
            .or_else(|| row.counterpart_avatar_url.clone()),
        display_title,
        online_count,
        subscribers_count,
        counterpart_presence,
        row,
    }
}

/// What the viewer may see of the presence of their private chats'
/// counterparts (seed 004 §3.7): `(is_online, last_seen_at)` per visible
/// counterpart; hidden ones are absent (the fields are then `null`).
struct PresenceView {
    visible: HashMap<i64, CounterpartPresence>,
    /// Counterparts whose `privacy_avatar` hides their avatar from the viewer.
    hidden_avatars: Vec<i64>,
    viewer_online: bool,
}

async fn presence_view(
    ctx: &AppContext,
    conn: &mut AsyncPgConnection,
    viewer_id: i64,
    rows: &[ChatListRow],
) -> AppResult<PresenceView> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;

    use crate::infra::schema::{contacts, users};
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.counterpart_user_id).collect();
    let mut view = PresenceView {
        visible: HashMap::new(),
        hidden_avatars: Vec::new(),
        viewer_online: false,
    };
    if ids.is_empty() {
        return Ok(view);
    }
    let people: Vec<(i64, Privacy, Option<chrono::DateTime<chrono::Utc>>, Privacy)> = users::table
        .filter(users::id.eq_any(&ids))
        .select((
            users::id,
            users::privacy_last_seen,
            users::last_seen_at,
            users::privacy_avatar,
        ))
        .load(conn)
        .await?;
    let keep_me: Vec<i64> = contacts::table
        .filter(contacts::owner_id.eq_any(&ids))
        .filter(contacts::contact_id.eq(viewer_id))
        .select(contacts::owner_id)
        .load(conn)
        .await?;
    view.hidden_avatars = people
        .iter()
        .filter(|(id, _, _, avatar)| !avatar.allows(keep_me.contains(id)))
        .map(|(id, _, _, _)| *id)
        .collect();
    let blocked = blocks::either_way(conn, viewer_id, &ids).await?;
    let visible: Vec<(i64, Option<chrono::DateTime<chrono::Utc>>)> = people
        .into_iter()
        .filter(|(id, _, _, _)| !blocked.contains(id))
        .filter(|(id, privacy, _, _)| privacy.allows(keep_me.contains(id)))
        .map(|(id, _, seen, _)| (id, seen))
        .collect();
    let mut ask: Vec<i64> = visible.iter().map(|(id, _)| *id).collect();
    ask.push(viewer_id);
    let online = ctx.presence.online(&ask).await?;
    view.viewer_online = online.contains(&viewer_id);
    for (id, seen) in visible {
        let is_online = online.contains(&id);
        let last_seen_at = if is_online { None } else { seen };
        view.visible.insert(
            id,
            CounterpartPresence {
                is_online,
                last_seen_at,
            },
        );
    }
    Ok(view)
}

pub(crate) async fn load_chat_views(
    ctx: &AppContext,
    conn: &mut AsyncPgConnection,
    user_id: i64,
    filter: &ChatListFilter,
) -> AppResult<Vec<ChatView>> {
    let rows = ChatListRow::load(conn, user_id, filter).await?;
    let presence = presence_view(ctx, conn, user_id, &rows).await?;
    Ok(rows
        .into_iter()
        .map(|row| chat_view(row, &presence))
        .collect())
}

pub(crate) async fn read_chat(
    ctx: &AppContext,
    conn: &mut AsyncPgConnection,
    user_id: i64,
    chat_id: i64,
) -> AppResult<ChatView> {
    let filter = ChatListFilter {
        chat_id: Some(chat_id),
        limit: 1,
        ..Default::default()
    };
    load_chat_views(ctx, conn, user_id, &filter)
        .await?
        .into_iter()
        .next()
        .ok_or_else(AppError::not_a_member)
}

/// The title of a saved-messages chat.
const SAVED_TITLE: &str = "Saved Messages";
