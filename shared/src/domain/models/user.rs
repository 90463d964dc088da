use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::kinds::Privacy;
use crate::domain::search_tokens::name_tokens;
use crate::infra::schema::users;

/// A row of `users`.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub username: String,
    pub password_hash: String,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    pub email_verified: bool,
    pub allow_private_messages: bool,
    pub privacy_last_seen: Privacy,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Who may see `email`: `everyone`, `contacts` or `nobody` (default).
    pub privacy_email: Privacy,
    /// Who may see `avatar_url` (default `everyone`; seed 004 §3.7).
    pub privacy_avatar: Privacy,
    /// Who may add this user to groups and channels (default `everyone`).
    pub privacy_group_invites: Privacy,
    /// When an operator deactivated the account (it cannot log in).
    pub deactivated_at: Option<DateTime<Utc>>,
}

/// A user about to be inserted; `email` is already normalised to lower case.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub username: &'a str,
    pub password_hash: &'a str,
}

impl User {
    /// The user with `id`; `NotFound` if there is none.
    pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<User> {
        users::table
            .find(id)
            .select(User::as_select())
            .first(conn)
            .await
    }

    /// The user whose (normalised, lower-case) email is `email`.
    pub async fn find_by_email(
        conn: &mut AsyncPgConnection,
        email: &str,
    ) -> QueryResult<Option<User>> {
        users::table
            .filter(users::email.eq(email))
            .select(User::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// The user whose (lower-case) username is `username`.
    pub async fn find_by_username(
        conn: &mut AsyncPgConnection,
        username: &str,
    ) -> QueryResult<Option<User>> {
        users::table
            .filter(users::username.eq(username))
            .select(User::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// The users among `ids` that exist, as their ids.
    pub async fn existing_ids(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<i64>> {
        users::table
            .filter(users::id.eq_any(ids))
            .select(users::id)
            .load(conn)
            .await
    }

    /// Inserts a user (with its search tokens). Errors: a unique
    /// violation on email or username.
    pub async fn insert(conn: &mut AsyncPgConnection, new: NewUser<'_>) -> QueryResult<User> {
        let tokens = name_tokens(&[Some(new.name), Some(new.username)]);
        diesel::insert_into(users::table)
            .values((new, users::search_tokens.eq(tokens)))
            .returning(User::as_returning())
            .get_result(conn)
            .await
    }

    /// Deactivates the account now (`true`), or activates it again.
    pub async fn set_deactivated(
        conn: &mut AsyncPgConnection,
        id: i64,
        deactivated: bool,
    ) -> QueryResult<()> {
        let at = deactivated.then(Utc::now);
        diesel::update(users::table.find(id))
            .set((
                users::deactivated_at.eq(at),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Replaces the user's password hash.
    pub async fn set_password_hash(
        conn: &mut AsyncPgConnection,
        id: i64,
        password_hash: &str,
    ) -> QueryResult<()> {
        diesel::update(users::table.find(id))
            .set((
                users::password_hash.eq(password_hash),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Marks the user's email verified.
    pub async fn mark_email_verified(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<()> {
        diesel::update(users::table.find(id))
            .set((
                users::email_verified.eq(true),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        Ok(())
    }
}
