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

pub(crate) fn welcome_message(
    settings: &Settings,
    user: &User,
    token: &str,
) -> anyhow::Result<Message> {
    let link = format!(
        "{}/verify-email?token={token}",
        settings.http.public_url.trim_end_matches('/')
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
        .from(settings.mail.from.parse()?)
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
