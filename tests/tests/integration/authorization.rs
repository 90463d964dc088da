//! The authorization table: for every route of the native API, the HTTP
//! status each of seven personas gets. One [`Row`] per route (a route may
//! have more than one row, for variants of its query or body), in
//! [`table`]; [`every_route_has_a_row_and_every_row_a_route`] fails when a
//! route of `parley_api::routes::route_list()` (every route `configure()`
//! registers, less the OpenAPI document and its UI) has no row, or a row
//! names no route.
//!
//! Personas, in the order they are asked (`expect` is in this order):
//! anonymous (no token), outsider (logged in, in no chat of the fixture),
//! blocked (logged in, blocked by the owner, not in the group), member,
//! moderator, admin, owner (of the fixture's group).
//!
//! Every row gets a FRESH fixture ([`Fixture`]): new users, a new group
//! owned by `owner` with `member`, `moderator`, `admin` and `target` (a
//! plain member who is not a persona), a message of `target` in it, an
//! invite link made by the owner, and the owner's block of `blocked`. So a
//! row's changes never reach another row. Within one row, though, the
//! personas are asked one after the other in the order above, on the same
//! fixture: an earlier success can shape a later answer (the admin removes
//! `target`, then the owner finds no such member). Bodies are chosen so
//! that this rarely matters (idempotent where the API allows it); where it
//! does, the row's comment says why its later statuses are what they are.
//!
//! Placeholders: `{chat_id}` is the group; `{user_id}` is `target` under
//! `/chats` (member management) and the owner under `/users` (so that the
//! blocked persona meets its blocker); `{id}` is `target`'s message (someone
//! else's message for every persona), except in `GET /api/v1/messages/{id}`,
//! which lists the messages of chat `{id}` (the group); `{link_id}` is the
//! owner's invite link; `{jti}` is the owner's session.
//!
//! A success is checked by its status only; a refusal (4xx, 5xx) must also
//! carry the error envelope `{"detail": string, "code": string}`. `SKIP`
//! in `expect` means "this persona is not asked" (used for the realtime
//! endpoints, which are asked anonymously only).
//!
//! Adding a row: add `route(METHOD, path template, [anonymous, outsider,
//! blocked, member, moderator, admin, owner])` to [`table`], with the path
//! exactly as `route_list()` names it (`/api/v1/chats/{chat_id}/...`), plus
//! `.with_query("?...")` and `.with_body(|f| json!(...))` as needed (the
//! body function is called once per persona, so a body may be unique per
//! request). Read the expected statuses off the domain code
//! (`shared/src/domain/permissions.rs` is the role table), and put a
//! comment on the group saying the rule it encodes.
//!
//! The fixture's users are written straight into the database (one insert
//! of eight users sharing one registered user's password hash, one insert
//! of their sessions, tokens signed with the app's keys as `login` signs
//! them): registering and logging in through the API costs two argon2
//! computations (19 MiB each) per user, which in the unoptimised test
//! build is far too slow for eight users times seventy rows on two cores.
//! Everything after the users (the group, roles, block, message, invite
//! link) goes through the API.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::sql_types::{BigInt, Text};
use diesel_async::AsyncPgConnection;
use parley_shared::infra::tokens::{TokenKeys, TokenKind};
use parley_tests::{Api, TestApp, TestUser};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// The personas, in the order they are asked within one fixture.
const PERSONAS: [&str; 7] = [
    "anonymous",
    "outsider",
    "blocked",
    "member",
    "moderator",
    "admin",
    "owner",
];

/// In `expect`: this persona is not asked.
const SKIP: u16 = 0;

/// Rows checked at once, each on its own fixture.
const WORKERS: usize = 4;

/// The users of a fixture, in the order [`create_users`] returns them.
const ROLES: [&str; 8] = [
    "owner",
    "outsider",
    "blocked",
    "member",
    "moderator",
    "admin",
    "target",
    "candidate",
];

/// One route (or one variant of it) and what each persona gets.
struct Row {
    /// Upper case, as `route_list()` names it.
    method: &'static str,
    /// The path template, as `route_list()` names it.
    path: &'static str,
    /// Appended to the filled path (`?for_all=true`), or empty.
    query: &'static str,
    /// The JSON body, made for each request; `None` sends `{}` (POST, PUT,
    /// PATCH) or nothing (GET, DELETE).
    body: Option<fn(&Fixture) -> Value>,
    /// The status for each persona, in [`PERSONAS`] order; [`SKIP`] = not asked.
    expect: [u16; 7],
}

fn route(method: &'static str, path: &'static str, expect: [u16; 7]) -> Row {
    Row {
        method,
        path,
        query: "",
        body: None,
        expect,
    }
}

impl Row {
    fn with_query(mut self, query: &'static str) -> Row {
        self.query = query;
        self
    }

    fn with_body(mut self, body: fn(&Fixture) -> Value) -> Row {
        self.body = Some(body);
        self
    }
}

/// `{}`: for the public auth routes, a body that does not fit.
fn empty_body(_: &Fixture) -> Value {
    json!({})
}

/// The table. Statuses are `[anonymous, outsider, blocked, member,
/// moderator, admin, owner]`.
fn table() -> Vec<Row> {
    vec![
        // Health probes (not per-chat endpoints): no authentication at all,
        // a token changes nothing.
        route("GET", "/health", [200; 7]),
        route("GET", "/health/live", [200; 7]),
        route("GET", "/health/ready", [200; 7]),
        //
        // Public auth routes: no token needed, so an empty body is refused
        // by validation (422 `validation_error`, JsonBody), never 401/403,
        // whoever asks. Nothing is changed, nothing is rate limited (the
        // body is refused before the limit is counted).
        route("POST", "/api/v1/auth/register", [422; 7]).with_body(empty_body),
        route("POST", "/api/v1/auth/login", [422; 7]).with_body(empty_body),
        route("POST", "/api/v1/auth/refresh", [422; 7]).with_body(empty_body),
        route("POST", "/api/v1/auth/verify-email", [422; 7]).with_body(empty_body),
        route("POST", "/api/v1/auth/resend-verification", [422; 7]).with_body(empty_body),
        route("POST", "/api/v1/auth/request-password-reset", [422; 7]).with_body(empty_body),
        route("POST", "/api/v1/auth/reset-password", [422; 7]).with_body(empty_body),
        //
        // The caller's own account: anyone logged in, for themself only.
        route(
            "GET",
            "/api/v1/auth/me",
            [401, 200, 200, 200, 200, 200, 200],
        ),
        route(
            "GET",
            "/api/v1/auth/sessions",
            [401, 200, 200, 200, 200, 200, 200],
        ),
        // Every session but the current one: each persona has just one.
        route(
            "DELETE",
            "/api/v1/auth/sessions",
            [401, 204, 204, 204, 204, 204, 204],
        ),
        // `{jti}` is the owner's session: another user's session is 404
        // `session_not_found` (accounts.rs `revoke_sessions` only revokes
        // the caller's own); the owner (asked last) logs that session out.
        route(
            "DELETE",
            "/api/v1/auth/sessions/{jti}",
            [401, 404, 404, 404, 404, 404, 204],
        ),
        // Two-factor authentication of the caller's own account. Setup is
        // open to anyone logged in; enable and disable get past
        // authentication and are refused on state (409 `twofa_not_set_up`,
        // `twofa_not_enabled`: no fixture user set 2FA up).
        route(
            "POST",
            "/api/v1/auth/2fa/setup",
            [401, 200, 200, 200, 200, 200, 200],
        ),
        route(
            "POST",
            "/api/v1/auth/2fa/enable",
            [401, 409, 409, 409, 409, 409, 409],
        )
        .with_body(|_| json!({"code": "000000"})),
        route(
            "POST",
            "/api/v1/auth/2fa/disable",
            [401, 409, 409, 409, 409, 409, 409],
        )
        .with_body(|_| json!({"code": "000000"})),
        //
        // The caller's own chat list, saved messages and discovery: anyone
        // logged in.
        route("GET", "/api/v1/chats", [401, 200, 200, 200, 200, 200, 200]),
        route(
            "GET",
            "/api/v1/chats/saved",
            [401, 200, 200, 200, 200, 200, 200],
        ),
        route(
            "GET",
            "/api/v1/chats/discover",
            [401, 200, 200, 200, 200, 200, 200],
        ),
        route(
            "GET",
            "/api/v1/updates",
            [401, 200, 200, 200, 200, 200, 200],
        ),
        // Creating a group with the owner in it: anyone logged in, except
        // across a block (403 `blocked`, chats.rs `create_chat`,
        // `blocks::either_way`). The owner's own id is dropped from
        // `member_ids`, so the owner makes a group of one.
        route("POST", "/api/v1/chats", [401, 200, 403, 200, 200, 200, 200]).with_body(
            |f| json!({"type": "group", "title": "Side room", "member_ids": [f.owner.id]}),
        ),
        // A private chat with the owner: refused across a block (403
        // `blocked`); for the owner it is a chat with themself (422
        // `member_ids`: "A private chat needs another user").
        route("POST", "/api/v1/chats", [401, 200, 403, 200, 200, 200, 422])
            .with_body(|f| json!({"type": "private", "member_ids": [f.owner.id]})),
        //
        // Joining by the owner's invite link: anyone logged in holding the
        // token (invites.rs `join_by_invite`). The outsider and the blocked
        // persona join (200); members are already in (200, nothing
        // changes). QUESTION: no block check here, so a user the owner
        // blocked joins the owner's group (add_member would refuse 403
        // `blocked`).
        route(
            "POST",
            "/api/v1/chats/join-by-invite",
            [401, 200, 200, 200, 200, 200, 200],
        )
        .with_body(|f| json!({"token": f.link_token})),
        // Joining a public chat: the fixture's group is not public, so
        // everyone logged in, members too, gets 403 `chat_not_public`
        // (public_chats.rs `join` checks the chat before the membership).
        route(
            "POST",
            "/api/v1/chats/{chat_id}/join",
            [401, 403, 403, 403, 403, 403, 403],
        ),
        //
        // Reading the chat: any member (chats.rs `require_member`); outsiders,
        // blocked or not, 403 `not_a_member`.
        route(
            "GET",
            "/api/v1/chats/{chat_id}",
            [401, 403, 403, 200, 200, 200, 200],
        ),
        route(
            "GET",
            "/api/v1/chats/{chat_id}/settings",
            [401, 403, 403, 200, 200, 200, 200],
        ),
        route(
            "GET",
            "/api/v1/chats/{chat_id}/events",
            [401, 403, 403, 200, 200, 200, 200],
        ),
        route(
            "GET",
            "/api/v1/chats/{chat_id}/members",
            [401, 403, 403, 200, 200, 200, 200],
        ),
        route(
            "GET",
            "/api/v1/messages/{id}",
            [401, 403, 403, 200, 200, 200, 200],
        ),
        route(
            "GET",
            "/api/v1/messages/{id}/edits",
            [401, 403, 403, 200, 200, 200, 200],
        ),
        // A bulk send is anyone's (to themself: a failure, not an error);
        // a job only its owner's (the fixture has no job: 404).
        route(
            "POST",
            "/api/v1/messages/bulk",
            [401, 201, 201, 201, 201, 201, 201],
        )
        .with_body(|f| json!({"receiver_ids": [f.target.id], "text": "Notice", "client_message_id": uuid::Uuid::new_v4().to_string()})),
        route(
            "GET",
            "/api/v1/jobs/{id}",
            [401, 404, 404, 404, 404, 404, 404],
        ),
        // Media: anyone logged in asks for an upload URL; attaching needs
        // one's own message (every persona meets `target`'s: not theirs,
        // or not their chat); a chat's files are its members'; `{id}` of
        // a download is no attachment (404 for all). The local store's
        // files take no token: a URL Parley did not sign is 403 for all.
        route(
            "POST",
            "/api/v1/media/upload-url",
            [401, 200, 200, 200, 200, 200, 200],
        )
        .with_body(|_| json!({"file_name": "a.png", "file_type": "image/png", "file_size": 10})),
        route(
            "POST",
            "/api/v1/media/attachments",
            [401, 403, 403, 403, 403, 403, 403],
        )
        .with_body(|f| json!({"message_id": f.message_id, "file_type": "image/png", "file_size": 10,
                               "file_url": "http://127.0.0.1:8080/api/v1/media/files/uploads/1/a.png"})),
        route(
            "GET",
            "/api/v1/media/chats/{chat_id}/attachments",
            [401, 403, 403, 200, 200, 200, 200],
        ),
        route(
            "GET",
            "/api/v1/media/attachments/{id}/content",
            [401, 404, 404, 404, 404, 404, 404],
        ),
        route(
            "PUT",
            "/api/v1/media/files/{key}",
            [403, 403, 403, 403, 403, 403, 403],
        )
        .with_query("?expires=4102444800&sig=00&type=image%2Fpng&size=1"),
        route(
            "GET",
            "/api/v1/media/files/{key}",
            [403, 403, 403, 403, 403, 403, 403],
        )
        .with_query("?expires=4102444800&sig=00"),
        // Notifications and devices are one's own; `{id}` of a device is
        // no device (404 for all).
        route(
            "GET",
            "/api/v1/notifications",
            [401, 200, 200, 200, 200, 200, 200],
        ),
        route(
            "POST",
            "/api/v1/devices",
            [401, 200, 200, 200, 200, 200, 200],
        )
        .with_body(|_| json!({"platform": "fcm", "token": uuid::Uuid::new_v4().to_string()})),
        route(
            "GET",
            "/api/v1/devices",
            [401, 200, 200, 200, 200, 200, 200],
        ),
        route(
            "DELETE",
            "/api/v1/devices/{id}",
            [401, 404, 404, 404, 404, 404, 404],
        ),
        // Search finds what the caller may read: anyone logged in.
        route(
            "GET",
            "/api/v1/search",
            [401, 200, 200, 200, 200, 200, 200],
        )
        .with_query("?query=hello"),
        route(
            "GET",
            "/api/v1/messages/search",
            [401, 200, 200, 200, 200, 200, 200],
        )
        .with_query("?query=hello"),
        route(
            "GET",
            "/api/v1/messages/{id}/thread",
            [401, 403, 403, 200, 200, 200, 200],
        ),
        route(
            "GET",
            "/api/v1/messages/{id}/reactions",
            [401, 403, 403, 200, 200, 200, 200],
        ),
        // Any member reacts (reactions.rs); each persona toggles their own.
        route(
            "POST",
            "/api/v1/messages/{id}/reactions/toggle",
            [401, 403, 403, 200, 200, 200, 200],
        )
        .with_body(|_| json!({"emoji": "👍"})),
        // Forwarding `target`'s message into the group itself: whoever can
        // read it and post there (forwards.rs); outsiders cannot read it.
        route(
            "POST",
            "/api/v1/messages/{id}/forward",
            [401, 403, 403, 201, 201, 201, 201],
        )
        .with_body(|f| json!({"target_chat_id": f.chat_id})),
        route(
            "POST",
            "/api/v1/messages/{id}/forward-bulk",
            [401, 403, 403, 201, 201, 201, 201],
        )
        .with_body(|f| json!({"target_chat_ids": [f.chat_id]})),
        //
        // A member's own settings of the chat (chat_prefs.rs) and own
        // nickname: any member, for themself.
        route(
            "POST",
            "/api/v1/chats/{chat_id}/archive",
            [401, 403, 403, 200, 200, 200, 200],
        ),
        route(
            "POST",
            "/api/v1/chats/{chat_id}/unarchive",
            [401, 403, 403, 200, 200, 200, 200],
        ),
        route(
            "POST",
            "/api/v1/chats/{chat_id}/pin-chat",
            [401, 403, 403, 200, 200, 200, 200],
        ),
        route(
            "POST",
            "/api/v1/chats/{chat_id}/unpin-chat",
            [401, 403, 403, 200, 200, 200, 200],
        ),
        route(
            "GET",
            "/api/v1/chats/{chat_id}/notifications",
            [401, 403, 403, 200, 200, 200, 200],
        ),
        route(
            "PUT",
            "/api/v1/chats/{chat_id}/notifications",
            [401, 403, 403, 200, 200, 200, 200],
        )
        .with_body(|_| json!({"muted": true})),
        route(
            "POST",
            "/api/v1/chats/{chat_id}/clear",
            [401, 403, 403, 204, 204, 204, 204],
        ),
        route(
            "PATCH",
            "/api/v1/chats/{chat_id}/members/me",
            [401, 403, 403, 200, 200, 200, 200],
        )
        .with_body(|_| json!({"nickname": "Nick"})),
        // Receipts: any member moves their own positions.
        route(
            "POST",
            "/api/v1/messages/status",
            [401, 403, 403, 200, 200, 200, 200],
        )
        .with_body(
            |f| json!({"chat_id": f.chat_id, "message_id": f.message_id, "status": "message_read"}),
        ),
        //
        // Leaving: any member leaves themself (members.rs `leave_chat`);
        // each persona leaves only itself, so every member's answer is 204
        // (the owner, last, hands the chat to `target`).
        route(
            "POST",
            "/api/v1/chats/{chat_id}/leave",
            [401, 403, 403, 204, 204, 204, 204],
        ),
        // Deleting the chat "for me": in a group that is leaving it
        // (chat_delete.rs `delete_for_me`), as above.
        route(
            "DELETE",
            "/api/v1/chats/{chat_id}",
            [401, 403, 403, 204, 204, 204, 204],
        ),
        // Deleting the chat for everyone: the owner only (permissions.rs
        // DeleteChat); others 403 `not_chat_owner`.
        route(
            "DELETE",
            "/api/v1/chats/{chat_id}",
            [401, 403, 403, 403, 403, 403, 204],
        )
        .with_query("?for_all=true"),
        //
        // The chat's settings: owner and admins (permissions.rs
        // ChangeSettings); others 403 `not_chat_admin`. The owner sets what
        // the admin set already: no change, still 200.
        route(
            "PUT",
            "/api/v1/chats/{chat_id}/settings",
            [401, 403, 403, 403, 403, 200, 200],
        )
        .with_body(|_| json!({"read_receipts_enabled": false})),
        // Title and profile: owner and admins (permissions.rs EditChatInfo);
        // others 403 `not_chat_admin`.
        route(
            "PATCH",
            "/api/v1/chats/{chat_id}/title",
            [401, 403, 403, 403, 403, 200, 200],
        )
        .with_body(|_| json!({"title": "Renamed"})),
        route(
            "PATCH",
            "/api/v1/chats/{chat_id}/profile",
            [401, 403, 403, 403, 403, 200, 200],
        )
        .with_body(|_| json!({"description": "What this group is about"})),
        // Pinning a message: owner, admins and moderators (permissions.rs
        // PinMessage); a plain member 403 `not_chat_admin`. Pinning what is
        // pinned already is a 200 without a change.
        route(
            "POST",
            "/api/v1/chats/{chat_id}/pin",
            [401, 403, 403, 403, 200, 200, 200],
        )
        .with_body(|f| json!({"message_id": f.message_id})),
        //
        // Invite links: owner and admins (invites.rs `require_inviter`,
        // permissions.rs AddMember); others 403 `not_chat_admin`. Revoking
        // a revoked link again is 204.
        route(
            "POST",
            "/api/v1/chats/{chat_id}/invite-link",
            [401, 403, 403, 403, 403, 200, 200],
        ),
        route(
            "GET",
            "/api/v1/chats/{chat_id}/invite-links",
            [401, 403, 403, 403, 403, 200, 200],
        ),
        route(
            "DELETE",
            "/api/v1/chats/{chat_id}/invite-links/{link_id}",
            [401, 403, 403, 403, 403, 204, 204],
        ),
        //
        // Adding a member: owner and admins (permissions.rs AddMember);
        // others 403 `not_chat_admin`. The admin adds `candidate` (201);
        // the owner, asked next, gets 409 `already_member` (which comes
        // after the permission check, so the owner was allowed).
        route(
            "POST",
            "/api/v1/chats/{chat_id}/members",
            [401, 403, 403, 403, 403, 201, 409],
        )
        .with_body(|f| json!({"user_id": f.candidate.id})),
        // Removing `target` (a plain member): owner and admins, of a lower
        // rank (permissions.rs RemoveMember, `can_act_on`); others 403
        // `not_chat_admin`. The admin removes `target` (204); the owner,
        // asked next, gets 404 `member_not_found` (after the permission
        // check).
        route(
            "DELETE",
            "/api/v1/chats/{chat_id}/members/{user_id}",
            [401, 403, 403, 403, 403, 204, 404],
        ),
        // Changing `target`'s role: the owner only (permissions.rs
        // ChangeRole); admins too get 403 `not_chat_admin`.
        route(
            "PATCH",
            "/api/v1/chats/{chat_id}/members/{user_id}/role",
            [401, 403, 403, 403, 403, 403, 200],
        )
        .with_body(|_| json!({"role": "moderator"})),
        //
        // Sending: any member of a group (permissions.rs PostMessage);
        // outsiders 403 `not_a_member`. A unique text and
        // client_message_id per request.
        route(
            "POST",
            "/api/v1/messages",
            [401, 403, 403, 201, 201, 201, 201],
        )
        .with_body(|f| {
            json!({
                "chat_id": f.chat_id,
                "text": format!("Table message {}", Uuid::new_v4()),
                "client_message_id": Uuid::new_v4().to_string(),
            })
        }),
        // Editing `target`'s message: its sender only, whatever the role
        // (messages.rs `edit_message`): members 403 `not_message_sender`,
        // outsiders 403 `not_a_member`.
        route(
            "PUT",
            "/api/v1/messages/{id}",
            [401, 403, 403, 403, 403, 403, 403],
        )
        .with_body(|_| json!({"text": "Edited by someone else"})),
        // Deleting `target`'s message for everyone: the sender, owner,
        // admins and moderators (permissions.rs DeleteOthersMessage); a
        // plain member 403 `cannot_delete_for_all`. The moderator deletes
        // it; admin and owner delete it again, which is not an error (204).
        route(
            "DELETE",
            "/api/v1/messages/{id}",
            [401, 403, 403, 403, 204, 204, 204],
        )
        .with_query("?for_all=true"),
        // Deleting it for oneself: any member (each hides it for themself).
        route(
            "DELETE",
            "/api/v1/messages/{id}",
            [401, 403, 403, 204, 204, 204, 204],
        ),
        //
        // The caller's own profile, contacts, blocks and search: anyone
        // logged in. Adding oneself by email is a silent no-op (204).
        route(
            "GET",
            "/api/v1/users/me",
            [401, 200, 200, 200, 200, 200, 200],
        ),
        route(
            "PUT",
            "/api/v1/users/profile",
            [401, 200, 200, 200, 200, 200, 200],
        )
        .with_body(|_| json!({"bio": "Reads the authorization table."})),
        route(
            "GET",
            "/api/v1/users/search",
            [401, 200, 200, 200, 200, 200, 200],
        )
        .with_query("?query=owner"),
        route(
            "GET",
            "/api/v1/users/blocked",
            [401, 200, 200, 200, 200, 200, 200],
        ),
        route(
            "GET",
            "/api/v1/users/contacts",
            [401, 200, 200, 200, 200, 200, 200],
        ),
        route(
            "POST",
            "/api/v1/users/contacts/by-email",
            [401, 204, 204, 204, 204, 204, 204],
        )
        .with_body(|f| json!({"email": f.owner.email})),
        // Another user (`{user_id}` = the owner): anyone logged in reads
        // the profile (privacy applied; no block rule: the blocked persona
        // reads its blocker's profile too); blocks and contacts of oneself
        // are 422 (blocks.rs `require_other`, users.rs `add_contact`), and
        // removing oneself as a contact is an idempotent 204 (no self
        // check in users.rs `remove_contact`). The blocked persona may
        // block (and unblock) its blocker back.
        route(
            "GET",
            "/api/v1/users/{user_id}",
            [401, 200, 200, 200, 200, 200, 200],
        ),
        route(
            "POST",
            "/api/v1/users/{user_id}/block",
            [401, 204, 204, 204, 204, 204, 422],
        ),
        route(
            "DELETE",
            "/api/v1/users/{user_id}/block",
            [401, 204, 204, 204, 204, 204, 422],
        ),
        route(
            "POST",
            "/api/v1/users/{user_id}/contacts",
            [401, 204, 204, 204, 204, 204, 422],
        ),
        route(
            "DELETE",
            "/api/v1/users/{user_id}/contacts",
            [401, 204, 204, 204, 204, 204, 204],
        ),
        //
        // Realtime (not per-chat endpoints): asked anonymously only, with a
        // plain GET (no upgrade headers): 401 `not_authenticated` comes
        // from the AuthUser extractor before the handshake. With a token
        // the socket would answer 400 (not a WebSocket request) and the SSE
        // stream would never end, so the other personas are not asked.
        route(
            "GET",
            "/api/v1/ws",
            [401, SKIP, SKIP, SKIP, SKIP, SKIP, SKIP],
        ),
        route(
            "GET",
            "/api/v1/sse/subscribe",
            [401, SKIP, SKIP, SKIP, SKIP, SKIP, SKIP],
        ),
    ]
}

#[test]
fn every_route_has_a_row_and_every_row_a_route() {
    let routes: BTreeSet<(String, String)> = parley_api::routes::route_list().into_iter().collect();
    let rows: BTreeSet<(String, String)> = table()
        .into_iter()
        .map(|row| (row.method.to_owned(), row.path.to_owned()))
        .collect();
    let missing: Vec<String> = routes
        .difference(&rows)
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    let extra: Vec<String> = rows
        .difference(&routes)
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes without a row: {missing:#?}\nrows without a route: {extra:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_persona_gets_the_status_of_its_row() {
    let app = TestApp::spawn().await;
    // The one user registered through the API: its password hash is
    // shared by every fixture user (see the module documentation).
    let seed = app.api.register_and_login("authz_seed").await;
    let rows = Arc::new(table());
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let api = app.api.clone();
        let rows = Arc::clone(&rows);
        let next = Arc::clone(&next);
        let seed = seed.clone();
        let settings = app.settings();
        let mut conn = app
            .db
            .connect()
            .await
            .expect("connect to the test database");
        workers.push(tokio::spawn(async move {
            let keys = TokenKeys::from_settings(&settings);
            let mut failures = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(row) = rows.get(index) else {
                    break;
                };
                let fixture = Fixture::build(&api, &mut conn, &keys, &seed, index).await;
                failures.extend(check(&api, index, row, &fixture).await);
            }
            failures
        }));
    }
    let mut failures = Vec::new();
    for worker in workers {
        failures.extend(worker.await.expect("a worker of the table panicked"));
    }
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} answers differ from the authorization table:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Asks every persona of `row` (in [`PERSONAS`] order) on `f`; returns
/// what differs from the row.
async fn check(api: &Api, index: usize, row: &Row, f: &Fixture) -> Vec<String> {
    let path = fill(row, f);
    let mut failures = Vec::new();
    for (i, persona) in PERSONAS.iter().enumerate() {
        let want = row.expect[i];
        if want == SKIP {
            continue;
        }
        let token = f.persona(i).map(|user| user.access_token.as_str());
        let body = row.body.map(|make| make(f));
        let (status, answer) = send(api, row.method, &path, token, body).await;
        let what = format!(
            "row {index}: {} {}{} ({path}) as {persona}",
            row.method, row.path, row.query
        );
        let enveloped = answer["detail"].is_string() && answer["code"].is_string();
        if status.as_u16() != want {
            failures.push(format!("{what}: expected {want}, got {status}: {answer}"));
        } else if want >= 400 && !enveloped {
            failures.push(format!(
                "{what}: {status} without the error envelope: {answer}"
            ));
        }
    }
    failures
}

/// The row's path with the fixture's ids in it, and its query.
fn fill(row: &Row, f: &Fixture) -> String {
    let user_id = if row.path.starts_with("/api/v1/users/") {
        f.owner.id
    } else {
        f.target.id
    };
    // `GET /messages/{id}` lists the messages of chat `{id}`.
    // `/jobs/{id}`: a job id (the fixture starts none, so nobody's).
    let id = if row.method == "GET" && row.path == "/api/v1/messages/{id}" {
        f.chat_id.to_string()
    } else if row.path.starts_with("/api/v1/jobs/") {
        uuid::Uuid::nil().to_string()
    } else {
        f.message_id.to_string()
    };
    let path = row
        .path
        .replace("{chat_id}", &f.chat_id.to_string())
        .replace("{user_id}", &user_id.to_string())
        .replace("{id}", &id)
        .replace("{link_id}", &f.link_id.to_string())
        .replace("{jti}", &f.owner_session.to_string())
        .replace("{key}", "uploads/1/a.png");
    assert!(
        !path.contains('{'),
        "a placeholder without a value in {}",
        row.path
    );
    format!("{path}{}", row.query)
}

async fn send(
    api: &Api,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let body = body.unwrap_or_else(|| json!({}));
    match method {
        "GET" => api.get(path, token).await,
        "POST" => api.post(path, token, &body).await,
        "PUT" => api.put(path, token, &body).await,
        "PATCH" => api.patch_json(path, token, &body).await,
        "DELETE" => api.delete(path, token).await,
        other => panic!("no client for the method {other}"),
    }
}

/// What one row runs on (see the module documentation).
struct Fixture {
    owner: TestUser,
    outsider: TestUser,
    blocked: TestUser,
    member: TestUser,
    moderator: TestUser,
    admin: TestUser,
    /// A plain member, not a persona: `{user_id}` of member management and
    /// the sender of `{id}`.
    target: TestUser,
    /// A user in no chat, not a persona: whom `POST /members` adds.
    candidate: TestUser,
    chat_id: i64,
    /// `target`'s message in the group: `{id}`.
    message_id: i64,
    /// The owner's invite link: `{link_id}` and its token.
    link_id: i64,
    link_token: String,
    /// The owner's session: `{jti}`.
    owner_session: Uuid,
}

impl Fixture {
    /// New users (named after `index`, the row's), the group, the roles,
    /// the block, the message and the invite link.
    async fn build(
        api: &Api,
        conn: &mut AsyncPgConnection,
        keys: &TokenKeys,
        seed: &TestUser,
        index: usize,
    ) -> Fixture {
        let users: [(TestUser, Uuid); 8] = create_users(conn, keys, seed, index)
            .await
            .try_into()
            .expect("one user per role");
        let [
            (owner, owner_session),
            (outsider, _),
            (blocked, _),
            (member, _),
            (moderator, _),
            (admin, _),
            (target, _),
            (candidate, _),
        ] = users;
        let owner_token = Some(owner.access_token.as_str());
        let chat_id = api
            .group(&owner, &[&member, &moderator, &admin, &target])
            .await;
        for (user, role) in [(&moderator, "moderator"), (&admin, "admin")] {
            let (status, answer) = api
                .patch_json(
                    &format!("/api/v1/chats/{chat_id}/members/{}/role", user.id),
                    owner_token,
                    &json!({"role": role}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "make the {role}: {answer}");
        }
        let (status, answer) = api
            .post(
                &format!("/api/v1/users/{}/block", blocked.id),
                owner_token,
                &json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "block: {answer}");
        let message = api
            .send_text(&target, chat_id, &format!("Fixture message of row {index}"))
            .await;
        let message_id = message["id"].as_i64().expect("message id");
        let (status, invite) = api
            .post(
                &format!("/api/v1/chats/{chat_id}/invite-link"),
                owner_token,
                &json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "invite link: {invite}");
        let link_id = invite["id"].as_i64().expect("invite link id");
        let link_token = invite["token"]
            .as_str()
            .expect("invite link token")
            .to_owned();
        Fixture {
            owner,
            outsider,
            blocked,
            member,
            moderator,
            admin,
            target,
            candidate,
            chat_id,
            message_id,
            link_id,
            link_token,
            owner_session,
        }
    }

    /// The persona at `index` of [`PERSONAS`]; `None` for anonymous.
    fn persona(&self, index: usize) -> Option<&TestUser> {
        match index {
            0 => None,
            1 => Some(&self.outsider),
            2 => Some(&self.blocked),
            3 => Some(&self.member),
            4 => Some(&self.moderator),
            5 => Some(&self.admin),
            _ => Some(&self.owner),
        }
    }
}

#[derive(diesel::QueryableByName)]
struct CreatedUser {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    username: String,
}

/// The users of row `index`, in [`ROLES`] order (`r{index}_{role}`), each
/// with an active session of its own and that session's id: what register
/// and login would make, without their two argon2 computations (the
/// password hash is the seed's, so `password` is the seed's too).
async fn create_users(
    conn: &mut AsyncPgConnection,
    keys: &TokenKeys,
    seed: &TestUser,
    index: usize,
) -> Vec<(TestUser, Uuid)> {
    let values = ROLES
        .iter()
        .map(|role| format!("('r{index}_{role}@example.com', '{role} {index}', 'r{index}_{role}')"))
        .collect::<Vec<String>>()
        .join(", ");
    let seed_id = seed.id;
    let sql = format!(
        "INSERT INTO users (email, name, username, password_hash) \
         SELECT v.email, v.name, v.username, s.password_hash \
           FROM (VALUES {values}) AS v (email, name, username) \
           JOIN users s ON s.id = {seed_id} \
         RETURNING id, username"
    );
    let created: Vec<CreatedUser> =
        diesel_async::RunQueryDsl::load(diesel::sql_query(sql), &mut *conn)
            .await
            .expect("insert the fixture's users");
    let ids: HashMap<String, i64> = created
        .into_iter()
        .map(|user| (user.username, user.id))
        .collect();
    let mut users = Vec::new();
    let mut sessions = Vec::new();
    for role in ROLES {
        let username = format!("r{index}_{role}");
        let id = ids[&username];
        let sid = Uuid::new_v4();
        let refresh_jti = Uuid::new_v4();
        sessions.push(format!(
            "('{sid}', {id}, '{refresh_jti}', now() + interval '1 day')"
        ));
        let user = TestUser {
            id,
            email: format!("{username}@example.com"),
            password: seed.password.clone(),
            access_token: keys
                .sign(id, sid, Uuid::new_v4(), TokenKind::Access)
                .expect("sign an access token"),
            refresh_token: keys
                .sign(id, sid, refresh_jti, TokenKind::Refresh)
                .expect("sign a refresh token"),
        };
        users.push((user, sid));
    }
    let sessions = sessions.join(", ");
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "INSERT INTO sessions (jti, user_id, refresh_jti, expires_at) VALUES {sessions}"
        )),
        &mut *conn,
    )
    .await
    .expect("insert the fixture's sessions");
    users
}
