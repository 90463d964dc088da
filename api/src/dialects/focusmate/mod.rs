//! Seed 000 (Focus Mate's "Messaging API Specification", ARC-011) as a
//! dialect: direct rooms are Parley private chats, team rooms its groups
//! (and channels), messages its messages. Served under
//! `/compat/focusmate` with the document's paths beneath it
//! (`/api/v1/chats/rooms…`, the socket `/api/v1/chats/ws`), and at the
//! document's own paths: the native API has no route there (its
//! `/api/v1/chats/{chat_id}…` patterns take integer ids, and these routes
//! are registered before them). Room and message ids are UUIDs that carry
//! Parley's ids (`ids.rs`); user ids are Parley's as decimal strings;
//! errors are `{"detail", "code"}`; the token is Parley's access token
//! (`Authorization: Bearer`, or `?token=` on the socket). What was chosen
//! where the document is silent: docs/dialects.md.

mod convert;
mod error;
mod ids;
mod routes;
mod socket;
mod upload;

use actix_web::web;

use crate::routes::table::{RouteSink, RouteTable};

/// The prefix a seed 000 client puts before the document's paths.
pub const PREFIX: &str = "/compat/focusmate";

/// Registers seed 000's routes.
pub fn configure(cfg: &mut web::ServiceConfig, root: &mut RouteTable) {
    // At the document's own paths (mounted with the native routes, in
    // scopes: `crate::routes::table`), and under `PREFIX` in one scope.
    document_routes(root);
    cfg.service(web::scope(PREFIX).configure(document_routes));
}

/// The document's routes, at its own paths (`configure` mounts them
/// twice: at the root and in the `PREFIX` scope).
fn document_routes<S: RouteSink>(cfg: &mut S) {
    let at = |path: &str| format!("/api/v1/chats{path}");
    cfg.route(&at("/ws"), web::get().to(socket::connect))
        .route(&at("/rooms"), web::get().to(routes::rooms))
        .route(&at("/rooms/direct"), web::post().to(routes::direct))
        .route(&at("/rooms/team"), web::post().to(routes::team))
        .route(&at("/rooms/{room_id}"), web::get().to(routes::room))
        .route(
            &at("/rooms/{room_id}/messages"),
            web::get().to(routes::page),
        )
        .route(
            &at("/rooms/{room_id}/messages"),
            web::post().to(routes::send),
        )
        .route(
            &at("/rooms/{room_id}/messages/{message_id}"),
            web::patch().to(routes::edit),
        )
        .route(
            &at("/rooms/{room_id}/messages/{message_id}"),
            web::delete().to(routes::delete),
        )
        .route(
            &at("/rooms/{room_id}/messages/{message_id}/react"),
            web::post().to(routes::react),
        )
        .route(
            &at("/rooms/{room_id}/messages/{message_id}/react"),
            web::delete().to(routes::unreact),
        )
        .route(
            &at("/rooms/{room_id}/search"),
            web::get().to(routes::search_room),
        )
        .route(&at("/rooms/{room_id}/read"), web::post().to(routes::read))
        .route(
            &at("/rooms/{room_id}/upload"),
            web::post().to(upload::upload),
        );
}
