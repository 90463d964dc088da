//! Rows of `bulk_jobs`: a bulk send handed to the worker, with its
//! progress and its lease (see [`crate::domain::bulk`]).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::infra::schema::bulk_jobs;

/// A row of `bulk_jobs`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = bulk_jobs, check_for_backend(diesel::pg::Pg))]
pub struct BulkJob {
    pub id: Uuid,
    pub kind: String,
    pub user_id: i64,
    pub client_message_id: String,
    /// `queued`, `running` or `done`.
    pub state: String,
    pub request: serde_json::Value,
    pub total: i32,
    /// Receivers before this index are done (sent or failed).
    pub position: i32,
    pub done: i32,
    pub failed: i32,
    pub failures: serde_json::Value,
    pub lease_owner: Option<Uuid>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A job about to be inserted.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = bulk_jobs)]
pub struct NewBulkJob<'a> {
    pub id: Uuid,
    pub kind: &'a str,
    pub user_id: i64,
    pub client_message_id: &'a str,
    pub request: serde_json::Value,
    pub total: i32,
}

/// One batch's progress, written in one statement.
#[derive(Debug, Clone)]
pub struct Progress {
    pub position: i32,
    pub done: i32,
    pub failed: i32,
    /// Failures of this batch, appended to the job's.
    pub failures: serde_json::Value,
}

impl BulkJob {
    /// The job with `id`, if any.
    pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<BulkJob>> {
        bulk_jobs::table
            .find(id)
            .select(BulkJob::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// The job `user_id` started with `client_message_id`, if any.
    pub async fn find_by_client_id(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        kind: &str,
        client_message_id: &str,
    ) -> QueryResult<Option<BulkJob>> {
        bulk_jobs::table
            .filter(bulk_jobs::user_id.eq(user_id))
            .filter(bulk_jobs::kind.eq(kind))
            .filter(bulk_jobs::client_message_id.eq(client_message_id))
            .select(BulkJob::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Inserts the job; `None` when the user already has one with this
    /// client id (a concurrent retry won).
    pub async fn insert(
        conn: &mut AsyncPgConnection,
        new: NewBulkJob<'_>,
    ) -> QueryResult<Option<BulkJob>> {
        diesel::insert_into(bulk_jobs::table)
            .values(new)
            .on_conflict_do_nothing()
            .returning(BulkJob::as_returning())
            .get_result(conn)
            .await
            .optional()
    }

    /// Takes the job for the run `owner` until `lease_secs` from now,
    /// unless it is done or another run's lease still holds; returns it.
    pub async fn claim(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        owner: Uuid,
        lease_secs: i64,
    ) -> QueryResult<Option<BulkJob>> {
        let until = Utc::now() + chrono::Duration::seconds(lease_secs);
        diesel::update(
            bulk_jobs::table
                .find(id)
                .filter(bulk_jobs::state.ne("done"))
                .filter(
                    bulk_jobs::lease_until
                        .is_null()
                        .or(bulk_jobs::lease_until.lt(diesel::dsl::now))
                        .or(bulk_jobs::lease_owner.eq(owner)),
                ),
        )
        .set((
            bulk_jobs::state.eq("running"),
            bulk_jobs::lease_owner.eq(owner),
            bulk_jobs::lease_until.eq(until),
            bulk_jobs::updated_at.eq(diesel::dsl::now),
        ))
        .returning(BulkJob::as_returning())
        .get_result(conn)
        .await
        .optional()
    }

    /// Records a batch's progress and renews the lease, if `owner` still
    /// holds the job; returns whether it did. Finishes the job when the
    /// position reaches the end.
    pub async fn advance(
        conn: &mut AsyncPgConnection,
        job: &BulkJob,
        owner: Uuid,
        progress: &Progress,
        lease_secs: i64,
    ) -> QueryResult<bool> {
        let finished = progress.position >= job.total;
        let until = Utc::now() + chrono::Duration::seconds(lease_secs);
        let failures = diesel::dsl::sql::<diesel::sql_types::Jsonb>("failures || ")
            .bind::<diesel::sql_types::Jsonb, _>(progress.failures.clone());
        let n = diesel::update(
            bulk_jobs::table
                .find(job.id)
                .filter(bulk_jobs::lease_owner.eq(owner))
                .filter(bulk_jobs::state.ne("done")),
        )
        .set((
            bulk_jobs::position.eq(progress.position),
            bulk_jobs::done.eq(bulk_jobs::done + progress.done),
            bulk_jobs::failed.eq(bulk_jobs::failed + progress.failed),
            bulk_jobs::failures.eq(failures),
            bulk_jobs::state.eq(if finished { "done" } else { "running" }),
            bulk_jobs::lease_until.eq(if finished { None } else { Some(until) }),
            bulk_jobs::finished_at.eq(if finished { Some(Utc::now()) } else { None }),
            bulk_jobs::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
        Ok(n > 0)
    }

    /// Unfinished jobs nobody holds: queued or running with their lease
    /// run out (their worker died), queued at least `stale_secs` ago.
    pub async fn stale(conn: &mut AsyncPgConnection, stale_secs: i64) -> QueryResult<Vec<Uuid>> {
        let before = Utc::now() - chrono::Duration::seconds(stale_secs);
        bulk_jobs::table
            .filter(bulk_jobs::state.ne("done"))
            .filter(
                bulk_jobs::lease_until
                    .lt(diesel::dsl::now)
                    .or(bulk_jobs::lease_until.is_null()),
            )
            .filter(bulk_jobs::updated_at.lt(before))
            .select(bulk_jobs::id)
            .limit(1000)
            .load(conn)
            .await
    }
}
