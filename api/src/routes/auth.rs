//! `/api/v1/auth` (seed 004 §5).

use actix_web::{HttpRequest, HttpResponse, web};
use parley_shared::domain::accounts as auth;
use parley_shared::domain::accounts::{LoginRequest, RegisterRequest};
use parley_shared::domain::recovery::{self, ResetPasswordRequest};
use parley_shared::domain::two_factor::{self, CodeRequest};
use parley_shared::domain::users::EmailRequest;
use parley_shared::domain::views::AccountView;
use parley_shared::wire::native::dto::{MessageResponse, RefreshRequest, TokenRequest};
use parley_shared::wire::native::render;

use parley_shared::infra::ratelimit::Limit;

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::state::ApiState;

/// `POST /auth/register` → 201 `MessageResponse` with the new user.
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

/// `POST /auth/login` → 200 `TokenResponse`.
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

/// `POST /auth/refresh` → 200 `TokenResponse` (the refresh token rotates).
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

/// `POST /auth/verify-email` → 200 `MessageResponse`.
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

/// `POST /auth/resend-verification {email}` → 200 `MessageResponse`, the
/// same whether or not an account has the address.
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

/// `POST /auth/request-password-reset {email}` → 200 `MessageResponse`,
/// the same whether or not an account has the address.
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

/// `POST /auth/reset-password {token, new_password}` → 200 `MessageResponse`.
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

/// `POST /auth/2fa/setup` → 200 `{secret, otpauth_url}`.
pub async fn two_factor_setup(
    state: web::Data<ApiState>,
    caller: AuthUser,
) -> ApiResult<HttpResponse> {
    let setup = two_factor::setup(&state.ctx, &caller).await?;
    Ok(HttpResponse::Ok().json(render::two_factor_setup(&setup)))
}

/// `POST /auth/2fa/enable {code}` → 200 `MessageResponse`.
pub async fn two_factor_enable(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<CodeRequest>,
) -> ApiResult<HttpResponse> {
    two_factor::enable(&state.ctx, &caller, &body.0).await?;
    Ok(said("Two-factor authentication is on."))
}

/// `POST /auth/2fa/disable {code}` → 200 `MessageResponse`.
pub async fn two_factor_disable(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<CodeRequest>,
) -> ApiResult<HttpResponse> {
    two_factor::disable(&state.ctx, &caller, &body.0).await?;
    Ok(said("Two-factor authentication is off."))
}

/// `GET /auth/me` → 200 `AuthUserResponse`.
pub async fn me(state: web::Data<ApiState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let account = auth::me(&state.ctx, &caller).await?;
    Ok(HttpResponse::Ok().json(render::auth_user(&account)))
}

/// `GET /auth/sessions` → 200 `SessionRead[]`.
pub async fn list_sessions(
    state: web::Data<ApiState>,
    caller: AuthUser,
) -> ApiResult<HttpResponse> {
    let sessions = auth::list_sessions(&state.ctx, &caller).await?;
    Ok(HttpResponse::Ok().json(sessions))
}

/// `DELETE /auth/sessions/{jti}` → 204 (the current session's jti logs out).
pub async fn revoke_session(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<uuid::Uuid>,
) -> ApiResult<HttpResponse> {
    auth::revoke_sessions(&state.ctx, &caller, Some(path.into_inner())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /auth/sessions` → 204: every session but the current one.
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
