use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::infra::schema::sessions;

/// A row of `sessions`: one refresh-token family (one login on one device).
/// `jti` is the session's public id (the `sid` claim of its tokens);
/// `refresh_jti` is the id of the only refresh token that may be used next.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct Session {
    pub id: i64,
    pub jti: Uuid,
    pub user_id: i64,
    pub refresh_jti: Uuid,
    pub device: Option<String>,
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A session about to be inserted.
#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub jti: Uuid,
    pub user_id: i64,
    pub refresh_jti: Uuid,
    pub device: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

impl Session {
    /// Inserts a session.
    pub async fn insert(conn: &mut AsyncPgConnection, new: NewSession<'_>) -> QueryResult<Session> {
        diesel::insert_into(sessions::table)
            .values(new)
            .returning(Session::as_returning())
            .get_result(conn)
            .await
    }

    /// The session `jti`, locked for update (refresh rotation).
    pub async fn find_for_update(
        conn: &mut AsyncPgConnection,
        jti: Uuid,
    ) -> QueryResult<Option<Session>> {
        sessions::table
            .filter(sessions::jti.eq(jti))
            .select(Session::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()
    }

    /// Which of these `(jti, user_id)` sessions exist, are not revoked and
    /// have not expired: what every authenticated request checks, for a
    /// batch of requests in one query
    /// ([`crate::domain::session_checks`]).
    pub async fn active_of(
        conn: &mut AsyncPgConnection,
        keys: &[(Uuid, i64)],
    ) -> QueryResult<std::collections::HashSet<(Uuid, i64)>> {
        let jtis: Vec<Uuid> = keys.iter().map(|(jti, _)| *jti).collect();
        let found: Vec<(Uuid, i64)> = sessions::table
            .filter(sessions::jti.eq_any(jtis))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(diesel::dsl::now))
            .select((sessions::jti, sessions::user_id))
            .load(conn)
            .await?;
        Ok(found.into_iter().collect())
    }

    /// Points the session at a new refresh token.
    pub async fn rotate(
        conn: &mut AsyncPgConnection,
        id: i64,
        refresh_jti: Uuid,
    ) -> QueryResult<()> {
        diesel::update(sessions::table.find(id))
            .set((
                sessions::refresh_jti.eq(refresh_jti),
                sessions::last_used_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        Ok(())
    }

    /// The user's sessions that are neither revoked nor expired, newest first.
    pub async fn active_of_user(
        conn: &mut AsyncPgConnection,
        user_id: i64,
    ) -> QueryResult<Vec<Session>> {
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(diesel::dsl::now))
            .order(sessions::id.desc())
            .select(Session::as_select())
            .load(conn)
            .await
    }

    /// Revokes the active sessions of `user_id` among `jtis`; returns the
    /// ones it revoked.
    pub async fn revoke_many(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        jtis: &[Uuid],
    ) -> QueryResult<Vec<Uuid>> {
        diesel::update(
            sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::jti.eq_any(jtis))
                .filter(sessions::revoked_at.is_null()),
        )
        .set(sessions::revoked_at.eq(diesel::dsl::now))
        .returning(sessions::jti)
        .get_results(conn)
        .await
    }

    /// Revokes every active session of `user_id`; returns their ids.
    pub async fn revoke_all_of_user(
        conn: &mut AsyncPgConnection,
        user_id: i64,
    ) -> QueryResult<Vec<Uuid>> {
        let active: Vec<Uuid> = Session::active_of_user(conn, user_id)
            .await?
            .into_iter()
            .map(|s| s.jti)
            .collect();
        Session::revoke_many(conn, user_id, &active).await
    }

    /// Revokes the session (idempotent).
    pub async fn revoke(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<()> {
        diesel::update(
            sessions::table
                .find(id)
                .filter(sessions::revoked_at.is_null()),
        )
        .set(sessions::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
        Ok(())
    }
}
