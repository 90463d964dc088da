//! Accounts and sessions (seed 004 §5, first part): register, login,
//! refresh with rotation and reuse detection, token checks, email
//! verification.
//!
//! Passwords are hashed with argon2id. Access and refresh tokens are HS256
//! JWTs that carry the session id (`sid`); every authenticated request checks
//! the session is still active, so revoking it stops its tokens at once.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{Duration, Utc};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::AsyncConnection;
use rand::Rng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::context::AppContext;
use crate::domain::emails::consume_email_token;
use crate::domain::error::{AppError, AppResult};
use crate::domain::jobs::{
    self,
    send_email::{EmailKind, SendEmail},
};
use crate::domain::live::{self, LiveEvent};
use crate::domain::models::session::NewSession;
use crate::domain::models::user::NewUser;
use crate::domain::models::{Session, User};
use crate::domain::two_factor;
use crate::domain::validate;
use crate::domain::views::{AccountView, TokenPair};
use crate::infra::bus::Topic;
use crate::infra::tokens::{Claims, TokenKeys, TokenKind};

pub use crate::domain::caller::AuthContext;

/// `RegisterRequest` (seed 004 §3.1): what [`register`] takes.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct RegisterRequest {
    pub email: String,
    pub name: String,
    pub username: String,
    pub password: String,
}

/// `LoginRequest` (seed 004 §3.1): what [`login`] takes; `otp_code` is required when 2FA is on.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub otp_code: Option<String>,
}

/// The access and refresh tokens of session `sid` (seed 004 §3.1).
///
/// Errors: 500 when signing fails.
fn token_pair(
    keys: &TokenKeys,
    user_id: i64,
    sid: Uuid,
    refresh_jti: Uuid,
) -> AppResult<TokenPair> {
    Ok(TokenPair {
        access_token: keys.sign(user_id, sid, Uuid::new_v4(), TokenKind::Access)?,
        refresh_token: keys.sign(user_id, sid, refresh_jti, TokenKind::Refresh)?,
        expires_in: keys.access_ttl_secs(),
    })
}

fn user_id_of(claims: &Claims) -> AppResult<i64> {
    claims
        .user_id()
        .ok_or_else(|| AppError::unauthorized("invalid_token", "The token is not valid."))
}

/// At most this many argon2 computations at once (one per core): each takes
/// 19 MiB, and unbounded concurrency only adds memory, not speed.
fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cores)
    })
}

/// Hashes a password with argon2id (default parameters), off the async threads.
pub async fn hash_password(password: String) -> AppResult<String> {
    let _permit = hashing_permits()
        .acquire()
        .await
        .map_err(AppError::internal)?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&rand::rng().random::<[u8; 16]>())
            .map_err(|e| AppError::internal(anyhow::anyhow!("salt: {e}")))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::internal(anyhow::anyhow!("argon2: {e}")))
    })
    .await
    .map_err(AppError::internal)?
}

/// Checks `password` against an argon2 PHC `hash`, off the async threads.
pub async fn verify_password(password: String, hash: String) -> AppResult<bool> {
    let _permit = hashing_permits()
        .acquire()
        .await
        .map_err(AppError::internal)?;
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash)
            .map_err(|e| AppError::internal(anyhow::anyhow!("stored hash: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(AppError::internal)?
}

/// A hash to check against when the email is unknown, so that a wrong email
/// and a wrong password take the same time.
async fn dummy_hash() -> AppResult<String> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash.clone());
    }
    let hash = hash_password("parley-dummy-password".to_owned()).await?;
    Ok(DUMMY.get_or_init(|| hash).clone())
}

/// `POST /auth/register`: validates, creates the user and queues the
/// welcome / verification email (after commit).
///
/// Errors: 422 naming the invalid field; 409 `email_taken` / `username_taken`.
pub async fn register(ctx: &AppContext, req: RegisterRequest) -> AppResult<User> {
    let email = validate::email(&req.email)?;
    let name = validate::text_field("name", &req.name, 1, 64)?;
    let username = validate::username(&req.username)?;
    validate::password("password", &req.password)?;
    let password_hash = hash_password(req.password).await?;
    let job_id = Uuid::new_v4();
    let mut conn = ctx.db.get().await?;
    // The welcome email is staged in the user's own transaction (the
    // outbox): it cannot be lost to a Redis outage (issue 6, item 7).
    let user = conn
        .transaction::<_, AppError, _>(async |conn| {
            let user = User::insert(
                conn,
                NewUser {
                    email: &email,
                    name: &name,
                    username: &username,
                    password_hash: &password_hash,
                },
            )
            .await
            .map_err(|err| match &err {
                DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                    if info.constraint_name() == Some("users_username_key") {
                        AppError::conflict("username_taken", "This username is taken.")
                    } else {
                        AppError::conflict("email_taken", "An account with this email exists.")
                    }
                }
                _ => AppError::from(err),
            })?;
            if ctx.jobs.is_some() {
                let job = SendEmail {
                    job_id,
                    user_id: user.id,
                    kind: EmailKind::Welcome,
                };
                jobs::stage(conn, &job).await?;
            }
            Ok(user)
        })
        .await?;
    tracing::info!(user.id = user.id, "user registered");
    if ctx.jobs.is_none() {
        // No queue and so no worker (no Redis): this process sends it.
        jobs::run_inline(
            ctx,
            SendEmail {
                job_id,
                user_id: user.id,
                kind: EmailKind::Welcome,
            },
        );
    }
    Ok(user)
}

/// `GET /auth/me`: the caller's account.
pub async fn me(ctx: &AppContext, auth: &AuthContext) -> AppResult<AccountView> {
    let mut conn = ctx.db.get().await?;
    let user = User::find(&mut conn, auth.user_id).await?;
    let twofa_enabled = two_factor::is_enabled(&mut conn, user.id).await?;
    Ok(AccountView {
        user,
        twofa_enabled,
    })
}

/// `POST /auth/login`: checks the password and opens a session.
///
/// Errors: 401 `invalid_credentials` (same answer for an unknown email);
/// 403 `account_deactivated` (by an operator, the password being right);
/// 403 `email_not_verified` when `AUTH_REQUIRE_VERIFIED_EMAIL` is on; 401
/// `otp_required` / `invalid_otp` when 2FA is on
/// ([`two_factor::check_login`]).
pub async fn login(
    ctx: &AppContext,
    req: LoginRequest,
    device: Option<&str>,
    ip: Option<&str>,
) -> AppResult<TokenPair> {
    let email = req.email.trim().to_lowercase();
    let mut conn = ctx.db.get().await?;
    let user = User::find_by_email(&mut conn, &email).await?;
    let hash = match &user {
        Some(user) => user.password_hash.clone(),
        None => dummy_hash().await?,
    };
    let password_ok = verify_password(req.password, hash).await?;
    let user = match user {
        Some(user) if password_ok => user,
        _ => {
            return Err(AppError::unauthorized(
                "invalid_credentials",
                "Incorrect email or password.",
            ));
        }
    };
    if user.deactivated_at.is_some() {
        return Err(AppError::forbidden(
            "account_deactivated",
            "This account has been deactivated.",
        ));
    }
    if ctx.settings.auth.require_verified_email && !user.email_verified {
        return Err(AppError::forbidden(
            "email_not_verified",
            "Verify your email address before logging in.",
        ));
    }
    two_factor::check_login(&mut conn, &user, req.otp_code.as_deref()).await?;
    let sid = Uuid::new_v4();
    let refresh_jti = Uuid::new_v4();
    Session::insert(
        &mut conn,
        NewSession {
            jti: sid,
            user_id: user.id,
            refresh_jti,
            device: device.map(|d| truncate(d, 200)),
            ip,
            expires_at: Utc::now() + Duration::seconds(ctx.settings.auth.refresh_token_ttl_secs),
        },
    )
    .await?;
    tracing::info!(user.id = user.id, session.id = %sid, "session opened");
    token_pair(&ctx.tokens, user.id, sid, refresh_jti)
}

fn truncate(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

enum RefreshOutcome {
    Rotated { user_id: i64, sid: Uuid, jti: Uuid },
    Reused,
    Inactive,
}

/// `POST /auth/refresh`: exchanges a refresh token for a new pair and
/// retires it. Presenting a refresh token that was already exchanged revokes
/// the whole session (theft detection, API.md).
///
/// Errors: 401 `invalid_token`, `token_expired`, `session_revoked`,
/// `refresh_token_reused`.
pub async fn refresh(ctx: &AppContext, refresh_token: &str) -> AppResult<TokenPair> {
    let claims = ctx.tokens.verify(refresh_token, TokenKind::Refresh)?;
    let user_id = user_id_of(&claims)?;
    let mut conn = ctx.db.get().await?;
    let outcome = conn
        .transaction::<_, AppError, _>(async |conn| {
            let Some(session) = Session::find_for_update(conn, claims.sid).await? else {
                return Ok(RefreshOutcome::Inactive);
            };
            if session.user_id != user_id
                || session.revoked_at.is_some()
                || session.expires_at <= Utc::now()
            {
                return Ok(RefreshOutcome::Inactive);
            }
            if session.refresh_jti != claims.jti {
                Session::revoke(conn, session.id).await?;
                return Ok(RefreshOutcome::Reused);
            }
            let jti = Uuid::new_v4();
            Session::rotate(conn, session.id, jti).await?;
            Ok(RefreshOutcome::Rotated {
                user_id,
                sid: session.jti,
                jti,
            })
        })
        .await?;
    match outcome {
        RefreshOutcome::Rotated { user_id, sid, jti } => token_pair(&ctx.tokens, user_id, sid, jti),
        RefreshOutcome::Reused => {
            announce_revoked(ctx, user_id, &[claims.sid], "refresh_token_reused").await;
            tracing::warn!(user.id = user_id, session.id = %claims.sid, "refresh token reused; session revoked");
            Err(AppError::unauthorized(
                "refresh_token_reused",
                "This refresh token was already used; the session has been revoked.",
            ))
        }
        RefreshOutcome::Inactive => Err(AppError::unauthorized(
            "session_revoked",
            "The session has ended. Log in again.",
        )),
    }
}

/// Checks an access token and that its session is still active.
///
/// Errors: 401 `invalid_token`, `token_expired`, `session_revoked`.
pub async fn authenticate(ctx: &AppContext, access_token: &str) -> AppResult<AuthContext> {
    let claims = ctx.tokens.verify(access_token, TokenKind::Access)?;
    let user_id = user_id_of(&claims)?;
    if !ctx.sessions.is_active(claims.sid, user_id).await? {
        return Err(AppError::unauthorized(
            "session_revoked",
            "The session has ended. Log in again.",
        ));
    }
    Ok(AuthContext {
        user_id,
        session_id: claims.sid,
        expires_at: claims.exp,
    })
}

/// Tells the sockets of the revoked sessions (on every replica) to close.
pub(crate) async fn announce_revoked(
    ctx: &AppContext,
    user_id: i64,
    sessions: &[Uuid],
    reason: &str,
) {
    for sid in sessions {
        let event = LiveEvent::SessionRevoked {
            session_id: sid.to_string(),
            reason: reason.to_owned(),
        };
        live::publish(&ctx.bus, Topic::User(user_id), &event).await;
    }
}

/// One session as `GET /auth/sessions` lists it (seed 004 §5).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct SessionRead {
    pub jti: Uuid,
    pub device: Option<String>,
    pub ip: Option<String>,
    pub created_at: chrono::DateTime<Utc>,
    pub last_used_at: chrono::DateTime<Utc>,
    pub expires_at: chrono::DateTime<Utc>,
    /// The session of the request that asks.
    pub current: bool,
}

/// `GET /auth/sessions`: the caller's active sessions, newest first.
pub async fn list_sessions(ctx: &AppContext, auth: &AuthContext) -> AppResult<Vec<SessionRead>> {
    let mut conn = ctx.db.get().await?;
    let sessions = Session::active_of_user(&mut conn, auth.user_id).await?;
    Ok(sessions
        .into_iter()
        .map(|s| SessionRead::new(s, Some(auth.session_id)))
        .collect())
}

impl SessionRead {
    /// `session` as listed to the holder of `current` (`None`: to an
    /// operator, for whom none is current).
    pub(crate) fn new(session: Session, current: Option<Uuid>) -> Self {
        SessionRead {
            current: Some(session.jti) == current,
            jti: session.jti,
            device: session.device,
            ip: session.ip,
            created_at: session.created_at,
            last_used_at: session.last_used_at,
            expires_at: session.expires_at,
        }
    }
}

/// `DELETE /auth/sessions/{jti}` (one session; the current one = logout) or
/// `DELETE /auth/sessions` (`jti = None`: every session but the current
/// one). Their tokens stop working at once and their sockets are closed.
///
/// Errors: 404 `session_not_found` for a session that is not the caller's
/// or no longer active.
pub async fn revoke_sessions(
    ctx: &AppContext,
    auth: &AuthContext,
    jti: Option<Uuid>,
) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    let targets: Vec<Uuid> = match jti {
        Some(jti) => vec![jti],
        None => Session::active_of_user(&mut conn, auth.user_id)
            .await?
            .into_iter()
            .map(|s| s.jti)
            .filter(|j| *j != auth.session_id)
            .collect(),
    };
    let revoked = Session::revoke_many(&mut conn, auth.user_id, &targets).await?;
    if jti.is_some() && revoked.is_empty() {
        return Err(AppError::not_found(
            "session_not_found",
            "No such active session.",
        ));
    }
    tracing::info!(
        user.id = auth.user_id,
        count = revoked.len(),
        "sessions revoked"
    );
    announce_revoked(ctx, auth.user_id, &revoked, "revoked").await;
    Ok(())
}

/// `POST /auth/verify-email`: uses a verification token once.
///
/// Errors: 400 `invalid_token` for an unknown, used or expired token.
pub async fn verify_email(ctx: &AppContext, token: &str) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let user_id = consume_email_token(conn, token, "verify_email")
            .await?
            .ok_or_else(|| {
                AppError::bad_request(
                    "invalid_token",
                    "The verification link is invalid or has expired.",
                )
            })?;
        User::mark_email_verified(conn, user_id).await?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[tokio::test]
    async fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            verify_password("correct horse".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(!verify_password("wrong horse".into(), hash).await.unwrap());
    }
}
