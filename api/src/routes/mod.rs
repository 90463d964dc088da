//! Every route of the native API, in one place (`configure`).

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, HttpRequest, HttpResponse, Responder, web};
use parley_shared::AppError;

use crate::error::ApiError;
use crate::realtime;
use table::{RouteSink, RouteTable};

pub mod auth;
pub mod bulk;
pub mod chat_prefs;
pub mod chats;
pub mod forwards;
pub mod health;
pub mod media;
pub mod members;
pub mod messages;
pub mod metrics;
pub mod notifications;
pub mod page;
pub mod reactions;
pub mod search;
pub mod table;
pub mod users;

/// Registers every route: the dialects' (their prefixed scopes, and their
/// documents' own paths), the native API's, the OpenAPI document
/// (`/openapi.json`) and its UI (`/docs`), and the web chat page (`/`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut table = RouteTable::default();
    // The dialects' paths first: where a path fits both a dialect's route
    // and a native pattern (`/api/v1/chats/rooms`), the dialect's answers.
    crate::dialects::configure(cfg, &mut table);
    register(&mut table);
    table.mount(cfg);
    page::configure(cfg);
    cfg.route("/docs", web::get().to(docs_redirect))
        .service(crate::openapi::docs_service())
        .default_service(web::to(not_found));
}

/// Every route of the native API as `(METHOD, path)`, in the order they
/// are matched: what `/openapi.json` must document (a test compares them).
pub fn route_list() -> Vec<(String, String)> {
    register(&mut RouteTable::default())
}

/// Adds the native routes to `table` and returns them. Written as full
/// paths, so that the table reads as the API does and can be listed.
fn register(table: &mut RouteTable) -> Vec<(String, String)> {
    let mut r = Routes {
        table,
        listed: Vec::new(),
    };
    r.get("/health", health::health);
    r.get("/health/live", health::live);
    r.get("/health/ready", health::ready);
    r.get("/metrics", metrics::metrics);

    r.post("/api/v1/auth/register", auth::register);
    r.post("/api/v1/auth/login", auth::login);
    r.post("/api/v1/auth/refresh", auth::refresh);
    r.post("/api/v1/auth/verify-email", auth::verify_email);
    r.post(
        "/api/v1/auth/resend-verification",
        auth::resend_verification,
    );
    r.post(
        "/api/v1/auth/request-password-reset",
        auth::request_password_reset,
    );
    r.post("/api/v1/auth/reset-password", auth::reset_password);
    r.post("/api/v1/auth/2fa/setup", auth::two_factor_setup);
    r.post("/api/v1/auth/2fa/enable", auth::two_factor_enable);
    r.post("/api/v1/auth/2fa/disable", auth::two_factor_disable);
    r.get("/api/v1/auth/me", auth::me);
    r.get("/api/v1/auth/sessions", auth::list_sessions);
    r.delete("/api/v1/auth/sessions", auth::revoke_other_sessions);
    r.delete("/api/v1/auth/sessions/{jti}", auth::revoke_session);

    r.get("/api/v1/chats", chats::list_chats);
    r.post("/api/v1/chats", chats::create_chat);
    r.get("/api/v1/chats/saved", chats::saved);
    r.get("/api/v1/chats/discover", chats::discover);
    r.post("/api/v1/chats/join-by-invite", chats::join_by_invite);
    r.get("/api/v1/chats/{chat_id}", chats::get_chat);
    r.delete("/api/v1/chats/{chat_id}", chats::delete_chat);
    r.get("/api/v1/chats/{chat_id}/settings", chats::settings);
    r.put("/api/v1/chats/{chat_id}/settings", chats::set_settings);
    r.post("/api/v1/chats/{chat_id}/join", chats::join);
    r.post(
        "/api/v1/chats/{chat_id}/invite-link",
        chats::create_invite_link,
    );
    r.get(
        "/api/v1/chats/{chat_id}/invite-links",
        chats::list_invite_links,
    );
    r.delete(
        "/api/v1/chats/{chat_id}/invite-links/{link_id}",
        chats::revoke_invite_link,
    );
    r.get("/api/v1/chats/{chat_id}/events", chats::list_chat_events);
    r.patch("/api/v1/chats/{chat_id}/title", chats::set_title);
    r.patch("/api/v1/chats/{chat_id}/profile", chats::set_profile);
    r.post("/api/v1/chats/{chat_id}/pin", chats::pin_message);
    r.post("/api/v1/chats/{chat_id}/leave", members::leave_chat);
    r.get("/api/v1/chats/{chat_id}/members", members::list_members);
    r.post("/api/v1/chats/{chat_id}/members", members::add_member);
    r.patch("/api/v1/chats/{chat_id}/members/me", members::set_nickname);
    r.delete(
        "/api/v1/chats/{chat_id}/members/{user_id}",
        members::remove_member,
    );
    r.patch(
        "/api/v1/chats/{chat_id}/members/{user_id}/role",
        members::set_role,
    );
    r.post("/api/v1/chats/{chat_id}/archive", chat_prefs::archive);
    r.post("/api/v1/chats/{chat_id}/unarchive", chat_prefs::unarchive);
    r.post("/api/v1/chats/{chat_id}/pin-chat", chat_prefs::pin_chat);
    r.post("/api/v1/chats/{chat_id}/unpin-chat", chat_prefs::unpin_chat);
    r.get(
        "/api/v1/chats/{chat_id}/notifications",
        chat_prefs::notifications,
    );
    r.put(
        "/api/v1/chats/{chat_id}/notifications",
        chat_prefs::set_notifications,
    );
    r.post("/api/v1/chats/{chat_id}/clear", chat_prefs::clear);

    r.post("/api/v1/messages", messages::create_message);
    r.post("/api/v1/messages/status", messages::update_status);
    r.get("/api/v1/messages/search", messages::search);
    r.post("/api/v1/messages/bulk", bulk::bulk_send);
    r.get("/api/v1/jobs/{id}", bulk::job);

    r.post("/api/v1/media/upload-url", media::upload_url);
    r.post("/api/v1/media/attachments", media::attach);
    r.get(
        "/api/v1/media/chats/{chat_id}/attachments",
        media::chat_attachments,
    );
    r.get("/api/v1/media/attachments/{id}/content", media::content);
    r.put("/api/v1/media/files/{key:.*}", media::put_file);
    r.get("/api/v1/media/files/{key:.*}", media::get_file);
    r.get("/api/v1/messages/{id}/edits", messages::list_edits);
    r.get("/api/v1/messages/{id}/thread", messages::thread);
    r.post("/api/v1/messages/{id}/forward", forwards::forward);
    r.post("/api/v1/messages/{id}/forward-bulk", forwards::forward_bulk);
    r.get("/api/v1/messages/{id}/reactions", reactions::list_reactions);
    r.post(
        "/api/v1/messages/{id}/reactions/toggle",
        reactions::toggle_reaction,
    );
    r.get("/api/v1/messages/{id}", messages::list_messages);
    r.put("/api/v1/messages/{id}", messages::update_message);
    r.delete("/api/v1/messages/{id}", messages::delete_message);

    r.get("/api/v1/users/me", users::me);
    r.put("/api/v1/users/profile", users::update_profile);
    r.get("/api/v1/users/search", users::search);
    r.get("/api/v1/users/blocked", users::list_blocked);
    r.get("/api/v1/users/contacts", users::list_contacts);
    r.post(
        "/api/v1/users/contacts/by-email",
        users::add_contact_by_email,
    );
    r.get("/api/v1/users/{user_id}", users::get_user);
    r.post("/api/v1/users/{user_id}/block", users::block);
    r.delete("/api/v1/users/{user_id}/block", users::unblock);
    r.post("/api/v1/users/{user_id}/contacts", users::add_contact);
    r.delete("/api/v1/users/{user_id}/contacts", users::remove_contact);

    r.get("/api/v1/notifications", notifications::list);
    r.post("/api/v1/devices", notifications::register_device);
    r.get("/api/v1/devices", notifications::list_devices);
    r.delete("/api/v1/devices/{id}", notifications::remove_device);

    r.get("/api/v1/search", search::search_all);
    r.get("/api/v1/updates", chats::get_updates);

    r.get("/api/v1/ws", realtime::socket::connect_ws);

    r.get("/api/v1/sse/subscribe", realtime::sse::subscribe_sse);
    r.listed
}

/// Adds routes to a [`RouteTable`] and remembers them.
struct Routes<'a> {
    table: &'a mut RouteTable,
    listed: Vec<(String, String)>,
}

macro_rules! route_methods {
    ($($name:ident => $method:ident),+ $(,)?) => {
        impl Routes<'_> {
            $(
                fn $name<F, Args>(&mut self, path: &'static str, handler: F)
                where
                    F: Handler<Args>,
                    Args: FromRequest + 'static,
                    F::Output: Responder + 'static,
                {
                    self.table.route(path, web::$name().to(handler));
                    // `{key:.*}` (a tail with slashes) is `{key}` to clients.
                    let documented = path.replace(":.*}", "}");
                    self.listed.push((Method::$method.to_string(), documented));
                }
            )+
        }
    };
}

route_methods!(get => GET, post => POST, put => PUT, patch => PATCH, delete => DELETE);

/// `/docs` → `/docs/`, where the UI's relative asset paths resolve.
async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((actix_web::http::header::LOCATION, "/docs/"))
        .finish()
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(AppError::not_found(
        "route_not_found",
        format!("No route for {} {}.", req.method(), req.path()),
    )
    .into())
}
