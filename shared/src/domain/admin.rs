//! Operators' actions (`parley-admin`, issue 12): on any account, with no
//! caller and so no permission check. Whoever runs them holds the
//! database's and Redis's settings; the HTTP API never calls them.
//! Each is the same operation a user's own request does (validation,
//! transaction, events), minus the token or link that proves it is theirs.

use chrono::{DateTime, Utc};
use diesel::OptionalExtension;

use crate::domain::accounts::{
    self, RegisterRequest, SessionRead, announce_revoked, hash_password,
};
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::models::{Session, User};
use crate::domain::validate;

/// An account as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub username: String,
    pub name: String,
    pub email_verified: bool,
    pub deactivated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<User> for Account {
    fn from(user: User) -> Self {
        Account {
            id: user.id,
            email: user.email,
            username: user.username,
            name: user.name,
            email_verified: user.email_verified,
            deactivated_at: user.deactivated_at,
            created_at: user.created_at,
        }
    }
}

/// The account named by `who`: its id, its email or its username.
///
/// Errors: 404 `user_not_found`.
pub async fn find_account(ctx: &AppContext, who: &str) -> AppResult<Account> {
    let mut conn = ctx.db.get().await?;
    let who = who.trim();
    let user = match who.parse::<i64>() {
        Ok(id) => User::find(&mut conn, id).await.optional()?,
        Err(_) if who.contains('@') => User::find_by_email(&mut conn, &who.to_lowercase()).await?,
        Err(_) => User::find_by_username(&mut conn, &who.to_lowercase()).await?,
    };
    user.map(Account::from)
        .ok_or_else(|| AppError::not_found("user_not_found", format!("No account {who:?}.")))
}

/// Creates an account as registration does (the same validation and
/// welcome email), its email already verified when `verified`.
///
/// Errors: 422 naming the invalid field; 409 `email_taken` /
/// `username_taken`.
pub async fn create_account(
    ctx: &AppContext,
    req: RegisterRequest,
    verified: bool,
) -> AppResult<Account> {
    let user = accounts::register(ctx, req).await?;
    if verified {
        verify_email(ctx, user.id).await?;
    }
    let mut conn = ctx.db.get().await?;
    Ok(User::find(&mut conn, user.id).await?.into())
}

/// Marks the account's email verified (as its verification link does).
///
/// Errors: database failures only.
pub async fn verify_email(ctx: &AppContext, user_id: i64) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    User::mark_email_verified(&mut conn, user_id).await?;
    tracing::info!(user.id = user_id, "email verified by an operator");
    Ok(())
}

/// Sets a new password (8–128 characters, as a reset link does) and
/// revokes every session of the account: its tokens stop working and its
/// sockets close with 4001. Returns how many sessions were revoked.
///
/// Errors: 422 `password`.
pub async fn set_password(ctx: &AppContext, user_id: i64, password: &str) -> AppResult<usize> {
    validate::password("password", password)?;
    let password_hash = hash_password(password.to_owned()).await?;
    let mut conn = ctx.db.get().await?;
    let revoked = crate::transaction!(conn, async |conn| {
        User::set_password_hash(conn, user_id, &password_hash).await?;
        Ok(Session::revoke_all_of_user(conn, user_id).await?)
    })?;
    tracing::info!(
        user.id = user_id,
        sessions = revoked.len(),
        "password set by an operator"
    );
    announce_revoked(ctx, user_id, &revoked, "password_reset").await;
    Ok(revoked.len())
}

/// Deactivates the account: it can no longer log in (403
/// `account_deactivated`) and every session is revoked, so its tokens
/// stop working and its sockets close with 4001. Its chats and messages
/// stay. Returns how many sessions were revoked.
///
/// Errors: database failures only.
pub async fn deactivate(ctx: &AppContext, user_id: i64) -> AppResult<usize> {
    let mut conn = ctx.db.get().await?;
    let revoked = crate::transaction!(conn, async |conn| {
        User::set_deactivated(conn, user_id, true).await?;
        Ok(Session::revoke_all_of_user(conn, user_id).await?)
    })?;
    tracing::info!(
        user.id = user_id,
        sessions = revoked.len(),
        "account deactivated by an operator"
    );
    announce_revoked(ctx, user_id, &revoked, "account_deactivated").await;
    Ok(revoked.len())
}

/// Lets a deactivated account log in again.
///
/// Errors: database failures only.
pub async fn reactivate(ctx: &AppContext, user_id: i64) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    User::set_deactivated(&mut conn, user_id, false).await?;
    tracing::info!(user.id = user_id, "account reactivated by an operator");
    Ok(())
}

/// The account's active sessions, the most recently used first (none is
/// `current`).
///
/// Errors: database failures only.
pub async fn sessions(ctx: &AppContext, user_id: i64) -> AppResult<Vec<SessionRead>> {
    let mut conn = ctx.db.get().await?;
    let mut sessions: Vec<SessionRead> = Session::active_of_user(&mut conn, user_id)
        .await?
        .into_iter()
        .map(|s| SessionRead::new(s, None))
        .collect();
    sessions.sort_by_key(|s| std::cmp::Reverse(s.last_used_at));
    Ok(sessions)
}
