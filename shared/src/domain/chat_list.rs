//! The chat list as one member sees it (seed 004 §7): each chat's row
//! ([`ChatListRow`]), its display title and avatar, and the presence of a
//! private chat's counterpart as their privacy lets the viewer see it
//! (seed 004 §3.7).

use diesel_async::AsyncPgConnection;

use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::models::ChatType;
use crate::domain::models::chat::{ChatListFilter, ChatListRow};
use crate::domain::presence::{PresenceView, visible_presence};
use crate::domain::views::ChatView;

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

pub(crate) async fn load_chat_views(
    ctx: &AppContext,
    conn: &mut AsyncPgConnection,
    user_id: i64,
    filter: &ChatListFilter,
) -> AppResult<Vec<ChatView>> {
    let rows = ChatListRow::load(conn, user_id, filter).await?;
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.counterpart_user_id).collect();
    let presence = visible_presence(ctx, conn, user_id, &ids).await?;
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
