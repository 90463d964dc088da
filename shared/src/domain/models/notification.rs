//! Rows of `notifications` and `devices` (seed 004 §10), and the
//! fan-out's claim on messages not yet handled (`notification_queue`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::infra::schema::{devices, notification_queue, notifications};

/// A row of `notifications` (also what a `notification` event carries).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = notifications, check_for_backend(diesel::pg::Pg))]
pub struct Notification {
    pub id: i64,
    pub user_id: i64,
    pub chat_id: i64,
    pub message_id: i64,
    /// `message_created` or `mention`.
    pub event_type: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// A notification about to be inserted.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = notifications)]
pub struct NewNotification {
    pub user_id: i64,
    pub chat_id: i64,
    pub message_id: i64,
    pub event_type: String,
    pub payload: serde_json::Value,
}

/// A row of `devices`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = devices, check_for_backend(diesel::pg::Pg))]
pub struct Device {
    pub id: i64,
    pub user_id: i64,
    /// `web`, `fcm` or `apns`.
    pub platform: String,
    pub token: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Notification {
    /// Inserts the notifications not there yet (one per user per
    /// message) and returns those it inserted.
    pub async fn insert_new(
        conn: &mut AsyncPgConnection,
        rows: &[NewNotification],
    ) -> QueryResult<Vec<Notification>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        diesel::insert_into(notifications::table)
            .values(rows.to_vec())
            .on_conflict((notifications::user_id, notifications::message_id))
            .do_nothing()
            .returning(Notification::as_returning())
            .get_results(conn)
            .await
    }

    /// A page of `user_id`'s notifications, newest first, before
    /// `before_id` when given.
    pub async fn page(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        before_id: Option<i64>,
        limit: i64,
    ) -> QueryResult<Vec<Notification>> {
        let mut query = notifications::table
            .filter(notifications::user_id.eq(user_id))
            .into_boxed();
        if let Some(before) = before_id {
            query = query.filter(notifications::id.lt(before));
        }
        query
            .order(notifications::id.desc())
            .limit(limit)
            .select(Notification::as_select())
            .load(conn)
            .await
    }

    /// Deletes notifications older than `before`; returns how many.
    pub async fn prune(conn: &mut AsyncPgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
        diesel::delete(notifications::table.filter(notifications::created_at.lt(before)))
            .execute(conn)
            .await
    }

    /// Takes up to `limit` messages the fan-out has not handled, oldest
    /// first, locked until commit; those another worker holds are skipped.
    pub async fn claim_messages(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<i64>> {
        notification_queue::table
            .order(notification_queue::message_id.asc())
            .limit(limit)
            .select(notification_queue::message_id)
            .for_update()
            .skip_locked()
            .load(conn)
            .await
    }

    /// Marks messages handled by the fan-out: out of the queue.
    pub async fn mark_handled(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<()> {
        diesel::delete(
            notification_queue::table.filter(notification_queue::message_id.eq_any(ids)),
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

impl Device {
    /// Registers a device for `user_id`, or moves an existing token of the
    /// platform to them (a browser that signed in as someone else).
    pub async fn upsert(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        platform: &str,
        token: &str,
    ) -> QueryResult<Device> {
        diesel::insert_into(devices::table)
            .values((
                devices::user_id.eq(user_id),
                devices::platform.eq(platform),
                devices::token.eq(token),
            ))
            .on_conflict((devices::platform, devices::token))
            .do_update()
            .set((
                devices::user_id.eq(user_id),
                devices::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Device::as_returning())
            .get_result(conn)
            .await
    }

    /// `user_id`'s devices.
    pub async fn of_user(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<Vec<Device>> {
        devices::table
            .filter(devices::user_id.eq(user_id))
            .order(devices::id.asc())
            .select(Device::as_select())
            .load(conn)
            .await
    }

    /// The devices of any of `user_ids`.
    pub async fn of_users(
        conn: &mut AsyncPgConnection,
        user_ids: &[i64],
    ) -> QueryResult<Vec<Device>> {
        devices::table
            .filter(devices::user_id.eq_any(user_ids))
            .select(Device::as_select())
            .load(conn)
            .await
    }

    /// Removes `user_id`'s device `id`; returns whether there was one.
    pub async fn delete(conn: &mut AsyncPgConnection, user_id: i64, id: i64) -> QueryResult<bool> {
        let n = diesel::delete(
            devices::table
                .filter(devices::id.eq(id))
                .filter(devices::user_id.eq(user_id)),
        )
        .execute(conn)
        .await?;
        Ok(n > 0)
    }
}
