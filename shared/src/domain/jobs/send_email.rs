//! `send_email`: one email to one user (welcome with the verification
//! link, a new verification link, a password reset link). Idempotent by `job_id`: a job that runs twice sends once
//! (`email_deliveries`).

use chrono::Duration;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::context::AppContext;
use crate::domain::emails;
use crate::domain::jobs::Job;
use crate::domain::models::User;
use crate::infra::schema::email_deliveries;

/// Which email to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// Sent on register: welcome, with the email verification link.
    Welcome,
    /// A new verification link (`POST /auth/resend-verification`).
    VerifyEmail,
    /// A password reset link (`POST /auth/request-password-reset`).
    PasswordReset,
}

impl EmailKind {
    /// The name stored in `email_deliveries.kind`.
    pub fn as_str(&self) -> &'static str {
        match self {
            EmailKind::Welcome => "welcome",
            EmailKind::VerifyEmail => "verify_email",
            EmailKind::PasswordReset => "password_reset",
        }
    }
}

/// Send one email of `kind` to `user_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendEmail {
    pub job_id: Uuid,
    pub user_id: i64,
    pub kind: EmailKind,
}

impl Job for SendEmail {
    const NAME: &'static str = "send_email";

    fn idempotency_key(&self) -> Uuid {
        self.job_id
    }

    async fn run(&self, ctx: &AppContext) -> anyhow::Result<()> {
        perform(ctx, self).await
    }
}

/// Reloads the user, skips a job already done,
/// renders and sends, then records the delivery.
///
/// Errors: the database or the mail server failed (the job is retried).
async fn perform(ctx: &AppContext, job: &SendEmail) -> anyhow::Result<()> {
    let mut conn = ctx.db.get().await?;
    let done: bool = diesel::select(diesel::dsl::exists(
        email_deliveries::table.filter(email_deliveries::job_id.eq(job.job_id)),
    ))
    .get_result(&mut conn)
    .await?;
    if done {
        tracing::info!(job.id = %job.job_id, "email already sent; skipping");
        return Ok(());
    }
    let user = match User::find(&mut conn, job.user_id).await {
        Ok(user) => user,
        Err(diesel::result::Error::NotFound) => {
            tracing::warn!(job.id = %job.job_id, user.id = job.user_id, "user is gone; email dropped");
            return Ok(());
        }
        Err(err) => return Err(err.into()),
    };
    let (token_kind, ttl) = match job.kind {
        EmailKind::Welcome | EmailKind::VerifyEmail => ("verify_email", Duration::hours(48)),
        EmailKind::PasswordReset => ("reset_password", Duration::hours(1)),
    };
    let token = emails::create_email_token(&mut conn, user.id, token_kind, ttl).await?;
    let message = match job.kind {
        EmailKind::Welcome => emails::welcome_message(&ctx.settings, &user, &token)?,
        EmailKind::VerifyEmail => emails::verify_message(&ctx.settings, &user, &token)?,
        EmailKind::PasswordReset => emails::reset_message(&ctx.settings, &user, &token)?,
    };
    ctx.mailer.send(message).await?;
    diesel::insert_into(email_deliveries::table)
        .values((
            email_deliveries::job_id.eq(job.job_id),
            email_deliveries::user_id.eq(user.id),
            email_deliveries::kind.eq(job.kind.as_str()),
        ))
        .on_conflict_do_nothing()
        .execute(&mut conn)
        .await?;
    tracing::info!(job.id = %job.job_id, user.id = user.id, kind = job.kind.as_str(), "email sent");
    Ok(())
}
