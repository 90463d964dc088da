//! Wire types: the JSON bodies of the native API (seed 004 §3, plus API.md).
//! They are separate from the diesel row structs in [`crate::domain::models`], so a
//! table can change without breaking clients.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::kinds::{ChatType, MemberRole, MessageType};

/// `{ "refresh_token": "jwt" }`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// `{ "token": "..." }` for `POST /auth/verify-email`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    pub token: String,
}

/// `TokenResponse` (seed 004 §3.1). `expires_in` is the access token's
/// lifetime in seconds.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    pub expires_in: i64,
}

/// `{ "message": "..." }`, with the new user on register.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageResponse {
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<AuthUserResponse>,
}

/// The answer of `POST /auth/2fa/setup` (seed 004 §5).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct TwoFactorSetupRead {
    /// The TOTP secret, base32.
    pub secret: String,
    /// `otpauth://totp/Parley:{email}?secret=...&issuer=Parley`, for a QR code.
    pub otpauth_url: String,
}

/// `AuthUserResponse` (seed 004 §3.1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct AuthUserResponse {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub username: String,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    pub email_verified: bool,
    pub twofa_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `ChatRead` (seed 004 §3.3): a chat as one member sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ChatRead {
    pub id: i64,
    pub public_id: String,
    #[serde(rename = "type")]
    pub chat_type: ChatType,
    pub title: Option<String>,
    pub avatar_url: Option<String>,
    pub display_title: String,
    pub handle: Option<String>,
    pub description: Option<String>,
    pub is_public: bool,
    pub is_saved: bool,
    pub archived: bool,
    pub pinned: bool,
    pub unread_count: i64,
    pub unread_mentions_count: i64,
    pub pinned_message_id: Option<i64>,
    pub members_count: i64,
    pub online_count: i64,
    pub subscribers_count: Option<i64>,
    pub counterpart_user_id: Option<i64>,
    pub counterpart_name: Option<String>,
    pub counterpart_username: Option<String>,
    pub counterpart_avatar_url: Option<String>,
    pub counterpart_is_online: Option<bool>,
    pub counterpart_last_seen_at: Option<DateTime<Utc>>,
    pub last_message_id: Option<i64>,
    pub last_message_text: Option<String>,
    pub last_message_type: Option<MessageType>,
    pub last_message_created_at: Option<DateTime<Utc>>,
    /// The chat's newest event seq: a client that holds it is up to date.
    pub last_seq: i64,
    pub my_role: MemberRole,
    pub created_at: DateTime<Utc>,
}

/// A member item of `ChatDetailRead` (seed 004 §3.3, plus names).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ChatMemberRead {
    pub id: i64,
    pub user_id: i64,
    pub role: MemberRole,
    pub joined_at: DateTime<Utc>,
    pub name: String,
    pub username: String,
    /// The member's nickname in this chat, if set (seed 003's `edited_name`).
    pub nickname: Option<String>,
}

/// `ChatDetailRead` = `ChatRead` + `members[]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ChatDetailRead {
    #[serde(flatten)]
    pub chat: ChatRead,
    pub members: Vec<ChatMemberRead>,
}

/// `ChatDiscoverRead` (seed 004 §7 names it; Parley's fields): a public
/// group or channel as `GET /chats/discover` lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ChatDiscoverRead {
    pub id: i64,
    pub public_id: String,
    #[serde(rename = "type")]
    pub chat_type: ChatType,
    pub title: Option<String>,
    pub handle: Option<String>,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    pub members_count: i64,
    /// Channels only: their member count.
    pub subscribers_count: Option<i64>,
    /// Whether the caller is already a member.
    pub is_member: bool,
}

/// The answer of `POST /chats/{id}/invite-link` (seed 004 §7: `chat_id`,
/// `token`, `invite_url`; plus the link's id and limits). The token is
/// shown only here.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct InviteLinkCreatedRead {
    pub id: i64,
    pub chat_id: i64,
    pub token: String,
    pub invite_url: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub usage_limit: Option<i64>,
}

/// An invite link as `GET /chats/{id}/invite-links` lists it (no token).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct InviteLinkRead {
    pub id: i64,
    pub chat_id: i64,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub usage_limit: Option<i64>,
    pub used_count: i64,
    pub revoked: bool,
}

/// `ChatNotificationSettingsRead` (seed 004 §7).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ChatNotificationSettingsRead {
    pub chat_id: i64,
    pub user_id: i64,
    pub muted: bool,
}

/// `ChatSettingsRead`: `GET / PUT /chats/{id}/settings`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ChatSettingsRead {
    pub chat_id: i64,
    pub retention_days: Option<i32>,
    pub read_receipts_enabled: bool,
}

/// A chat as every member sees it: carried by `chat_created` events, which
/// are serialised once for all recipients.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ChatInfo {
    pub id: i64,
    pub public_id: String,
    #[serde(rename = "type")]
    pub chat_type: ChatType,
    pub title: Option<String>,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    pub handle: Option<String>,
    pub is_public: bool,
    pub created_by: Option<i64>,
    pub member_ids: Vec<i64>,
    pub created_at: DateTime<Utc>,
    pub retention_days: Option<i32>,
    pub read_receipts_enabled: bool,
}

/// `{ "text": "..." }` for `PUT /messages/{id}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct MessageUpdateRequest {
    pub text: String,
}

/// One emoji's count in `MessageRead.reactions`. `reacted` (whether the
/// reader is among them) is in REST answers; event frames, which every
/// member shares, leave it out (a `reactions_updated` frame names who
/// reacted).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ReactionSummary {
    pub emoji: String,
    pub count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reacted: Option<bool>,
}

/// `AttachmentRead` (seed 004 §3.5): a file of a message. `file_url` is
/// the API's download route: it needs the reader's token and membership,
/// and redirects to a short-lived storage URL. `file_name` is Parley's
/// addition: the name the file was uploaded with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct AttachmentRead {
    pub id: i64,
    pub message_id: i64,
    pub file_url: String,
    #[serde(default)]
    pub file_name: String,
    pub file_type: String,
    pub file_size: i64,
    pub waveform_points: Option<Vec<i32>>,
}

/// `ChatAttachmentRead` (seed 004 §3.5): a file in a chat's media list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ChatAttachmentRead {
    pub id: i64,
    pub message_id: i64,
    pub sender_id: Option<i64>,
    pub message_type: String,
    pub message_created_at: DateTime<Utc>,
    pub file_url: String,
    pub file_type: String,
    pub file_size: i64,
}

/// `UploadUrlResponse` (seed 004 §3.5).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct UploadUrlRead {
    /// `PUT` the file here, with `required_headers`, before `expires_in`
    /// seconds pass.
    pub upload_url: String,
    /// What `POST /media/attachments` takes once the file is up.
    pub file_url: String,
    pub object_key: String,
    pub expires_in: u64,
    pub required_headers: std::collections::BTreeMap<String, String>,
}

/// `MessageReactionRead` (seed 004 §8): `GET /messages/{id}/reactions` and
/// the answer of the toggle.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct MessageReactionRead {
    pub emoji: String,
    pub count: i64,
    pub reacted: bool,
}

/// `MessageRead` (seed 004 §3.4 plus API.md: `seq`, `edited_at`, `deleted`,
/// `reactions`, `attachments`, `mentions`). `text` is `null` once the
/// message is deleted for everyone.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct MessageRead {
    pub id: i64,
    pub chat_id: i64,
    pub sender_id: Option<i64>,
    pub seq: i64,
    pub reply_to_message_id: Option<i64>,
    pub forwarded_from_message_id: Option<i64>,
    #[serde(rename = "type")]
    pub message_type: MessageType,
    pub text: Option<String>,
    pub client_message_id: Option<String>,
    /// `sent`, `delivered` or `read`: how far the other members got.
    pub delivery_status: String,
    pub attachment_waveform: Option<Vec<i32>>,
    pub reactions: Vec<ReactionSummary>,
    pub attachments: Vec<AttachmentRead>,
    pub mentions: Vec<i64>,
    pub deleted: bool,
    pub edited_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One entry of `GET /messages/{id}/edits`: the text before an edit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct MessageEditRead {
    pub id: i64,
    pub message_id: i64,
    pub old_text: String,
    pub edited_at: DateTime<Utc>,
}

/// The answer of `GET /chats/{id}/events`. `events` are the frames a socket
/// would have received; continue from `next_after_seq` while `has_more`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChatEventsPage {
    pub chat_id: i64,
    pub events: Vec<serde_json::Value>,
    pub next_after_seq: i64,
    pub last_seq: i64,
    pub has_more: bool,
    pub resync_required: bool,
}

/// What changed in one chat since an updates token.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChatUpdatesRead {
    pub chat_id: i64,
    pub events: Vec<serde_json::Value>,
    pub last_seq: i64,
    pub has_more: bool,
    pub resync_required: bool,
}

/// The answer of `GET /updates`: the chats that changed, and the token to
/// pass next time (call again at once while `has_more`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UpdatesPage {
    pub chats: Vec<ChatUpdatesRead>,
    /// Chats in the token that the caller no longer belongs to.
    pub left_chat_ids: Vec<i64>,
    pub token: String,
    pub has_more: bool,
}

/// A receiver of a bulk send (or a target chat of a bulk forward) that got
/// no message, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct BulkFailureRead {
    /// The receiver (bulk send) or the target chat (bulk forward).
    pub receiver_id: i64,
    /// The refusal's code: `user_not_found`, `blocked`,
    /// `private_messages_disabled`, `validation_error` (the sender themself).
    pub code: String,
    pub detail: String,
}

/// The answer of a bulk send done in the request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct BulkSendRead {
    /// One per receiver who got the message, in request order.
    pub messages: Vec<MessageRead>,
    pub failures: Vec<BulkFailureRead>,
}

/// `202`: a bulk send handed to the worker.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct JobQueuedRead {
    pub job_id: uuid::Uuid,
}

/// `GET /jobs/{id}`: a background job (a bulk send or a bulk forward) and
/// its progress.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct JobRead {
    pub id: uuid::Uuid,
    /// `bulk_send` or `forward_bulk`.
    pub kind: String,
    /// `queued`, `running` or `done`.
    pub state: String,
    /// Receivers in all.
    pub total: i32,
    /// Receivers who got their message.
    pub done: i32,
    /// Receivers who could not (see `failures`).
    pub failed: i32,
    pub failures: Vec<BulkFailureRead>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// `NotificationRead` (seed 004 §3.6). `payload` is a JSON object as a
/// string, as the seed shows: `chat_id`, `message_id`, `sender_id`, `type`,
/// `text` (the first 100 characters; `[image]` and so on for media),
/// `mentioned`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct NotificationRead {
    pub id: i64,
    pub user_id: i64,
    /// `message_created`, or `mention` (you were mentioned).
    pub event_type: String,
    pub payload: String,
    pub created_at: DateTime<Utc>,
}

/// `DeviceRead`: a push target of yours.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct DeviceRead {
    pub id: i64,
    /// `web`, `fcm` or `apns`.
    pub platform: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A message found by search: `MessageRead` plus `highlight`, its text
/// with the matched parts in `<em>`…`</em>` (seed 001's `highlight`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct MessageSearchRead {
    #[serde(flatten)]
    pub message: MessageRead,
    pub highlight: String,
}
