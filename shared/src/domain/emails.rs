//! Emails (ARCHITECTURE §4): what the `send_email` job sends and how a
//! request asks for one. The transport is [`crate::infra::mail`]; the queue
//! and the outbox are [`crate::infra::jobs`].

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::AsyncPgConnection;
use diesel_async::RunQueryDsl;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::domain::context::AppContext;
use crate::domain::models::User;
use crate::infra::jobs::{EmailKind, SendEmail};
use crate::infra::schema::{email_deliveries, email_tokens};

/// Runs a [`SendEmail`] job: reloads the user, skips a job already done,
/// renders and sends, then records the delivery.
///
/// Errors: the database or the mail server failed (the job is retried).
pub async fn perform_send_email(ctx: &AppContext, job: &SendEmail) -> anyhow::Result<()> {
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
    let message = match job.kind {
        EmailKind::Welcome => {
            let token =
                create_email_token(&mut conn, user.id, "verify_email", Duration::hours(48)).await?;
            welcome_message(&ctx.settings, &user, &token)?
        }
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

fn welcome_message(settings: &Settings, user: &User, token: &str) -> anyhow::Result<Message> {
    let link = format!(
        "{}/verify-email?token={token}",
        settings.public_url.trim_end_matches('/')
    );
    let text = format!(
        "Welcome to Parley, {name}!\n\n\
         Confirm your email address by opening this link:\n{link}\n\n\
         Or send this token to POST /api/v1/auth/verify-email: {token}\n\n\
         The link is valid for 48 hours. If you did not sign up, ignore this email.\n",
        name = user.name
    );
    let html = format!(
        "<p>Welcome to Parley, {name}!</p>\
         <p><a href=\"{link}\">Confirm your email address</a></p>\
         <p>Or send this token to <code>POST /api/v1/auth/verify-email</code>: <code>{token}</code></p>\
         <p>The link is valid for 48 hours. If you did not sign up, ignore this email.</p>",
        name = html_escape(&user.name)
    );
    let to = Mailbox::new(Some(user.name.clone()), user.email.parse()?);
    Ok(Message::builder()
        .from(settings.mail_from.parse()?)
        .to(to)
        .subject("Welcome to Parley: confirm your email")
        .multipart(MultiPart::alternative_plain_html(text, html))?)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Queues `job` after the caller's transaction committed. A failure to queue
/// is logged, not returned: the user's request already succeeded. Without a
/// queue (no Redis) the email is sent from this process in the background.
pub async fn enqueue_email_or_log(ctx: &AppContext, job: SendEmail) {
    match &ctx.jobs {
        Some(queue) => {
            if let Err(err) = queue.push_send_email(job.clone()).await {
                tracing::error!(job.id = %job.job_id, error = %err, "could not queue email job");
            }
        }
        None => {
            let ctx = ctx.clone();
            tokio::spawn(async move {
                if let Err(err) = perform_send_email(&ctx, &job).await {
                    tracing::error!(job.id = %job.job_id, error = %err, "inline email failed");
                }
            });
        }
    }
}

/// SHA-256 of a token, hex: what `email_tokens.token_hash` stores.
pub fn hash_token(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// Creates a one-time email token for `user_id` valid for `ttl`, stores its
/// hash and returns the token itself (to put in the email).
pub async fn create_email_token(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    kind: &str,
    ttl: Duration,
) -> diesel::QueryResult<String> {
    use diesel::ExpressionMethods;
    let token: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(43)
        .map(char::from)
        .collect();
    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::user_id.eq(user_id),
            email_tokens::kind.eq(kind),
            email_tokens::token_hash.eq(hash_token(&token)),
            email_tokens::expires_at.eq(Utc::now() + ttl),
        ))
        .execute(conn)
        .await?;
    Ok(token)
}
