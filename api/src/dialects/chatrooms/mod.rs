//! Seed 003 (a chat-room service) as a dialect: rooms are Parley chats (a
//! two-person room a private chat, three or more a group), messages its
//! messages. Served under `/compat/chatrooms` and at the document's own
//! paths (`/api/chatrooms…`), none of which the native API uses. Ids are
//! strings; errors are `{"error", "message"}`; the token comes as
//! `Authorization: Bearer` or the `jwt_token` cookie; a body's `userId` /
//! `creatorId` must be the caller. The socket is at `/chat` (and under the
//! prefix); the room lifecycle of §4 is the hub's
//! ([`crate::realtime::hub`]), the recent-messages cache the domain's
//! ([`parley_shared::domain::recent`]).
//! docs/dialects.md lists the choices made where the document is silent.

mod auth;
mod convert;
mod routes;
mod socket;

use actix_web::web;

use crate::routes::table::{RouteSink, RouteTable};

/// The prefix a seed 003 client puts before the document's paths.
pub const PREFIX: &str = "/compat/chatrooms";

/// Registers seed 003's routes.
pub fn configure(cfg: &mut web::ServiceConfig, root: &mut RouteTable) {
    // At the document's own paths (mounted with the native routes, in
    // scopes: `crate::routes::table`), and under `PREFIX` in one scope.
    document_routes(root);
    cfg.service(web::scope(PREFIX).configure(document_routes));
}

/// The document's routes, at its own paths (`configure` mounts them
/// twice: at the root and in the `PREFIX` scope).
fn document_routes<S: RouteSink>(cfg: &mut S) {
    let at = |path: &str| format!("/api/chatrooms{path}");
    cfg.route(&at(""), web::post().to(routes::create))
        .route(&at("/{room_id}"), web::delete().to(routes::delete_room))
        .route(&at("/{room_id}/name"), web::patch().to(routes::rename))
        .route(
            &at("/{room_id}/participants"),
            web::post().to(routes::add_participant),
        )
        .route(
            &at("/{room_id}/participants/{user_id}"),
            web::delete().to(routes::remove_participant),
        )
        .route(
            &at("/{room_id}/participants/{user_id}/role"),
            web::patch().to(routes::set_role),
        )
        .route(
            &at("/{room_id}/participants/{user_id}/name"),
            web::patch().to(routes::set_name),
        )
        .route(&at("/{room_id}/messages"), web::post().to(routes::send))
        .route(
            &at("/{room_id}/messages/{message_id}"),
            web::delete().to(routes::delete_message),
        )
        .route(
            &at("/{room_id}/messages/{message_id}"),
            web::patch().to(routes::edit),
        )
        .route(
            &at("/{room_id}/messages/{message_id}/read"),
            web::post().to(routes::read),
        )
        .route(
            &at("/{room_id}/messages/{message_id}/reactions"),
            web::post().to(routes::react),
        )
        .route(&at("/{room_id}/connect"), web::post().to(routes::connect))
        .route("/chat", web::get().to(socket::connect));
}
