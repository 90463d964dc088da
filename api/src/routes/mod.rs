//! Every route of the native API, in one place (`configure`).

use actix_web::{HttpRequest, HttpResponse, web};
use parley_shared::AppError;

use crate::error::ApiError;

pub mod auth;
pub mod chats;
pub mod health;
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
                        .route("/me", web::get().to(auth::me))
                        .route("/sessions", web::get().to(auth::list_sessions))
                        .route("/sessions", web::delete().to(auth::revoke_other_sessions))
                        .route("/sessions/{jti}", web::delete().to(auth::revoke_session)),
                )
                .service(
                    web::scope("/chats")
                        .route("", web::get().to(chats::list_chats))
                        .route("", web::post().to(chats::create_chat))
                        .route("/{chat_id}", web::get().to(chats::get_chat))
                        .route("/{chat_id}/events", web::get().to(chats::list_chat_events))
                        .route("/{chat_id}/title", web::patch().to(chats::set_title))
                        .route("/{chat_id}/leave", web::post().to(chats::leave_chat))
                        .route("/{chat_id}/members", web::post().to(chats::add_member))
                        .route(
                            "/{chat_id}/members/{user_id}",
                            web::delete().to(chats::remove_member),
                        ),
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
                        .route("/contacts", web::get().to(users::list_contacts))
                        .route(
                            "/contacts/by-email",
                            web::post().to(users::add_contact_by_email),
                        )
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
