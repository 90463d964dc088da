//! Retention (ARCHITECTURE §4): old rows that nobody needs any more. The
//! worker runs [`prune`] every `RETENTION_INTERVAL_SECS`.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::context::AppContext;
use crate::infra::schema::{chat_events, email_tokens, invite_links, sessions};

/// Rows removed by one [`prune`] pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub chat_events: usize,
    pub sessions: usize,
    pub email_tokens: usize,
    pub invite_links: usize,
}

/// What one whole retention pass removed ([`run_pass`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    pub pruned: Pruned,
    /// Messages past their chat's `retention_days`, deleted for everyone.
    pub expired_messages: usize,
    /// Uploads never attached, removed from the store.
    pub unattached_uploads: usize,
    /// Notifications older than 90 days.
    pub notifications: usize,
}

/// One retention pass: [`prune`], then messages past their chat's
/// retention, unattached uploads and old notifications. The worker runs
/// it every `RETENTION_INTERVAL_SECS`, `parley-admin retention` at once;
/// several at a time are safe (deleting is idempotent).
///
/// Errors: the database or the store fails (what was done stays done).
pub async fn run_pass(ctx: &AppContext) -> anyhow::Result<Pass> {
    let mut conn = ctx.db.get().await?;
    let pruned = prune(&mut conn, ctx.settings.retention.chat_events_days).await?;
    drop(conn);
    Ok(Pass {
        pruned,
        unattached_uploads: crate::domain::media::prune_unattached(ctx).await?,
        notifications: crate::domain::notifications::prune(ctx, 90).await?,
        expired_messages: crate::domain::expiry::expire_messages(ctx).await?,
    })
}

/// Events deleted per statement, so that one pass never holds long locks.
const BATCH: i64 = 10_000;

/// Deletes chat events older than `event_days` (clients further behind get
/// `resync_required`), sessions that expired or were revoked over a week
/// ago, email tokens past their expiry, and invite links that expired or
/// were revoked over a week ago (a week in which their owners still see
/// them listed as such).
pub async fn prune(conn: &mut AsyncPgConnection, event_days: i64) -> QueryResult<Pruned> {
    let mut pruned = Pruned::default();
    let cutoff = Utc::now() - Duration::days(event_days);
    loop {
        let batch = chat_events::table
            .filter(chat_events::created_at.lt(cutoff))
            .select((chat_events::chat_id, chat_events::seq))
            .limit(BATCH)
            .load::<(i64, i64)>(conn)
            .await?;
        if batch.is_empty() {
            break;
        }
        for chunk in batch.chunks(1000) {
            let mut delete = diesel::delete(chat_events::table).into_boxed();
            for (chat_id, seq) in chunk {
                delete = delete.or_filter(
                    chat_events::chat_id
                        .eq(*chat_id)
                        .and(chat_events::seq.eq(*seq)),
                );
            }
            pruned.chat_events += delete.execute(conn).await?;
        }
    }
    let week_ago = Utc::now() - Duration::days(7);
    pruned.sessions = diesel::delete(
        sessions::table.filter(
            sessions::expires_at
                .lt(week_ago)
                .or(sessions::revoked_at.lt(week_ago)),
        ),
    )
    .execute(conn)
    .await?;
    pruned.email_tokens =
        diesel::delete(email_tokens::table.filter(email_tokens::expires_at.lt(Utc::now())))
            .execute(conn)
            .await?;
    pruned.invite_links = diesel::delete(
        invite_links::table.filter(
            invite_links::expires_at
                .lt(week_ago)
                .or(invite_links::revoked_at.lt(week_ago)),
        ),
    )
    .execute(conn)
    .await?;
    Ok(pruned)
}
