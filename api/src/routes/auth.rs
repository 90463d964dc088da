//! `/api/v1/auth` (seed 004 §5).

use actix_web::{HttpRequest, HttpResponse, web};
use parley_shared::domain::accounts as auth;
use parley_shared::domain::accounts::{LoginRequest, RegisterRequest, SessionRead};
use parley_shared::domain::recovery::{self, ResetPasswordRequest};
use parley_shared::domain::two_factor::{self, CodeRequest};
use parley_shared::domain::users::EmailRequest;
use parley_shared::domain::views::AccountView;
use parley_shared::wire::native::dto::{
    AuthUserResponse, MessageResponse, RefreshRequest, TokenRequest, TokenResponse,
    TwoFactorSetupRead,
};
use parley_shared::wire::native::render;

use parley_shared::infra::ratelimit::Limit;

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::openapi::{ErrorBody, JsonBodyErrors, Unauthenticated};
use crate::state::ApiState;

/// Register a new account.
///
/// Creates the user and emails them a link to confirm the address. Rules:
/// `email` must be a valid address (it is stored lower-case), `name` 1–64
/// characters, `username` 3–32 ASCII letters, digits or `_` (a leading `@`
/// is dropped), `password` 8–128 characters. Answers 201 with `message` and
/// the new account as `user`; log in with `POST /api/v1/auth/login` next.
///
/// Limited per client IP (`REGISTER_RATE_LIMIT_PER_MINUTE`).
#[utoipa::path(
    post,
    path = "/api/v1/auth/register",
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered: `message` and the new account as `user`.", body = MessageResponse),
        JsonBodyErrors,
        (status = 409, description = "`email_taken` or `username_taken`.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field`: `email`, `name`, `username` or `password` breaks a rule above, or a field is missing or of the wrong type.", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many registrations from this IP; retry after `Retry-After` seconds.", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
pub async fn register(
    req: HttpRequest,
    state: web::Data<ApiState>,
    body: JsonBody<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    state
        .ctx
        .limits
        .check(Limit::Register, &client_ip(&req))
        .await?;
    let user = auth::register(&state.ctx, body.0).await?;
    Ok(HttpResponse::Created().json(MessageResponse {
        message: "Registered. Check your email to confirm your address.".into(),
        user: Some(render::auth_user(&AccountView {
            user,
            twofa_enabled: false,
        })),
    }))
}

/// Log in with email and password.
///
/// Opens a session and answers its access and refresh tokens; send the
/// access token as `Authorization: Bearer <token>` (it lives `expires_in`
/// seconds) and renew it with `POST /api/v1/auth/refresh`. When the account
/// has two-factor authentication on, `otp_code` (the current code of the
/// authenticator app) is required. A wrong email and a wrong password get
/// the same answer. The session records the `User-Agent` and the client IP
/// (`GET /api/v1/auth/sessions`).
///
/// Limited per client IP (`LOGIN_RATE_LIMIT_PER_MINUTE`).
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "The new session's tokens.", body = TokenResponse),
        JsonBodyErrors,
        (status = 401, description = "`invalid_credentials`: unknown email or wrong password; `otp_required`: 2FA is on and `otp_code` is missing; `invalid_otp`: the code is wrong, expired or already used.", body = ErrorBody),
        (status = 403, description = "`email_not_verified`: the server requires a confirmed address (`AUTH_REQUIRE_VERIFIED_EMAIL`) and this one is not yet; `account_deactivated`: an operator deactivated this account.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field`: a field is missing or of the wrong type.", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many logins from this IP; retry after `Retry-After` seconds.", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<ApiState>,
    body: JsonBody<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let device = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let ip = req.peer_addr().map(|a| a.ip().to_string());
    state
        .ctx
        .limits
        .check(Limit::Login, &client_ip(&req))
        .await?;
    let tokens = auth::login(&state.ctx, body.0, device, ip.as_deref()).await?;
    Ok(HttpResponse::Ok().json(render::tokens(&tokens)))
}

/// Exchange a refresh token for a new token pair.
///
/// The refresh token rotates: the one sent is retired and the answer holds
/// its successor. Presenting a refresh token that was already exchanged is
/// taken as theft: the whole session is revoked (its sockets close) and the
/// answer is 401 `refresh_token_reused`.
///
/// Limited per client IP (`REFRESH_RATE_LIMIT_PER_MINUTE`).
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new access token and the next refresh token.", body = TokenResponse),
        JsonBodyErrors,
        (status = 401, description = "`invalid_token`: not a refresh token of this server; `token_expired`; `session_revoked`: the session has ended; `refresh_token_reused`: this token was already exchanged, and the session is now revoked.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field`: `refresh_token` is missing or not a string.", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many refreshes from this IP; retry after `Retry-After` seconds.", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
pub async fn refresh(
    req: HttpRequest,
    state: web::Data<ApiState>,
    body: JsonBody<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    state
        .ctx
        .limits
        .check(Limit::Refresh, &client_ip(&req))
        .await?;
    let tokens = auth::refresh(&state.ctx, &body.0.refresh_token).await?;
    Ok(HttpResponse::Ok().json(render::tokens(&tokens)))
}

/// Confirm an email address with the token from the verification email.
///
/// Each token works once.
///
/// Limited per client IP (`RESET_RATE_LIMIT_PER_MINUTE`, shared with the
/// other email flows).
#[utoipa::path(
    post,
    path = "/api/v1/auth/verify-email",
    tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Verified: `{\"message\": \"Email verified.\"}`.", body = MessageResponse),
        (status = 400, description = "`invalid_token`: the token is unknown, used or expired; `malformed_json`: the body is not one JSON value; `unsupported_content_type`: it is not `application/json`.", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over 64 KiB.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field`: `token` is missing or not a string.", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many requests from this IP; retry after `Retry-After` seconds.", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
pub async fn verify_email(
    req: HttpRequest,
    state: web::Data<ApiState>,
    body: JsonBody<TokenRequest>,
) -> ApiResult<HttpResponse> {
    state
        .ctx
        .limits
        .check(Limit::Reset, &client_ip(&req))
        .await?;
    auth::verify_email(&state.ctx, &body.0.token).await?;
    Ok(said("Email verified."))
}

/// Send a new verification link.
///
/// Emails a new link when the address belongs to an account that is not
/// verified yet. The answer is the same whether or not it does, so that it
/// cannot be used to find accounts.
///
/// Limited per client IP (`RESET_RATE_LIMIT_PER_MINUTE`, shared with the
/// other email flows).
#[utoipa::path(
    post,
    path = "/api/v1/auth/resend-verification",
    tag = "auth",
    request_body = EmailRequest,
    responses(
        (status = 200, description = "Always the same `message`, whether or not a link was sent.", body = MessageResponse),
        JsonBodyErrors,
        (status = 422, description = "`validation_error`, with `field: \"email\"`: not a valid address, or missing.", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many requests from this IP; retry after `Retry-After` seconds.", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
pub async fn resend_verification(
    req: HttpRequest,
    state: web::Data<ApiState>,
    body: JsonBody<EmailRequest>,
) -> ApiResult<HttpResponse> {
    state
        .ctx
        .limits
        .check(Limit::Reset, &client_ip(&req))
        .await?;
    recovery::resend_verification(&state.ctx, &body.0.email).await?;
    Ok(said(
        "If this address belongs to an account that is not verified yet, \
                  a new verification link is on its way.",
    ))
}

/// Request a password reset link.
///
/// Emails a reset link (valid for 1 hour, single use) when the address
/// belongs to an account. The answer is the same whether or not it does,
/// so that it cannot be used to find accounts.
///
/// Limited per client IP (`RESET_RATE_LIMIT_PER_MINUTE`, shared with the
/// other email flows).
#[utoipa::path(
    post,
    path = "/api/v1/auth/request-password-reset",
    tag = "auth",
    request_body = EmailRequest,
    responses(
        (status = 200, description = "Always the same `message`, whether or not a link was sent.", body = MessageResponse),
        JsonBodyErrors,
        (status = 422, description = "`validation_error`, with `field: \"email\"`: not a valid address, or missing.", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many requests from this IP; retry after `Retry-After` seconds.", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
pub async fn request_password_reset(
    req: HttpRequest,
    state: web::Data<ApiState>,
    body: JsonBody<EmailRequest>,
) -> ApiResult<HttpResponse> {
    state
        .ctx
        .limits
        .check(Limit::Reset, &client_ip(&req))
        .await?;
    recovery::request_password_reset(&state.ctx, &body.0.email).await?;
    Ok(said(
        "If this address belongs to an account, a password reset link is on its way.",
    ))
}

/// Set a new password with the token from a reset email.
///
/// `new_password` must be 8–128 characters. The token works once; the
/// user's other reset links are retired, and every session of the account
/// is revoked (its sockets close with 4001): log in again.
///
/// Limited per client IP (`RESET_RATE_LIMIT_PER_MINUTE`, shared with the
/// other email flows).
#[utoipa::path(
    post,
    path = "/api/v1/auth/reset-password",
    tag = "auth",
    request_body = ResetPasswordRequest,
    responses(
        (status = 200, description = "Password changed (`message`).", body = MessageResponse),
        (status = 400, description = "`invalid_token`: the token is unknown, used or expired; `malformed_json`: the body is not one JSON value; `unsupported_content_type`: it is not `application/json`.", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the body is over 64 KiB.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field`: `new_password` is not 8–128 characters, or a field is missing or of the wrong type.", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many requests from this IP; retry after `Retry-After` seconds.", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
pub async fn reset_password(
    req: HttpRequest,
    state: web::Data<ApiState>,
    body: JsonBody<ResetPasswordRequest>,
) -> ApiResult<HttpResponse> {
    state
        .ctx
        .limits
        .check(Limit::Reset, &client_ip(&req))
        .await?;
    recovery::reset_password(&state.ctx, &body.0).await?;
    Ok(said("Password changed. Log in with your new password."))
}

/// Start setting up two-factor authentication.
///
/// Answers a new TOTP secret (base32) and its `otpauth://` URL for an
/// authenticator app (show it as a QR code). It is not in force until
/// `POST /api/v1/auth/2fa/enable` confirms a code; calling setup again
/// replaces the secret.
#[utoipa::path(
    post,
    path = "/api/v1/auth/2fa/setup",
    tag = "auth",
    responses(
        (status = 200, description = "The new secret and its `otpauth_url`.", body = TwoFactorSetupRead),
        Unauthenticated,
        (status = 409, description = "`twofa_already_enabled`: disable it first.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn two_factor_setup(
    state: web::Data<ApiState>,
    caller: AuthUser,
) -> ApiResult<HttpResponse> {
    let setup = two_factor::setup(&state.ctx, &caller).await?;
    Ok(HttpResponse::Ok().json(render::two_factor_setup(&setup)))
}

/// Turn two-factor authentication on.
///
/// `code` is a current 6-digit code of the secret from setup. From then on
/// login needs `otp_code`. Each code is accepted once.
#[utoipa::path(
    post,
    path = "/api/v1/auth/2fa/enable",
    tag = "auth",
    request_body = CodeRequest,
    responses(
        (status = 200, description = "Two-factor authentication is on (`message`).", body = MessageResponse),
        JsonBodyErrors,
        Unauthenticated,
        (status = 409, description = "`twofa_already_enabled`; `twofa_not_set_up`: call `POST /api/v1/auth/2fa/setup` first.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field: \"code\"`: the code is wrong, expired or already used (or missing).", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn two_factor_enable(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<CodeRequest>,
) -> ApiResult<HttpResponse> {
    two_factor::enable(&state.ctx, &caller, &body.0).await?;
    Ok(said("Two-factor authentication is on."))
}

/// Turn two-factor authentication off.
///
/// `code` is a current 6-digit code of the authenticator app; the secret is
/// forgotten (a later setup starts over).
#[utoipa::path(
    post,
    path = "/api/v1/auth/2fa/disable",
    tag = "auth",
    request_body = CodeRequest,
    responses(
        (status = 200, description = "Two-factor authentication is off (`message`).", body = MessageResponse),
        JsonBodyErrors,
        Unauthenticated,
        (status = 409, description = "`twofa_not_enabled`: it is already off.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field: \"code\"`: the code is wrong, expired or already used (or missing).", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn two_factor_disable(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<CodeRequest>,
) -> ApiResult<HttpResponse> {
    two_factor::disable(&state.ctx, &caller, &body.0).await?;
    Ok(said("Two-factor authentication is off."))
}

/// The caller's account.
///
/// With `email_verified` and `twofa_enabled`. `GET /api/v1/users/me` answers
/// the profile with its privacy settings.
#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    operation_id = "auth_me",
    tag = "auth",
    responses(
        (status = 200, description = "The caller's account.", body = AuthUserResponse),
        Unauthenticated,
    ),
    security(("bearer" = []))
)]
pub async fn me(state: web::Data<ApiState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let account = auth::me(&state.ctx, &caller).await?;
    Ok(HttpResponse::Ok().json(render::auth_user(&account)))
}

/// The caller's active sessions, newest first.
///
/// One per login (device); `current` marks the session of this request.
#[utoipa::path(
    get,
    path = "/api/v1/auth/sessions",
    tag = "auth",
    responses(
        (status = 200, description = "The active sessions.", body = [SessionRead]),
        Unauthenticated,
    ),
    security(("bearer" = []))
)]
pub async fn list_sessions(
    state: web::Data<ApiState>,
    caller: AuthUser,
) -> ApiResult<HttpResponse> {
    let sessions = auth::list_sessions(&state.ctx, &caller).await?;
    Ok(HttpResponse::Ok().json(sessions))
}

/// Revoke one session (the current one: log out).
///
/// Its tokens stop working at once and its sockets close (4001).
#[utoipa::path(
    delete,
    path = "/api/v1/auth/sessions/{jti}",
    tag = "auth",
    params(("jti" = uuid::Uuid, Path, description = "The session's `jti`, as `GET /api/v1/auth/sessions` lists it.")),
    responses(
        (status = 204, description = "Revoked."),
        Unauthenticated,
        (status = 404, description = "`session_not_found`: not an active session of the caller; `not_found`: `jti` is not a UUID.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn revoke_session(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<uuid::Uuid>,
) -> ApiResult<HttpResponse> {
    auth::revoke_sessions(&state.ctx, &caller, Some(path.into_inner())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Revoke every session but the current one (log out other devices).
///
/// Their tokens stop working at once and their sockets close (4001).
#[utoipa::path(
    delete,
    path = "/api/v1/auth/sessions",
    tag = "auth",
    responses(
        (status = 204, description = "The other sessions are revoked (none is fine)."),
        Unauthenticated,
    ),
    security(("bearer" = []))
)]
pub async fn revoke_other_sessions(
    state: web::Data<ApiState>,
    caller: AuthUser,
) -> ApiResult<HttpResponse> {
    auth::revoke_sessions(&state.ctx, &caller, None).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The client's address, the key of per-IP limits (the TCP peer: a proxy in
/// front should keep one connection per client or set its own limits).
fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// 200 with `{"message": text}` (a `MessageResponse` without a user).
fn said(text: &str) -> HttpResponse {
    HttpResponse::Ok().json(MessageResponse {
        message: text.to_owned(),
        user: None,
    })
}
