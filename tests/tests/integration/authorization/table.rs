//! The authorization table's rows: one per route (or variant), with the
//! status each persona gets (see the module documentation of
//! `authorization`).

use serde_json::json;

use super::{Row, SKIP, empty_body, route};
use uuid::Uuid;

/// The table. Statuses are `[anonymous, outsider, blocked, member,
/// moderator, admin, owner]`.
pub(super) fn table() -> Vec<Row> {
    vec![
        // Health probes (not per-chat endpoints): no authentication at all,
        // a token changes nothing.
        route("GET", "/health", [200; 7]),
        route("GET", "/health/live", [200; 7]),
        route("GET", "/health/ready", [200; 7]),
        // Metrics: open unless `METRICS_TOKEN` is set (tests/…/metrics.rs).
        route("GET", "/metrics", [200; 7]),
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
