//! Presence (ARCHITECTURE §3): when a user comes online or goes offline,
//! the users allowed to see it (seed 004 §3.7) are told; what a viewer may
//! see of others' presence. The store of who is online is
//! [`crate::infra::presence_store`].

use std::collections::HashMap;

use chrono::Utc;
use diesel_async::AsyncPgConnection;

use crate::domain::blocks;
use crate::domain::context::AppContext;
use crate::domain::error::AppResult;
use crate::domain::live::LiveEvent;
use crate::domain::models::Privacy;
use crate::domain::views::CounterpartPresence;
use crate::infra::bus::Topic;

/// Tells the user's presence audience (privacy applied, see
/// [`crate::domain::users::presence_audience`]) that they came online or went
/// offline; going offline also stores `last_seen_at`.
pub async fn announce(ctx: &AppContext, user_id: i64, is_online: bool) {
    let result: anyhow::Result<()> = async {
        let mut conn = ctx.db.get().await?;
        let last_seen_at = if is_online {
            None
        } else {
            let now = Utc::now();
            crate::domain::users::touch_last_seen(&mut conn, user_id, now).await?;
            Some(now)
        };
        let audience = crate::domain::users::presence_audience(&mut conn, user_id).await?;
        drop(conn);
        let event = LiveEvent::Presence {
            user_id,
            is_online,
            last_seen_at,
        }
        .encode();
        for viewer in audience {
            ctx.bus.publish(Topic::User(viewer), event.clone()).await;
        }
        Ok(())
    }
    .await;
    if let Err(err) = result {
        tracing::warn!(
            user.id = user_id,
            error = format!("{err:#}"),
            "presence announcement failed"
        );
    }
}

/// What a viewer may see of other users' presence (seed 004 §3.7):
/// `(is_online, last_seen_at)` per visible user; hidden ones are absent
/// (the fields are then `null`).
pub(crate) struct PresenceView {
    pub(crate) visible: HashMap<i64, CounterpartPresence>,
    /// Users whose `privacy_avatar` hides their avatar from the viewer.
    pub(crate) hidden_avatars: Vec<i64>,
    pub(crate) viewer_online: bool,
}

/// The presence of `ids` as `viewer_id` may see it (their
/// `privacy_last_seen`, blocks either way), and whether the viewer is
/// online.
pub(crate) async fn visible_presence(
    ctx: &AppContext,
    conn: &mut AsyncPgConnection,
    viewer_id: i64,
    ids: &[i64],
) -> AppResult<PresenceView> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;

    use crate::infra::schema::{contacts, users};
    let mut view = PresenceView {
        visible: HashMap::new(),
        hidden_avatars: Vec::new(),
        viewer_online: false,
    };
    let ids: Vec<i64> = ids.iter().copied().filter(|id| *id != viewer_id).collect();
    if ids.is_empty() {
        view.viewer_online = ctx
            .presence
            .online(&[viewer_id])
            .await?
            .contains(&viewer_id);
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
