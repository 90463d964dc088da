//! Email: SMTP through lettre when `SMTP_URL` is set, otherwise `.eml` files
//! under `<data_dir>/mail` (lettre's file transport). Bodies are plain text
//! and HTML.

use chrono::Duration;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Settings;
use crate::context::AppContext;
use crate::jobs::{EmailKind, SendEmail};
use crate::models::User;
use crate::schema::email_deliveries;

/// How emails leave this process. Cheap to clone.
#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

impl Mailer {
    /// SMTP from `SMTP_URL` (e.g. `smtp://127.0.0.1:1025`, `smtps://user:pw@host`),
    /// else files in [`Settings::mail_dir`] (created if missing).
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        match &settings.smtp_url {
            Some(url) => Ok(Mailer::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build(),
            )),
            None => {
                let dir = settings.mail_dir();
                std::fs::create_dir_all(&dir)?;
                Ok(Mailer::File(AsyncFileTransport::<Tokio1Executor>::new(dir)))
            }
        }
    }

    /// Sends one message.
    pub async fn send(&self, message: Message) -> anyhow::Result<()> {
        match self {
            Mailer::Smtp(transport) => {
                transport.send(message).await?;
            }
            Mailer::File(transport) => {
                transport.send(message).await?;
            }
        }
        Ok(())
    }
}

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
            let token = crate::auth::create_email_token(
                &mut conn,
                user.id,
                "verify_email",
                Duration::hours(48),
            )
            .await?;
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
