//! Emails (ARCHITECTURE §4): what they say, and the one-time tokens they
//! carry. The `send_email` job ([`crate::domain::jobs::send_email`]) sends
//! them through [`crate::infra::mail`].

use chrono::{Duration, Utc};
use diesel_async::AsyncPgConnection;
use diesel_async::RunQueryDsl;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::domain::models::User;
use crate::infra::schema::email_tokens;

/// What one email says: its subject, greeting, the action its link does,
/// the endpoint its token can be sent to, and a closing line.
struct Letter<'a> {
    subject: &'a str,
    greeting: String,
    /// What the link does ("Confirm your email address").
    action: &'a str,
    /// The path of the web page the link opens (`/verify-email`).
    page: &'a str,
    /// The endpoint that takes the token.
    endpoint: &'a str,
    closing: &'a str,
}

fn letter(settings: &Settings, user: &User, token: &str, l: Letter<'_>) -> anyhow::Result<Message> {
    let link = format!(
        "{}{}?token={token}",
        settings.http.public_url.trim_end_matches('/'),
        l.page
    );
    let text = format!(
        "{greeting}\n\n{action} by opening this link:\n{link}\n\n\
         Or send this token to POST {endpoint}: {token}\n\n{closing}\n",
        greeting = l.greeting,
        action = l.action,
        endpoint = l.endpoint,
        closing = l.closing,
    );
    let html = format!(
        "<p>{greeting}</p><p><a href=\"{link}\">{action}</a></p>\
         <p>Or send this token to <code>POST {endpoint}</code>: <code>{token}</code></p>\
         <p>{closing}</p>",
        greeting = html_escape(&l.greeting),
        action = l.action,
        endpoint = l.endpoint,
        closing = l.closing,
    );
    let to = Mailbox::new(Some(user.name.clone()), user.email.parse()?);
    Ok(Message::builder()
        .from(settings.mail.from.parse()?)
        .to(to)
        .subject(l.subject)
        .multipart(MultiPart::alternative_plain_html(text, html))?)
}

/// The welcome email, with the email verification link (valid 48 hours).
pub(crate) fn welcome_message(
    settings: &Settings,
    user: &User,
    token: &str,
) -> anyhow::Result<Message> {
    let l = Letter {
        subject: "Welcome to Parley: confirm your email",
        greeting: format!("Welcome to Parley, {}!", user.name),
        action: "Confirm your email address",
        page: "/verify-email",
        endpoint: "/api/v1/auth/verify-email",
        closing: "The link is valid for 48 hours. If you did not sign up, ignore this email.",
    };
    letter(settings, user, token, l)
}

/// A new email verification link (`POST /auth/resend-verification`).
pub(crate) fn verify_message(
    settings: &Settings,
    user: &User,
    token: &str,
) -> anyhow::Result<Message> {
    let l = Letter {
        subject: "Parley: confirm your email",
        greeting: format!("Hello {},", user.name),
        action: "Confirm your email address",
        page: "/verify-email",
        endpoint: "/api/v1/auth/verify-email",
        closing: "The link is valid for 48 hours. If you did not ask for it, ignore this email.",
    };
    letter(settings, user, token, l)
}

/// A password reset link (`POST /auth/request-password-reset`).
pub(crate) fn reset_message(
    settings: &Settings,
    user: &User,
    token: &str,
) -> anyhow::Result<Message> {
    let l = Letter {
        subject: "Parley: reset your password",
        greeting: format!("Hello {},", user.name),
        action: "Choose a new password",
        page: "/reset-password",
        endpoint: "/api/v1/auth/reset-password",
        closing: "The link is valid for 1 hour and works once. Resetting signs you out \
                  everywhere. If you did not ask for it, ignore this email: your password \
                  stays as it is.",
    };
    letter(settings, user, token, l)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `len` random letters and digits: a one-time token to hand out once
/// and store hashed ([`hash_token`]).
pub fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// SHA-256 of a token, hex: what `email_tokens.token_hash` and
/// `invite_links.token_hash` store.
pub fn hash_token(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// Uses an unused, unexpired token of `kind` once: marks it used and
/// returns its user, or `None` for an unknown, used or expired token.
pub async fn consume_email_token(
    conn: &mut AsyncPgConnection,
    token: &str,
    kind: &str,
) -> diesel::QueryResult<Option<i64>> {
    use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
    diesel::update(
        email_tokens::table
            .filter(email_tokens::token_hash.eq(hash_token(token.trim())))
            .filter(email_tokens::kind.eq(kind))
            .filter(email_tokens::used_at.is_null())
            .filter(email_tokens::expires_at.gt(diesel::dsl::now)),
    )
    .set(email_tokens::used_at.eq(diesel::dsl::now))
    .returning(email_tokens::user_id)
    .get_result(conn)
    .await
    .optional()
}

/// Marks every unused token of `kind` of `user_id` used (a password reset
/// ends the other reset links).
pub async fn retire_email_tokens(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    kind: &str,
) -> diesel::QueryResult<()> {
    use diesel::{ExpressionMethods, QueryDsl};
    diesel::update(
        email_tokens::table
            .filter(email_tokens::user_id.eq(user_id))
            .filter(email_tokens::kind.eq(kind))
            .filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::used_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(())
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
    let token = random_token(43);
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
