//! Two-factor authentication with TOTP (seed 004 §5, RFC 6238: SHA-1, 6
//! digits, 30-second steps, one step of clock skew either way). Setup
//! stores a new secret and answers it with its `otpauth://` URL; enable
//! and disable each take a current code; once enabled, login needs
//! `otp_code`. A code is accepted once: the step it belongs to must be
//! later than the last step used. The secret lives in `user_two_factor`,
//! one row per user who set it up.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rand::Rng;
use serde::Deserialize;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::domain::caller::AuthContext;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::models::User;
use crate::infra::schema::user_two_factor;

/// Seconds per TOTP step.
const STEP_SECS: u64 = 30;
/// The issuer shown by authenticator apps.
const ISSUER: &str = "Parley";

/// `{ "code": "123456" }` for `POST /auth/2fa/enable | disable`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CodeRequest {
    pub code: String,
}

/// What setup answers: the secret (base32) and the URL an authenticator
/// app scans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwoFactorSetup {
    pub secret: String,
    pub otpauth_url: String,
}

fn totp(secret_base32: &str, account: &str) -> AppResult<TOTP> {
    let bytes = Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|e| AppError::internal(anyhow::anyhow!("stored TOTP secret: {e:?}")))?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECS,
        bytes,
        Some(ISSUER.to_owned()),
        account.to_owned(),
    )
    .map_err(|e| AppError::internal(anyhow::anyhow!("TOTP: {e:?}")))
}

/// Base32 of a raw secret, as authenticator apps take it.
fn encoded(raw: &[u8]) -> String {
    match Secret::Raw(raw.to_vec()).to_encoded() {
        Secret::Encoded(text) => text,
        Secret::Raw(_) => String::new(),
    }
}

fn now_secs() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}

/// The step (Unix time / 30) whose code `code` is, within one step of
/// `now`, or `None`.
fn matching_step(totp: &TOTP, code: &str, now: u64) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let step = now / STEP_SECS;
    [step.saturating_sub(1), step, step + 1]
        .into_iter()
        .find(|s| totp.generate(s * STEP_SECS) == code)
        .and_then(|s| i64::try_from(s).ok())
}

/// A user's 2FA row: `(secret, enabled)`, or `None` before any setup.
async fn state_of(
    conn: &mut AsyncPgConnection,
    user_id: i64,
) -> QueryResult<Option<(String, bool)>> {
    user_two_factor::table
        .find(user_id)
        .select((user_two_factor::secret, user_two_factor::enabled))
        .first(conn)
        .await
        .optional()
}

/// Whether the user has 2FA on (`twofa_enabled`).
pub async fn is_enabled(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<bool> {
    Ok(state_of(conn, user_id)
        .await?
        .is_some_and(|(_, enabled)| enabled))
}

/// Uses `code` for `user` with `secret`: it must match and belong to a
/// step later than the last one used; the step is recorded in the same
/// statement, so two logins with one code cannot both pass. `false` when
/// it does not.
async fn use_code(
    conn: &mut AsyncPgConnection,
    user: &User,
    secret: &str,
    code: &str,
) -> AppResult<bool> {
    let Some(step) = matching_step(&totp(secret, &user.email)?, code, now_secs()) else {
        return Ok(false);
    };
    let updated = diesel::update(
        user_two_factor::table.find(user.id).filter(
            user_two_factor::last_step
                .is_null()
                .or(user_two_factor::last_step.lt(step)),
        ),
    )
    .set(user_two_factor::last_step.eq(step))
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// For login: when the user has 2FA on, `otp_code` must be a fresh code.
///
/// Errors: 401 `otp_required` (no code), 401 `invalid_otp` (wrong, expired
/// or already used).
pub async fn check_login(
    conn: &mut AsyncPgConnection,
    user: &User,
    otp_code: Option<&str>,
) -> AppResult<()> {
    let secret = match state_of(conn, user.id).await? {
        Some((secret, true)) => secret,
        _ => return Ok(()),
    };
    let Some(code) = otp_code.filter(|c| !c.trim().is_empty()) else {
        return Err(AppError::unauthorized(
            "otp_required",
            "Two-factor authentication is on: send otp_code from your authenticator app.",
        ));
    };
    if use_code(conn, user, &secret, code).await? {
        Ok(())
    } else {
        Err(invalid_otp_login())
    }
}

fn invalid_otp_login() -> AppError {
    AppError::unauthorized(
        "invalid_otp",
        "The two-factor code is wrong, expired or already used.",
    )
}

fn invalid_code() -> AppError {
    AppError::validation("code", "The code is wrong, expired or already used.")
}

/// `POST /auth/2fa/setup`: a new secret, not in force until enabled (a
/// second setup replaces it).
///
/// Errors: 409 `twofa_already_enabled`.
pub async fn setup(ctx: &AppContext, auth: &AuthContext) -> AppResult<TwoFactorSetup> {
    let mut conn = ctx.db.get().await?;
    let user = User::find(&mut conn, auth.user_id).await?;
    if is_enabled(&mut conn, user.id).await? {
        return Err(AppError::conflict(
            "twofa_already_enabled",
            "Two-factor authentication is already on; disable it first.",
        ));
    }
    let raw: [u8; 20] = rand::rng().random();
    let secret = encoded(&raw);
    let url = totp(&secret, &user.email)?.get_url();
    // Only a row that is not enabled is replaced (a concurrent enable wins).
    let replaced = diesel::update(
        user_two_factor::table
            .find(user.id)
            .filter(user_two_factor::enabled.eq(false)),
    )
    .set((
        user_two_factor::secret.eq(&secret),
        user_two_factor::last_step.eq(None::<i64>),
        user_two_factor::updated_at.eq(diesel::dsl::now),
    ))
    .execute(&mut conn)
    .await?;
    let inserted = if replaced == 0 {
        diesel::insert_into(user_two_factor::table)
            .values((
                user_two_factor::user_id.eq(user.id),
                user_two_factor::secret.eq(&secret),
            ))
            .on_conflict_do_nothing()
            .execute(&mut conn)
            .await?
    } else {
        0
    };
    if replaced == 0 && inserted == 0 {
        return Err(AppError::conflict(
            "twofa_already_enabled",
            "Two-factor authentication is already on; disable it first.",
        ));
    }
    Ok(TwoFactorSetup {
        secret,
        otpauth_url: url,
    })
}

/// `POST /auth/2fa/enable {code}`: turns 2FA on with a current code of the
/// secret from setup.
///
/// Errors: 409 `twofa_already_enabled`, `twofa_not_set_up`; 422 `code`.
pub async fn enable(ctx: &AppContext, auth: &AuthContext, req: &CodeRequest) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    let user = User::find(&mut conn, auth.user_id).await?;
    let secret = match state_of(&mut conn, user.id).await? {
        Some((_, true)) => {
            return Err(AppError::conflict(
                "twofa_already_enabled",
                "Two-factor authentication is already on.",
            ));
        }
        Some((secret, false)) => secret,
        None => {
            return Err(AppError::conflict(
                "twofa_not_set_up",
                "Call POST /api/v1/auth/2fa/setup first.",
            ));
        }
    };
    if !use_code(&mut conn, &user, &secret, &req.code).await? {
        return Err(invalid_code());
    }
    diesel::update(user_two_factor::table.find(user.id))
        .set((
            user_two_factor::enabled.eq(true),
            user_two_factor::updated_at.eq(diesel::dsl::now),
        ))
        .execute(&mut conn)
        .await?;
    tracing::info!(user.id = user.id, "two-factor authentication enabled");
    Ok(())
}

/// `POST /auth/2fa/disable {code}`: turns 2FA off with a current code and
/// forgets the secret.
///
/// Errors: 409 `twofa_not_enabled`; 422 `code`.
pub async fn disable(ctx: &AppContext, auth: &AuthContext, req: &CodeRequest) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    let user = User::find(&mut conn, auth.user_id).await?;
    let Some((secret, true)) = state_of(&mut conn, user.id).await? else {
        return Err(AppError::conflict(
            "twofa_not_enabled",
            "Two-factor authentication is off.",
        ));
    };
    if !use_code(&mut conn, &user, &secret, &req.code).await? {
        return Err(invalid_code());
    }
    diesel::delete(user_two_factor::table.find(user.id))
        .execute(&mut conn)
        .await?;
    tracing::info!(user.id = user.id, "two-factor authentication disabled");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B (SHA-1; the 8-digit codes' last 6 digits).
    #[test]
    fn codes_match_the_rfc_vectors_within_one_step() {
        let secret = encoded(b"12345678901234567890");
        let totp = totp(&secret, "a@example.com").ok();
        let Some(totp) = totp else {
            panic!("a TOTP");
        };
        assert_eq!(totp.generate(59), "287082");
        assert_eq!(totp.generate(1_111_111_109), "081804");
        assert_eq!(
            matching_step(&totp, "081804", 1_111_111_109),
            Some(37_037_036)
        );
        // One step either way is accepted, two are not.
        assert_eq!(
            matching_step(&totp, "081804", 1_111_111_109 + 30),
            Some(37_037_036)
        );
        assert_eq!(matching_step(&totp, "081804", 1_111_111_109 + 60), None);
        assert_eq!(matching_step(&totp, "08180", 1_111_111_109), None);
        assert_eq!(matching_step(&totp, "abcdef", 1_111_111_109), None);
    }
}
