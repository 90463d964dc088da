//! Seed 002 ("Message API", 1:1 conversations for a school app) as a
//! dialect: conversations are Parley's private chats, messages its
//! messages. Served under `/compat/school` with the document's paths
//! beneath it, and at the document's own paths where they do not collide
//! with the native API (`/api/v1/conversations…`,
//! `/api/v1/messages/conversations/…`); `POST /api/v1/messages`,
//! `/messages/bulk`, `DELETE /messages/{id}` and `/sse/subscribe` are the
//! native API's, so their seed 002 forms are only under the prefix. Errors are the native
//! body (`{"detail", "code"}`): the document shows none. What was chosen
//! where it is silent: docs/dialects.md.

mod convert;
mod routes;
mod sse;

use actix_web::web;

/// The prefix a seed 002 client puts before the document's paths.
pub const PREFIX: &str = "/compat/school";

/// Registers seed 002's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for prefix in ["", PREFIX] {
        let at = |path: &str| format!("{prefix}{path}");
        cfg.route(&at("/api/v1/conversations"), web::get().to(routes::list))
            .route(
                &at("/api/v1/conversations/unread-count"),
                web::get().to(routes::unread_count),
            )
            .route(
                &at("/api/v1/conversations/with/{other_user_id}"),
                web::post().to(routes::with_user),
            )
            .route(
                &at("/api/v1/conversations/{conversation_id}"),
                web::get().to(routes::detail),
            )
            .route(
                &at("/api/v1/conversations/{conversation_id}"),
                web::delete().to(routes::delete),
            )
            .route(
                &at("/api/v1/conversations/{conversation_id}/read"),
                web::post().to(routes::read),
            )
            .route(
                &at("/api/v1/messages/conversations/{conversation_id}"),
                web::get().to(routes::page),
            )
            .route(
                &at("/api/v1/messages/conversations/{conversation_id}/read"),
                web::post().to(routes::read),
            );
    }
    cfg.route(
        &format!("{PREFIX}/api/v1/messages"),
        web::post().to(routes::send),
    )
    .route(
        &format!("{PREFIX}/api/v1/messages/bulk"),
        web::post().to(routes::bulk_send),
    )
    .route(
        &format!("{PREFIX}/api/v1/messages/{{message_id}}"),
        web::delete().to(routes::delete_message),
    )
    .route(
        &format!("{PREFIX}/api/v1/sse/subscribe"),
        web::get().to(sse::subscribe),
    );
}
