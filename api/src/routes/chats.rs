//! `/api/v1/chats` (seed 004 §7).

use actix_web::{HttpResponse, web};
use parley_shared::domain::catchup::{self, ChatEventsQuery, UpdatesQuery};
use parley_shared::domain::chat_delete::{self, DeleteChatQuery};
use parley_shared::domain::chat_info::{
    self, ChatProfileUpdate, ChatSettingsUpdate, PinRequest, TitleRequest,
};
use parley_shared::domain::chats::{self, ChatCreateRequest, ListChatsQuery};
use parley_shared::domain::invites::{self, InviteOptions, JoinByInviteRequest};
use parley_shared::domain::public_chats::{self, DiscoverQuery};
use parley_shared::wire::native::dto::{
    ChatDetailRead, ChatDiscoverRead, ChatEventsPage, ChatRead, ChatSettingsRead,
    InviteLinkCreatedRead, InviteLinkRead, UpdatesPage,
};
use parley_shared::wire::native::render;

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::openapi::{ErrorBody, JsonBodyErrors, OutsiderErrors, Unauthenticated};
use crate::state::ApiState;

/// Create a chat: a private chat, a group or a channel.
///
/// `type: "private"`: the chat of the caller and the one user in
/// `member_ids`. It is get-or-create: when the pair's chat exists it is
/// answered (and shown again if the caller had deleted it for themself).
/// No block may stand between the two, and a new chat needs the other user
/// to accept private messages (`allow_private_messages`).
///
/// `type: "group"` or `"channel"`: the caller becomes its `owner` and
/// `member_ids` (up to 1,000, duplicates and the caller ignored) its
/// members. `title` 1–128 characters, `description` up to 1,024; a public
/// chat (`is_public: true`) needs a unique `handle` (3–32 letters, digits or
/// `_`). Each member must exist, have no block with the caller and allow
/// the caller to add them (`privacy_group_invites`). In a channel only
/// owners and admins post.
///
/// Both cases answer 200 with the chat as the caller sees it; the members'
/// sockets hear `chat_created`.
#[utoipa::path(
    post,
    path = "/api/v1/chats",
    tag = "chats",
    request_body = ChatCreateRequest,
    responses(
        (status = 200, description = "The chat, new or (private) existing.", body = ChatRead),
        JsonBodyErrors,
        Unauthenticated,
        (status = 403, description = "`private_messages_disabled`: the other user does not accept private chats; `blocked`: a block stands between the caller and a member; `group_invites_restricted`: a member's `privacy_group_invites` does not let the caller add them.", body = ErrorBody),
        (status = 404, description = "`user_not_found`: a user in `member_ids` does not exist.", body = ErrorBody),
        (status = 409, description = "`handle_taken`.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field`: `type`, `title`, `description`, `handle`, `is_public` (a private chat cannot be public) or `member_ids` (a private chat needs exactly one other user; at most 1,000), or a field of the wrong type.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_chat(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<ChatCreateRequest>,
) -> ApiResult<HttpResponse> {
    let (chat, _created) = chats::create_chat(&state.ctx, &caller, body.0).await?;
    Ok(HttpResponse::Ok().json(render::chat_view(&chat)))
}

/// List the caller's chats, most recent activity first.
///
/// Each chat carries its last message, `unread_count`,
/// `unread_mentions_count` and `members_count`, as the caller sees them
/// (messages they hid or cleared do not count). The main list leaves out
/// archived chats (`archived=true` lists only those) and chats the caller
/// deleted for themself until a new message arrives. `query` keeps the
/// chats whose title (or, for a private chat, the other user's name)
/// contains it, case-insensitive. Page with `before_id`: the id of the last
/// chat of the previous page. `limit` 1–100, default 50.
#[utoipa::path(
    get,
    path = "/api/v1/chats",
    tag = "chats",
    params(ListChatsQuery),
    responses(
        (status = 200, description = "A page of the caller's chats.", body = [ChatRead]),
        Unauthenticated,
        (status = 422, description = "`validation_error`, with `field`: `limit` outside 1..=100; `before_id` that is not one of the caller's chats; `query` when the query string does not parse.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_chats(
    state: web::Data<ApiState>,
    caller: AuthUser,
    query: web::Query<ListChatsQuery>,
) -> ApiResult<HttpResponse> {
    let list = chats::list_chats(&state.ctx, &caller, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::chat_views(&list)))
}

/// Get one chat, with its members.
///
/// The chat as the caller sees it (like an item of `GET /api/v1/chats`)
/// plus `members`, in joining order.
#[utoipa::path(
    get,
    path = "/api/v1/chats/{chat_id}",
    tag = "chats",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    responses(
        (status = 200, description = "The chat with its members.", body = ChatDetailRead),
        Unauthenticated,
        OutsiderErrors,
    ),
    security(("bearer" = []))
)]
pub async fn get_chat(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let chat = chats::get_chat(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::chat_detail(&chat)))
}

/// Delete a chat, for the caller or for everyone.
///
/// `for_all=true` deletes it for every member: allowed to a group's or
/// channel's owner and to either member of a private chat. Every member's
/// sockets (and catch-up) get `chat_deleted` as the chat's last event;
/// from then on the chat answers 404.
///
/// Without `for_all` (the default), only the caller's view: a group or
/// channel is left (as `POST /api/v1/chats/{chat_id}/leave`); a private
/// chat has its history cleared for the caller and leaves their chat list
/// until a new message arrives (the other member keeps theirs).
#[utoipa::path(
    delete,
    path = "/api/v1/chats/{chat_id}",
    tag = "chats",
    params(("chat_id" = i64, Path, description = "The chat's id."), DeleteChatQuery),
    responses(
        (status = 204, description = "Deleted."),
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the chat; `not_chat_owner`: `for_all=true` in a group or channel the caller does not own.", body = ErrorBody),
        (status = 404, description = "`chat_not_found`; `not_found`: `chat_id` is not an integer.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field: \"query\"`: the query string does not parse (`for_all` must be `true` or `false`).", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete_chat(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<DeleteChatQuery>,
) -> ApiResult<HttpResponse> {
    chat_delete::delete_chat(&state.ctx, &caller, path.into_inner(), &query).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Get a chat's settings.
///
/// `retention_days` (`null`: messages are kept for ever) and
/// `read_receipts_enabled`. Any member may read them.
#[utoipa::path(
    get,
    path = "/api/v1/chats/{chat_id}/settings",
    tag = "chat-settings",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    responses(
        (status = 200, description = "The chat's settings.", body = ChatSettingsRead),
        Unauthenticated,
        OutsiderErrors,
    ),
    security(("bearer" = []))
)]
pub async fn settings(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let settings = chat_info::settings(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::chat_settings(&settings)))
}

/// Change a chat's settings.
///
/// Each field present is set: `retention_days` 1–3650, or `null` to keep
/// messages for ever; `read_receipts_enabled` (when off, a member's
/// `message_read` reaches only their own devices). Allowed to an owner or
/// admin of a group or channel, and to either member of a private chat.
/// The members hear `chat_updated`; a body that changes nothing changes
/// and logs nothing.
#[utoipa::path(
    put,
    path = "/api/v1/chats/{chat_id}/settings",
    tag = "chat-settings",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    request_body = ChatSettingsUpdate,
    responses(
        (status = 200, description = "The chat's settings as they now are.", body = ChatSettingsRead),
        JsonBodyErrors,
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the chat; `not_chat_admin`: only the owner and admins may change a group's or channel's settings.", body = ErrorBody),
        (status = 404, description = "`chat_not_found`; `not_found`: `chat_id` is not an integer.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field`: `retention_days` outside 1..=3650, or a field of the wrong type.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn set_settings(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: JsonBody<ChatSettingsUpdate>,
) -> ApiResult<HttpResponse> {
    let settings = chat_info::set_settings(&state.ctx, &caller, path.into_inner(), &body.0).await?;
    Ok(HttpResponse::Ok().json(render::chat_settings(&settings)))
}

/// Catch up on one chat: its events after a seq.
///
/// The events of the chat's log with `seq > after_seq`, in order: the same
/// frames a socket would have received (docs/realtime.md). A message the
/// caller hid or cleared appears as a `message_hidden` stub with its seq,
/// so seqs stay contiguous. Continue from `next_after_seq` while
/// `has_more`. When the log no longer reaches back to `after_seq`
/// (retention), `resync_required` is `true`: reload the chat instead.
/// `limit` 1–1000, default 100.
#[utoipa::path(
    get,
    path = "/api/v1/chats/{chat_id}/events",
    tag = "realtime",
    params(("chat_id" = i64, Path, description = "The chat's id."), ChatEventsQuery),
    responses(
        (status = 200, description = "A page of the chat's events.", body = ChatEventsPage),
        Unauthenticated,
        OutsiderErrors,
        (status = 422, description = "`validation_error`, with `field`: `limit` outside 1..=1000; `after_seq` below 0; `query` when the query string does not parse.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_chat_events(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<ChatEventsQuery>,
) -> ApiResult<HttpResponse> {
    let events =
        catchup::chat_events(&state.ctx, &caller, path.into_inner(), query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::chat_events_page(&events)))
}

/// Catch up on every chat of the caller.
///
/// Without `since`: no events, and the current `token`. With
/// `since=<token>` (from an earlier answer): for each chat that changed
/// since, its events (as in `GET /api/v1/chats/{chat_id}/events`), plus the
/// chats the caller left (`left_chat_ids`) and the next `token`. Call again
/// at once while `has_more`. A chat new to the token is replayed from its
/// start when the log still holds it, else marked `resync_required`.
/// `limit` (events per chat) 1–1000, default 100.
#[utoipa::path(
    get,
    path = "/api/v1/updates",
    tag = "realtime",
    params(UpdatesQuery),
    responses(
        (status = 200, description = "The changes since the token, and the next token.", body = UpdatesPage),
        Unauthenticated,
        (status = 422, description = "`invalid_token`, with `field: \"since\"`: not a token from this server; `validation_error`, with `field`: `limit` outside 1..=1000, or `query` when the query string does not parse.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_updates(
    state: web::Data<ApiState>,
    caller: AuthUser,
    query: web::Query<UpdatesQuery>,
) -> ApiResult<HttpResponse> {
    let updates = catchup::updates(&state.ctx, &caller, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::updates_page(&updates)))
}

/// Rename a group or channel.
///
/// `title` 1–128 characters. Owners and admins only; the members hear
/// `chat_updated`. `PATCH /api/v1/chats/{chat_id}/profile` changes the
/// description and avatar too.
#[utoipa::path(
    patch,
    path = "/api/v1/chats/{chat_id}/title",
    tag = "chats",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    request_body = TitleRequest,
    responses(
        (status = 200, description = "The chat as the caller now sees it.", body = ChatRead),
        JsonBodyErrors,
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the chat; `not_chat_admin`: only the owner and admins rename it; `private_chat`: a private chat has no title.", body = ErrorBody),
        (status = 404, description = "`chat_not_found`; `not_found`: `chat_id` is not an integer.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field: \"title\"`: empty, over 128 characters, or missing.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn set_title(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: JsonBody<TitleRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat_info::set_title(&state.ctx, &caller, path.into_inner(), &body.0).await?;
    Ok(HttpResponse::Ok().json(render::chat_view(&chat)))
}

/// Get the caller's saved-messages chat.
///
/// A private chat whose only member is the caller (`is_saved: true`,
/// titled "Saved Messages"), created on first use; one per user. Send
/// messages to it like to any chat.
#[utoipa::path(
    get,
    path = "/api/v1/chats/saved",
    tag = "chats",
    responses(
        (status = 200, description = "The saved-messages chat.", body = ChatRead),
        Unauthenticated,
    ),
    security(("bearer" = []))
)]
pub async fn saved(state: web::Data<ApiState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let chat = chats::saved_chat(&state.ctx, &caller).await?;
    Ok(HttpResponse::Ok().json(render::chat_view(&chat)))
}

/// Find public groups and channels.
///
/// Those whose title or handle contains `query` (case-insensitive; a
/// leading `@` is dropped; empty lists them all), the largest first, each
/// with `is_member`. Join one with `POST /api/v1/chats/{chat_id}/join`.
/// `limit` 1–100, default 30.
#[utoipa::path(
    get,
    path = "/api/v1/chats/discover",
    tag = "chats",
    params(DiscoverQuery),
    responses(
        (status = 200, description = "The public chats found.", body = [ChatDiscoverRead]),
        Unauthenticated,
        (status = 422, description = "`validation_error`, with `field`: `limit` outside 1..=100, or `query` when the query string does not parse.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn discover(
    state: web::Data<ApiState>,
    caller: AuthUser,
    query: web::Query<DiscoverQuery>,
) -> ApiResult<HttpResponse> {
    let found = public_chats::discover(&state.ctx, &caller, &query).await?;
    let found: Vec<_> = found.iter().map(render::public_chat).collect();
    Ok(HttpResponse::Ok().json(found))
}

/// Join a public group or channel.
///
/// The caller becomes a plain member (a channel's subscriber); the members
/// hear `member_joined`. Joining a chat one is already in changes nothing.
/// A chat that is not public is joined by invite link
/// (`POST /api/v1/chats/join-by-invite`).
#[utoipa::path(
    post,
    path = "/api/v1/chats/{chat_id}/join",
    tag = "chats",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    responses(
        (status = 200, description = "The chat as the caller now sees it.", body = ChatRead),
        Unauthenticated,
        (status = 403, description = "`chat_not_public`: the chat is private or not public.", body = ErrorBody),
        (status = 404, description = "`chat_not_found`; `not_found`: `chat_id` is not an integer.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn join(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let chat = public_chats::join(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(render::chat_view(&chat)))
}

/// Create an invite link to a group or channel.
///
/// Owners and admins only. `expires_in` (seconds, 1 s to 1 year) and
/// `usage_limit` (1 to 1,000,000 joins) are optional; without them the
/// link works until revoked. The answer holds the `token` and its
/// `invite_url`: the token is shown only here (it is stored hashed).
#[utoipa::path(
    post,
    path = "/api/v1/chats/{chat_id}/invite-link",
    tag = "chats",
    params(("chat_id" = i64, Path, description = "The chat's id."), InviteOptions),
    responses(
        (status = 200, description = "The new link, with its token.", body = InviteLinkCreatedRead),
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the chat; `private_chat`: a private chat has no invite links; `not_chat_admin`: only the owner and admins make links.", body = ErrorBody),
        (status = 404, description = "`chat_not_found`; `not_found`: `chat_id` is not an integer.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field`: `expires_in` outside 1..=31536000, `usage_limit` outside 1..=1000000, or `query` when the query string does not parse.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_invite_link(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<InviteOptions>,
) -> ApiResult<HttpResponse> {
    let invite = invites::create_link(&state.ctx, &caller, path.into_inner(), &query).await?;
    Ok(HttpResponse::Ok().json(render::new_invite(&invite)))
}

/// List a group's or channel's invite links, newest first.
///
/// Owners and admins only. Revoked links are listed too (`revoked`);
/// tokens are not.
#[utoipa::path(
    get,
    path = "/api/v1/chats/{chat_id}/invite-links",
    tag = "chats",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    responses(
        (status = 200, description = "The chat's invite links.", body = [InviteLinkRead]),
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the chat; `private_chat`: a private chat has no invite links; `not_chat_admin`: only the owner and admins see them.", body = ErrorBody),
        (status = 404, description = "`chat_not_found`; `not_found`: `chat_id` is not an integer.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_invite_links(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let links = invites::list_links(&state.ctx, &caller, path.into_inner()).await?;
    let links: Vec<_> = links.iter().map(render::invite_link).collect();
    Ok(HttpResponse::Ok().json(links))
}

/// Revoke an invite link.
///
/// Owners and admins only. The link stops working at once; revoking it
/// again changes nothing.
#[utoipa::path(
    delete,
    path = "/api/v1/chats/{chat_id}/invite-links/{link_id}",
    tag = "chats",
    params(("chat_id" = i64, Path, description = "The chat's id."), ("link_id" = i64, Path, description = "The link's id, as listed by `GET /api/v1/chats/{chat_id}/invite-links`.")),
    responses(
        (status = 204, description = "Revoked."),
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the chat; `private_chat`: a private chat has no invite links; `not_chat_admin`: only the owner and admins revoke them.", body = ErrorBody),
        (status = 404, description = "`chat_not_found`; `invite_not_found`: not a link of this chat; `not_found`: `chat_id` or `link_id` is not an integer.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn revoke_invite_link(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (chat_id, link_id) = path.into_inner();
    invites::revoke_link(&state.ctx, &caller, chat_id, link_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Join a group or channel with an invite link's token.
///
/// The caller becomes a plain member and the link counts one use; the
/// members hear `member_joined`. A member who follows the link again
/// changes nothing and uses nothing.
#[utoipa::path(
    post,
    path = "/api/v1/chats/join-by-invite",
    tag = "chats",
    request_body = JoinByInviteRequest,
    responses(
        (status = 200, description = "The chat as the caller now sees it.", body = ChatRead),
        JsonBodyErrors,
        Unauthenticated,
        (status = 404, description = "`invite_not_found`: unknown or revoked token; `invite_expired`; `invite_used_up`: the link's `usage_limit` is reached.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field: \"token\"`: missing or not a string.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn join_by_invite(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<JoinByInviteRequest>,
) -> ApiResult<HttpResponse> {
    let chat = invites::join_by_invite(&state.ctx, &caller, &body.0).await?;
    Ok(HttpResponse::Ok().json(render::chat_view(&chat)))
}

/// Change a group's or channel's title, description or avatar.
///
/// Each field present is set: `title` 1–128 characters, `description` up
/// to 500, `avatar_url` up to 2,048; `""` clears the description or the
/// avatar. Owners and admins only; the members hear `chat_updated`. An
/// empty body changes nothing and logs nothing.
#[utoipa::path(
    patch,
    path = "/api/v1/chats/{chat_id}/profile",
    tag = "chats",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    request_body = ChatProfileUpdate,
    responses(
        (status = 200, description = "The chat as the caller now sees it.", body = ChatRead),
        JsonBodyErrors,
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the chat; `not_chat_admin`: only the owner and admins change it; `private_chat`: a private chat has no profile.", body = ErrorBody),
        (status = 404, description = "`chat_not_found`; `not_found`: `chat_id` is not an integer.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field`: `title`, `description` or `avatar_url` breaks a rule above, or is of the wrong type.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn set_profile(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: JsonBody<ChatProfileUpdate>,
) -> ApiResult<HttpResponse> {
    let chat = chat_info::set_profile(&state.ctx, &caller, path.into_inner(), &body.0).await?;
    Ok(HttpResponse::Ok().json(render::chat_view(&chat)))
}

/// Pin a message of the chat for everyone, or unpin.
///
/// `message_id: null` unpins. Owners, admins and moderators of a group or
/// channel; either member of a private chat. The members hear
/// `message_pinned`; pinning what is already pinned logs nothing.
#[utoipa::path(
    post,
    path = "/api/v1/chats/{chat_id}/pin",
    tag = "chats",
    params(("chat_id" = i64, Path, description = "The chat's id.")),
    request_body = PinRequest,
    responses(
        (status = 200, description = "The chat as the caller now sees it (`pinned_message_id`).", body = ChatRead),
        JsonBodyErrors,
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the chat; `not_chat_admin`: plain members of a group or channel cannot pin.", body = ErrorBody),
        (status = 404, description = "`chat_not_found`; `message_not_found`: not a message of this chat, deleted, or hidden from the caller; `not_found`: `chat_id` is not an integer.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field: \"message_id\"`: not an integer or `null`.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn pin_message(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: JsonBody<PinRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat_info::pin_message(&state.ctx, &caller, path.into_inner(), &body.0).await?;
    Ok(HttpResponse::Ok().json(render::chat_view(&chat)))
}
