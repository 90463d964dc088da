//! Every route of the native API, in one place (`configure`).

use actix_web::{HttpRequest, HttpResponse, web};
use parley_shared::AppError;

use crate::error::ApiError;

pub mod auth;
pub mod chat_prefs;
pub mod chats;
pub mod health;
pub mod members;
pub mod messages;
pub mod users;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health::health))
        .route("/health/live", web::get().to(health::live))
        .route("/health/ready", web::get().to(health::ready))
        .service(
            web::scope("/api/v1")
                .service(
                    web::scope("/auth")
                        .route("/register", web::post().to(auth::register))
                        .route("/login", web::post().to(auth::login))
                        .route("/refresh", web::post().to(auth::refresh))
                        .route("/verify-email", web::post().to(auth::verify_email))
                        .route(
                            "/resend-verification",
                            web::post().to(auth::resend_verification),
                        )
                        .route(
                            "/request-password-reset",
                            web::post().to(auth::request_password_reset),
                        )
                        .route("/reset-password", web::post().to(auth::reset_password))
                        .route("/2fa/setup", web::post().to(auth::two_factor_setup))
                        .route("/2fa/enable", web::post().to(auth::two_factor_enable))
                        .route("/2fa/disable", web::post().to(auth::two_factor_disable))
                        .route("/me", web::get().to(auth::me))
                        .route("/sessions", web::get().to(auth::list_sessions))
                        .route("/sessions", web::delete().to(auth::revoke_other_sessions))
                        .route("/sessions/{jti}", web::delete().to(auth::revoke_session)),
                )
                .service(
                    web::scope("/chats")
                        .route("", web::get().to(chats::list_chats))
                        .route("", web::post().to(chats::create_chat))
                        .route("/saved", web::get().to(chats::saved))
                        .route("/discover", web::get().to(chats::discover))
                        .route("/join-by-invite", web::post().to(chats::join_by_invite))
                        .route("/{chat_id}", web::get().to(chats::get_chat))
                        .route("/{chat_id}", web::delete().to(chats::delete_chat))
                        .route("/{chat_id}/settings", web::get().to(chats::settings))
                        .route("/{chat_id}/settings", web::put().to(chats::set_settings))
                        .route("/{chat_id}/join", web::post().to(chats::join))
                        .route(
                            "/{chat_id}/invite-link",
                            web::post().to(chats::create_invite_link),
                        )
                        .route(
                            "/{chat_id}/invite-links",
                            web::get().to(chats::list_invite_links),
                        )
                        .route(
                            "/{chat_id}/invite-links/{link_id}",
                            web::delete().to(chats::revoke_invite_link),
                        )
                        .route("/{chat_id}/events", web::get().to(chats::list_chat_events))
                        .route("/{chat_id}/title", web::patch().to(chats::set_title))
                        .route("/{chat_id}/profile", web::patch().to(chats::set_profile))
                        .route("/{chat_id}/pin", web::post().to(chats::pin_message))
                        .route("/{chat_id}/leave", web::post().to(members::leave_chat))
                        .route("/{chat_id}/members", web::get().to(members::list_members))
                        .route("/{chat_id}/members", web::post().to(members::add_member))
                        .route(
                            "/{chat_id}/members/me",
                            web::patch().to(members::set_nickname),
                        )
                        .route(
                            "/{chat_id}/members/{user_id}",
                            web::delete().to(members::remove_member),
                        )
                        .route(
                            "/{chat_id}/members/{user_id}/role",
                            web::patch().to(members::set_role),
                        )
                        .route("/{chat_id}/archive", web::post().to(chat_prefs::archive))
                        .route(
                            "/{chat_id}/unarchive",
                            web::post().to(chat_prefs::unarchive),
                        )
                        .route("/{chat_id}/pin-chat", web::post().to(chat_prefs::pin_chat))
                        .route(
                            "/{chat_id}/unpin-chat",
                            web::post().to(chat_prefs::unpin_chat),
                        )
                        .route(
                            "/{chat_id}/notifications",
                            web::get().to(chat_prefs::notifications),
                        )
                        .route(
                            "/{chat_id}/notifications",
                            web::put().to(chat_prefs::set_notifications),
                        )
                        .route("/{chat_id}/clear", web::post().to(chat_prefs::clear)),
                )
                .service(
                    web::scope("/messages")
                        .route("", web::post().to(messages::create_message))
                        .route("/status", web::post().to(messages::update_status))
                        .route("/{id}/edits", web::get().to(messages::list_edits))
                        .route("/{chat_id}", web::get().to(messages::list_messages))
                        .route("/{id}", web::put().to(messages::update_message))
                        .route("/{id}", web::delete().to(messages::delete_message)),
                )
                .service(
                    web::scope("/users")
                        .route("/me", web::get().to(users::me))
                        .route("/profile", web::put().to(users::update_profile))
                        .route("/search", web::get().to(users::search))
                        .route("/blocked", web::get().to(users::list_blocked))
                        .route("/contacts", web::get().to(users::list_contacts))
                        .route(
                            "/contacts/by-email",
                            web::post().to(users::add_contact_by_email),
                        )
                        .route("/{user_id}", web::get().to(users::get_user))
                        .route("/{user_id}/block", web::post().to(users::block))
                        .route("/{user_id}/block", web::delete().to(users::unblock))
                        .route("/{user_id}/contacts", web::post().to(users::add_contact))
                        .route(
                            "/{user_id}/contacts",
                            web::delete().to(users::remove_contact),
                        ),
                )
                .route("/updates", web::get().to(chats::get_updates))
                .route("/ws", web::get().to(crate::realtime::socket::connect_ws))
                .route(
                    "/sse/subscribe",
                    web::get().to(crate::realtime::sse::subscribe_sse),
                ),
        )
        .default_service(web::to(not_found));
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(AppError::not_found(
        "route_not_found",
        format!("No route for {} {}.", req.method(), req.path()),
    )
    .into())
}
