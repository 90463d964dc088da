//! The native API's realtime frames (API.md, "Realtime protocol";
//! docs/realtime.md): what a socket or SSE stream sends to the client.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::wire::native::dto::{
    ChatInfo, ChatMemberRead, MessageRead, NotificationRead, ReactionSummary,
};

/// A server → client frame. Serialised once per replica; chat events carry
/// `chat_id` and `seq` (the chat's position in its event log).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// The first frame on every socket.
    Ready {
        user_id: i64,
        session_id: String,
        heartbeat_interval_ms: u64,
    },
    /// The answer to a client `ping`.
    Pong {
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    MessageCreated {
        chat_id: i64,
        seq: i64,
        message: MessageRead,
    },
    MessageUpdated {
        chat_id: i64,
        seq: i64,
        message: MessageRead,
    },
    /// `for_all = false` is a delete-for-me: it goes to the user's own other
    /// devices only and has no `seq` (it is not part of the chat's log).
    MessageDeleted {
        chat_id: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<i64>,
        message_id: i64,
        for_all: bool,
    },
    ChatCreated {
        chat_id: i64,
        seq: i64,
        chat: ChatInfo,
    },
    /// The chat's title / description / avatar changed.
    ChatUpdated {
        chat_id: i64,
        seq: i64,
        chat: ChatInfo,
    },
    /// `user_id` joined (or was added); also sent to that user directly,
    /// so that their sockets start following the chat.
    MemberJoined {
        chat_id: i64,
        seq: i64,
        user_id: i64,
        member: ChatMemberRead,
    },
    /// A member's role (or nickname) changed.
    MemberUpdated {
        chat_id: i64,
        seq: i64,
        user_id: i64,
        member: ChatMemberRead,
    },
    /// `user_id` left or was removed (`reason`: `left` / `removed`); the
    /// last event of this chat that user receives.
    MemberLeft {
        chat_id: i64,
        seq: i64,
        user_id: i64,
        reason: String,
    },
    /// `user_id` pinned `message_id` (`null`: unpinned the pinned message).
    MessagePinned {
        chat_id: i64,
        seq: i64,
        message_id: Option<i64>,
        user_id: i64,
    },
    /// `user_id` added (`added: true`) or took back `emoji` on
    /// `message_id`; `reactions` are the message's counts after it.
    ReactionsUpdated {
        chat_id: i64,
        seq: i64,
        message_id: i64,
        user_id: i64,
        emoji: String,
        added: bool,
        reactions: Vec<ReactionSummary>,
    },
    /// `user_id` deleted the chat for everyone (`null`: an operator purged
    /// it); the last event of it.
    ChatDeleted {
        chat_id: i64,
        seq: i64,
        user_id: Option<i64>,
    },
    /// The user's own settings of a chat changed on another of their
    /// devices (ephemeral: not in the log).
    ChatSettingsUpdated {
        chat_id: i64,
        archived: bool,
        pinned: bool,
        muted: bool,
        cleared_before_message_id: i64,
        hidden: bool,
    },
    /// A notification for you (seed 004 §10): you are online and it
    /// concerns a chat you muted but where you are mentioned (ephemeral:
    /// also in `GET /notifications`).
    Notification { notification: NotificationRead },
    /// A member's delivered position moved (ephemeral: not in the log).
    MessageDelivered {
        chat_id: i64,
        user_id: i64,
        message_id: i64,
    },
    /// A member's read position moved (ephemeral: not in the log).
    MessageRead {
        chat_id: i64,
        user_id: i64,
        message_id: i64,
    },
    /// A member is (or stopped) typing; shown for `expires_in_ms` unless
    /// renewed. Only sockets that focused the chat (`join_room`) get it.
    Typing {
        chat_id: i64,
        user_id: i64,
        is_typing: bool,
        expires_in_ms: u64,
    },
    /// A user came online or went offline (privacy applied: only users
    /// allowed to see it receive it).
    Presence {
        user_id: i64,
        is_online: bool,
        last_seen_at: Option<DateTime<Utc>>,
    },
    /// The answer to a client frame that asked for one (`send` always;
    /// others when they carry a `ref`).
    Ack {
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<MessageRead>,
    },
    /// The socket's session ended (logout, revoked, refresh-token reuse,
    /// or its access token expired); the server closes the socket (4001).
    SessionRevoked { session_id: String, reason: String },
    /// The log no longer reaches back to the client's position in this
    /// chat: reload it (REST), then continue from `last_seq`.
    ResyncRequired { chat_id: i64, last_seq: i64 },
    /// The answer to `resume`, after the replayed events: where each chat
    /// now stands.
    Resumed {
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        chats: std::collections::BTreeMap<String, i64>,
    },
    /// A refused or malformed client frame; `ref` echoes the frame's `ref`.
    Error {
        detail: String,
        code: String,
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
}

impl ServerEvent {
    /// The snake_case `type` of this event, as stored in `chat_events.type`.
    pub fn kind(&self) -> &'static str {
        match self {
            ServerEvent::Ready { .. } => "ready",
            ServerEvent::Pong { .. } => "pong",
            ServerEvent::MessageCreated { .. } => "message_created",
            ServerEvent::MessageUpdated { .. } => "message_updated",
            ServerEvent::MessageDeleted { .. } => "message_deleted",
            ServerEvent::ChatCreated { .. } => "chat_created",
            ServerEvent::ChatUpdated { .. } => "chat_updated",
            ServerEvent::MemberJoined { .. } => "member_joined",
            ServerEvent::MemberUpdated { .. } => "member_updated",
            ServerEvent::MemberLeft { .. } => "member_left",
            ServerEvent::MessagePinned { .. } => "message_pinned",
            ServerEvent::ChatDeleted { .. } => "chat_deleted",
            ServerEvent::ReactionsUpdated { .. } => "reactions_updated",
            ServerEvent::ChatSettingsUpdated { .. } => "chat_settings_updated",
            ServerEvent::Notification { .. } => "notification",
            ServerEvent::MessageDelivered { .. } => "message_delivered",
            ServerEvent::MessageRead { .. } => "message_read",
            ServerEvent::Typing { .. } => "typing",
            ServerEvent::Presence { .. } => "presence",
            ServerEvent::Ack { .. } => "ack",
            ServerEvent::SessionRevoked { .. } => "session_revoked",
            ServerEvent::ResyncRequired { .. } => "resync_required",
            ServerEvent::Resumed { .. } => "resumed",
            ServerEvent::Error { .. } => "error",
        }
    }

    /// Serialises the event to the bytes sent on the wire.
    pub fn to_bytes(&self) -> Bytes {
        // Serialising these plain structs cannot fail (no maps with
        // non-string keys, no custom serialisers).
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_with_type_tags() {
        let json = serde_json::to_value(ServerEvent::Error {
            detail: "bad".into(),
            code: "bad_frame".into(),
            reference: Some("r1".into()),
        })
        .unwrap_or_default();
        assert_eq!(json["type"], "error");
        assert_eq!(json["ref"], "r1");
    }
}
