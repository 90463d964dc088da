//! Seed 001 (a campus chat guide with a Flutter client) as a dialect: a
//! `direct` room is a Parley private chat, a `group` room a group (a
//! channel shows as a `group`), messages are its messages, the per-room
//! socket is the native socket task with this document's frames. Served
//! under `/compat/campus` with the document's paths beneath it, and at the
//! document's own paths (`/chat/rooms/…/`, `/chat/ws/{room_id}`), none of
//! which the native API uses; each REST path answers with and without its
//! trailing slash. Ids are Parley's integers; times `yyyy-MM-ddTHH:mm:ss`
//! in UTC; errors `{"detail": "..."}`; the token is Parley's access token
//! (`Authorization: Bearer`, or `?token=` on the socket). What was chosen
//! where the document is silent: docs/dialects.md.

mod convert;
mod error;
mod messages;
mod names;
mod rooms;
mod settings;
mod socket;

use actix_web::{Route, web};

use crate::routes::table::{RouteSink, RouteTable};

/// The prefix a seed 001 client puts before the document's paths.
pub const PREFIX: &str = "/compat/campus";

/// Registers seed 001's routes.
pub fn configure(cfg: &mut web::ServiceConfig, root: &mut RouteTable) {
    // At the document's own paths (mounted with the native routes, in
    // scopes: `crate::routes::table`), and under `PREFIX` in one scope.
    document_routes(root);
    cfg.service(web::scope(PREFIX).configure(document_routes));
}

/// The document's routes, at its own paths (`configure` mounts them
/// twice: at the root and in the `PREFIX` scope).
fn document_routes<S: RouteSink>(cfg: &mut S) {
    // The document writes every REST path with a trailing slash; a
    // client that leaves it out is served too.
    let mut at = |path: &str, route: fn() -> Route| {
        let path = format!("/chat/rooms{path}");
        cfg.route(&format!("{path}/"), route());
        cfg.route(&path, route());
    };
    at("", || web::get().to(rooms::list));
    at("", || web::post().to(rooms::create));
    at("/{room_id}", || web::get().to(rooms::detail));
    at("/{room_id}/participants", || {
        web::get().to(rooms::participants)
    });
    at("/{room_id}/messages", || web::get().to(messages::page));
    at("/{room_id}/messages", || web::post().to(messages::send));
    at("/{room_id}/messages/{message_id}", || {
        web::put().to(messages::edit)
    });
    at("/{room_id}/messages/{message_id}", || {
        web::delete().to(messages::delete)
    });
    at("/{room_id}/read", || web::post().to(messages::read));
    at("/{room_id}/search", || web::get().to(messages::search));
    at("/{room_id}/settings", || web::get().to(settings::settings));
    at("/{room_id}/settings", || {
        web::put().to(settings::update_settings)
    });
    at("/{room_id}/online-status", || {
        web::get().to(settings::online_status)
    });
    cfg.route("/chat/ws/{room_id}", web::get().to(socket::connect));
}
