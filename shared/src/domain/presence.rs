//! Presence announcements (ARCHITECTURE §3): when a user comes online or
//! goes offline, the users allowed to see it (seed 004 §3.7) are told. The
//! store of who is online is [`crate::infra::presence_store`].

use chrono::Utc;

use crate::domain::context::AppContext;
use crate::domain::live::LiveEvent;
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
