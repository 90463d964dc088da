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

use crate::routes::table::{RouteSink, RouteTable};

/// The prefix a seed 002 client puts before the document's paths.
pub const PREFIX: &str = "/compat/school";

/// Registers seed 002's routes.
pub fn configure(cfg: &mut web::ServiceConfig, root: &mut RouteTable) {
    // At the document's own paths (mounted with the native routes, in
    // scopes: `crate::routes::table`), and under `PREFIX` in one scope.
    document_routes(root);
    cfg.service(
        web::scope(PREFIX)
            .configure(document_routes)
            .configure(prefixed_routes),
    );
}

/// The routes served only under `PREFIX` (inside its scope).
fn prefixed_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/messages", web::post().to(routes::send))
        .route("/api/v1/messages/bulk", web::post().to(routes::bulk_send))
        .route(
            "/api/v1/messages/{message_id}",
            web::delete().to(routes::delete_message),
        )
        .route("/api/v1/sse/subscribe", web::get().to(sse::subscribe));
}

/// The document's routes, at its own paths (`configure` mounts them
/// twice: at the root and in the `PREFIX` scope).
fn document_routes<S: RouteSink>(cfg: &mut S) {
    cfg.route("/api/v1/conversations", web::get().to(routes::list))
        .route(
            "/api/v1/conversations/unread-count",
            web::get().to(routes::unread_count),
        )
        .route(
            "/api/v1/conversations/with/{other_user_id}",
            web::post().to(routes::with_user),
        )
        .route(
            "/api/v1/conversations/{conversation_id}",
            web::get().to(routes::detail),
        )
        .route(
            "/api/v1/conversations/{conversation_id}",
            web::delete().to(routes::delete),
        )
        .route(
            "/api/v1/conversations/{conversation_id}/read",
            web::post().to(routes::read),
        )
        .route(
            "/api/v1/messages/conversations/{conversation_id}",
            web::get().to(routes::page),
        )
        .route(
            "/api/v1/messages/conversations/{conversation_id}/read",
            web::post().to(routes::read),
        );
}
