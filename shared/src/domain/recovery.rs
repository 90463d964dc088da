//! Account recovery by email (seed 004 §5): a new verification link, and a
//! password reset. The requests answer the same whether or not an account
//! has the address, so they cannot be used to find accounts; the email
//! goes through the outbox and the worker, like the welcome email. Reset
//! tokens are random, stored hashed, single use and valid for 1 hour
//! ([`crate::domain::jobs::send_email`]); a reset signs the user out
//! everywhere.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::accounts::{announce_revoked, hash_password};
use crate::domain::context::AppContext;
use crate::domain::emails::{consume_email_token, retire_email_tokens};
use crate::domain::error::{AppError, AppResult};
use crate::domain::jobs::{
    self,
    send_email::{EmailKind, SendEmail},
};
use crate::domain::models::{Session, User};
use crate::domain::validate;

/// `{ "token", "new_password" }` for `POST /auth/reset-password`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ResetPasswordRequest {
    pub token: String,
    pub new_password: String,
}

/// Queues one email of `kind` to `user_id`: staged in the outbox when
/// there is a queue, else sent by this process.
async fn queue_email(
    ctx: &AppContext,
    conn: &mut AsyncPgConnection,
    user_id: i64,
    kind: EmailKind,
) -> AppResult<()> {
    let job = SendEmail {
        job_id: Uuid::new_v4(),
        user_id,
        kind,
    };
    if ctx.jobs.is_some() {
        jobs::stage(conn, &job).await?;
    } else {
        jobs::run_inline(ctx, job);
    }
    Ok(())
}

/// `POST /auth/resend-verification {email}`: a new verification link to
/// the address, when it belongs to an account that is not verified yet.
///
/// Errors: 422 `email` for a malformed address (nothing else tells).
pub async fn resend_verification(ctx: &AppContext, email: &str) -> AppResult<()> {
    let email = validate::email(email)?;
    let mut conn = ctx.db.get().await?;
    if let Some(user) = User::find_by_email(&mut conn, &email).await?
        && !user.email_verified
    {
        queue_email(ctx, &mut conn, user.id, EmailKind::VerifyEmail).await?;
        tracing::info!(user.id = user.id, "verification email queued");
    }
    Ok(())
}

/// `POST /auth/request-password-reset {email}`: a reset link to the
/// address, when it belongs to an account.
///
/// Errors: 422 `email` for a malformed address (nothing else tells).
pub async fn request_password_reset(ctx: &AppContext, email: &str) -> AppResult<()> {
    let email = validate::email(email)?;
    let mut conn = ctx.db.get().await?;
    if let Some(user) = User::find_by_email(&mut conn, &email).await? {
        queue_email(ctx, &mut conn, user.id, EmailKind::PasswordReset).await?;
        tracing::info!(user.id = user.id, "password reset email queued");
    }
    Ok(())
}

/// `POST /auth/reset-password`: uses a reset token once to set a new
/// password (8–128 characters), retires the user's other reset links and
/// revokes every session (their sockets close with 4001).
///
/// Errors: 422 `new_password`; 400 `invalid_token` for an unknown, used or
/// expired token.
pub async fn reset_password(ctx: &AppContext, req: &ResetPasswordRequest) -> AppResult<()> {
    validate::password("new_password", &req.new_password)?;
    let password_hash = hash_password(req.new_password.clone()).await?;
    let mut conn = ctx.db.get().await?;
    let (user_id, revoked) = conn
        .transaction::<_, AppError, _>(async |conn| {
            let user_id = consume_email_token(conn, &req.token, "reset_password")
                .await?
                .ok_or_else(|| {
                    AppError::bad_request(
                        "invalid_token",
                        "The reset link is invalid or has expired.",
                    )
                })?;
            User::set_password_hash(conn, user_id, &password_hash).await?;
            retire_email_tokens(conn, user_id, "reset_password").await?;
            let revoked = Session::revoke_all_of_user(conn, user_id).await?;
            Ok((user_id, revoked))
        })
        .await?;
    tracing::info!(
        user.id = user_id,
        sessions = revoked.len(),
        "password reset"
    );
    announce_revoked(ctx, user_id, &revoked, "password_reset").await;
    Ok(())
}
