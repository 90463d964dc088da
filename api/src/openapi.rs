//! The OpenAPI 3.1 document of the native API, generated from the code
//! (utoipa): every handler's `#[utoipa::path]` and the schemas of the types
//! it reads and answers. Served at `/openapi.json`, with Swagger UI at
//! `/docs` from the `utoipa-swagger-ui` crate (vendored: no CDN, no
//! download at build time).

use std::sync::OnceLock;

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

/// The body of every error answer (ARCHITECTURE §6): `{"detail", "code"}`,
/// plus `field` for a validation error. Rate-limited answers (429) also
/// carry a `Retry-After` header in seconds.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for people.
    pub detail: String,
    /// What went wrong, for programs (stable, snake_case).
    pub code: String,
    /// The request field at fault (validation errors only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The 401 of every authenticated operation.
#[derive(utoipa::IntoResponses)]
pub enum Unauthenticated {
    #[response(
        status = 401,
        description = "`not_authenticated`: no access token; `invalid_token`, `token_expired` or `session_revoked`: a bad, expired or revoked one."
    )]
    NotAuthenticated(ErrorBody),
}

/// What an operation on one chat answers a caller who is not in it.
#[derive(utoipa::IntoResponses)]
pub enum OutsiderErrors {
    #[response(
        status = 403,
        description = "`not_a_member`: the caller is not in the chat."
    )]
    NotAMember(ErrorBody),
    #[response(
        status = 404,
        description = "`chat_not_found`; `not_found`: `chat_id` is not an integer."
    )]
    NoSuchChat(ErrorBody),
}

/// What any operation with a JSON body may answer before it reads it.
#[derive(utoipa::IntoResponses)]
pub enum JsonBodyErrors {
    #[response(
        status = 400,
        description = "`malformed_json`: the body is not one JSON value; `unsupported_content_type`: it is not `application/json`."
    )]
    Malformed(ErrorBody),
    #[response(
        status = 413,
        description = "`payload_too_large`: the body is over 64 KiB."
    )]
    TooLarge(ErrorBody),
}

/// The document's root: every path of [`crate::routes::route_list`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Parley",
        description = "A self-hosted messaging backend: accounts, chats, messages and \
realtime delivery. Authenticate with `Authorization: Bearer <access_token>` from \
`POST /api/v1/auth/login`. Errors are `{\"detail\", \"code\"}` with the status \
given per operation. The realtime protocol (WebSocket `/api/v1/ws`, SSE \
`/api/v1/sse/subscribe`) is described in docs/realtime.md."
    ),
    paths(
        crate::routes::health::health,
        crate::routes::health::live,
        crate::routes::health::ready,
        crate::routes::metrics::metrics,
        crate::routes::auth::register,
        crate::routes::auth::login,
        crate::routes::auth::refresh,
        crate::routes::auth::verify_email,
        crate::routes::auth::resend_verification,
        crate::routes::auth::request_password_reset,
        crate::routes::auth::reset_password,
        crate::routes::auth::two_factor_setup,
        crate::routes::auth::two_factor_enable,
        crate::routes::auth::two_factor_disable,
        crate::routes::auth::me,
        crate::routes::auth::list_sessions,
        crate::routes::auth::revoke_other_sessions,
        crate::routes::auth::revoke_session,
        crate::routes::chats::list_chats,
        crate::routes::chats::create_chat,
        crate::routes::chats::saved,
        crate::routes::chats::discover,
        crate::routes::chats::join_by_invite,
        crate::routes::chats::get_chat,
        crate::routes::chats::delete_chat,
        crate::routes::chats::settings,
        crate::routes::chats::set_settings,
        crate::routes::chats::join,
        crate::routes::chats::create_invite_link,
        crate::routes::chats::list_invite_links,
        crate::routes::chats::revoke_invite_link,
        crate::routes::chats::list_chat_events,
        crate::routes::chats::set_title,
        crate::routes::chats::set_profile,
        crate::routes::chats::pin_message,
        crate::routes::members::leave_chat,
        crate::routes::members::list_members,
        crate::routes::members::add_member,
        crate::routes::members::set_nickname,
        crate::routes::members::remove_member,
        crate::routes::members::set_role,
        crate::routes::chat_prefs::archive,
        crate::routes::chat_prefs::unarchive,
        crate::routes::chat_prefs::pin_chat,
        crate::routes::chat_prefs::unpin_chat,
        crate::routes::chat_prefs::notifications,
        crate::routes::chat_prefs::set_notifications,
        crate::routes::chat_prefs::clear,
        crate::routes::messages::create_message,
        crate::routes::messages::update_status,
        crate::routes::messages::list_edits,
        crate::routes::bulk::bulk_send,
        crate::routes::bulk::job,
        crate::routes::notifications::list,
        crate::routes::notifications::register_device,
        crate::routes::notifications::list_devices,
        crate::routes::notifications::remove_device,
        crate::routes::media::upload_url,
        crate::routes::media::attach,
        crate::routes::media::chat_attachments,
        crate::routes::media::content,
        crate::routes::media::put_file,
        crate::routes::media::get_file,
        crate::routes::messages::thread,
        crate::routes::messages::search,
        crate::routes::search::search_all,
        crate::routes::forwards::forward,
        crate::routes::forwards::forward_bulk,
        crate::routes::reactions::list_reactions,
        crate::routes::reactions::toggle_reaction,
        crate::routes::messages::list_messages,
        crate::routes::messages::update_message,
        crate::routes::messages::delete_message,
        crate::routes::users::me,
        crate::routes::users::update_profile,
        crate::routes::users::search,
        crate::routes::users::list_blocked,
        crate::routes::users::list_contacts,
        crate::routes::users::add_contact_by_email,
        crate::routes::users::get_user,
        crate::routes::users::block,
        crate::routes::users::unblock,
        crate::routes::users::add_contact,
        crate::routes::users::remove_contact,
        crate::routes::chats::get_updates,
        crate::realtime::socket::connect_ws,
        crate::realtime::sse::subscribe_sse,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and readiness."),
        (name = "auth", description = "Accounts, sessions, email verification, password reset, 2FA (seed 004 §5)."),
        (name = "users", description = "Profiles, privacy, search, contacts and blocks (seed 004 §6)."),
        (name = "chats", description = "Chats: create, list, discover, join, invite links, delete (seed 004 §7)."),
        (name = "members", description = "Members, roles, nicknames, leaving (seed 004 §7)."),
        (name = "chat-settings", description = "The caller's own settings of a chat, and the chat's settings."),
        (name = "messages", description = "Messages, edits, deletes and receipts (seed 004 §8)."),
        (name = "media", description = "Uploads, attachments and downloads (seed 004 §9)."),
        (name = "notifications", description = "Notifications and push devices (seed 004 §10)."),
        (name = "realtime", description = "Catch-up and the realtime streams (docs/realtime.md)."),
    )
)]
pub struct ApiDoc;

/// Adds the `bearer` security scheme the operations name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    }
}

/// The document, built once.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(ApiDoc::openapi)
}

/// `/openapi.json` and the Swagger UI at `/docs/`.
pub fn docs_service() -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", document().clone())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// `(METHOD, path)` of every operation in the document.
    fn documented() -> BTreeSet<(String, String)> {
        let json = serde_json::to_value(document()).unwrap_or_default();
        let mut found = BTreeSet::new();
        for (path, item) in json["paths"].as_object().into_iter().flatten() {
            for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
                found.insert((method.to_uppercase(), path.clone()));
            }
        }
        found
    }

    /// The document's string enums are the texts on the wire, not the Rust
    /// variant names (a `text_enum!` once documented `Private` for
    /// `private`; clients generated from it refused real answers).
    #[test]
    fn string_enums_list_the_wire_texts() {
        use parley_shared::domain::kinds::{ChatType, MemberRole, MessageType, Privacy};
        let json = serde_json::to_value(document()).unwrap_or_default();
        let wire = |all: Vec<String>| serde_json::Value::from(all);
        for (name, texts) in [
            (
                "ChatType",
                wire(ChatType::ALL.iter().map(|v| v.to_string()).collect()),
            ),
            (
                "MemberRole",
                wire(MemberRole::ALL.iter().map(|v| v.to_string()).collect()),
            ),
            (
                "MessageType",
                wire(MessageType::ALL.iter().map(|v| v.to_string()).collect()),
            ),
            (
                "Privacy",
                wire(Privacy::ALL.iter().map(|v| v.to_string()).collect()),
            ),
        ] {
            assert_eq!(json["components"]["schemas"][name]["enum"], texts, "{name}");
        }
    }

    #[test]
    fn every_route_is_documented_and_every_documented_path_is_a_route() {
        let routes: BTreeSet<(String, String)> = crate::routes::route_list().into_iter().collect();
        let documented = documented();
        let missing: Vec<_> = routes.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&routes).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "routes missing from /openapi.json: {missing:?}; documented but not routed: {extra:?}"
        );
    }

    #[test]
    fn every_operation_names_its_errors_and_authenticated_ones_their_scheme() {
        let json = serde_json::to_value(document()).unwrap_or_default();
        let public = [
            "/api/v1/auth/register",
            "/api/v1/auth/login",
            "/api/v1/auth/refresh",
            "/api/v1/auth/verify-email",
            "/api/v1/auth/resend-verification",
            "/api/v1/auth/request-password-reset",
            "/api/v1/auth/reset-password",
            // Open, or behind `METRICS_TOKEN` (not a user's token).
            "/metrics",
            // Authenticated by their URL's signature instead.
            "/api/v1/media/files/{key}",
        ];
        for (path, item) in json["paths"].as_object().into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let what = format!("{method} {path}");
                let responses = operation["responses"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                assert!(
                    responses
                        .keys()
                        .any(|s| s.starts_with('2') || s == "101" || s == "302"),
                    "{what}: no success response"
                );
                if path.starts_with("/health") {
                    continue;
                }
                assert!(
                    responses.keys().any(|s| s.starts_with('4')),
                    "{what}: no error response"
                );
                let secured = operation["security"].is_array();
                assert_eq!(
                    secured,
                    !public.contains(&path.as_str()),
                    "{what}: security scheme"
                );
                if secured {
                    assert!(responses.contains_key("401"), "{what}: no 401");
                }
            }
        }
    }

    /// The document as clients see it: a change to any path, body or error
    /// shows up here, to be reviewed (`cargo insta review`) with the code.
    #[test]
    fn the_document_is_pinned() {
        insta::assert_json_snapshot!("openapi", document());
    }
}
