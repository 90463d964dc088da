//! The native API's rendering of domain events and snapshots
//! ([`crate::domain::events`]) into its frames and reads. Every native
//! frame of a chat event is made here, live or replayed; docs/realtime.md
//! describes what comes out, and the tests below pin it byte for byte.

use bytes::Bytes;

use crate::domain::events::{
    ChatEvents, ChatSnapshot, DomainEvent, LoggedEvent, MemberSnapshot, MessageSnapshot,
    ReplayItem, StoredEvent, Updates,
};
use crate::domain::invites::{InviteLink, NewInvite};
use crate::domain::kinds::ChatType;
use crate::domain::kinds::ReceiptKind;
use crate::domain::live::LiveEvent;
use crate::domain::models::message::MessageEdit;
use crate::domain::two_factor::TwoFactorSetup;
use crate::domain::views::{
    AccountView, ChatDetail, ChatView, DeliveryStatus, MessageView, NotificationSettings,
    PublicChat, TokenPair,
};
use crate::wire::native::dto::{
    AuthUserResponse, ChatDetailRead, ChatDiscoverRead, ChatEventsPage, ChatInfo, ChatMemberRead,
    ChatNotificationSettingsRead, ChatRead, ChatUpdatesRead, InviteLinkCreatedRead, InviteLinkRead,
    MessageEditRead, MessageRead, TokenResponse, TwoFactorSetupRead, UpdatesPage,
};
use crate::wire::native::events::ServerEvent;

/// `MessageRead` of a message as its reader sees it.
pub fn message_view(view: &MessageView) -> MessageRead {
    message(&view.message, view.delivery_status)
}

/// `MessageRead[]` of a page.
pub fn message_views(views: &[MessageView]) -> Vec<MessageRead> {
    views.iter().map(message_view).collect()
}

/// One entry of `GET /messages/{id}/edits`.
pub fn message_edit(edit: &MessageEdit) -> MessageEditRead {
    MessageEditRead {
        id: edit.id,
        message_id: edit.message_id,
        old_text: edit.old_text.clone(),
        edited_at: edit.edited_at,
    }
}

/// `MessageRead` of a snapshot, with the reader's `delivery_status`.
pub fn message(m: &MessageSnapshot, delivery_status: DeliveryStatus) -> MessageRead {
    MessageRead {
        id: m.id,
        chat_id: m.chat_id,
        sender_id: m.sender_id,
        seq: m.seq,
        reply_to_message_id: m.reply_to_message_id,
        forwarded_from_message_id: m.forwarded_from_message_id,
        message_type: m.message_type,
        text: m.text.clone(),
        client_message_id: m.client_message_id.clone(),
        delivery_status: delivery_status.as_str().to_owned(),
        attachment_waveform: None,
        reactions: Vec::new(),
        attachments: Vec::new(),
        mentions: m.mentions.clone(),
        deleted: m.deleted,
        edited_at: m.edited_at,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// `ChatRead` of a chat as its viewer sees it.
pub fn chat_view(view: &ChatView) -> ChatRead {
    let row = &view.row;
    let presence = view.counterpart_presence;
    ChatRead {
        id: row.id,
        public_id: row.public_id.clone(),
        chat_type: row.chat_type,
        title: row.title.clone(),
        avatar_url: view.avatar_url.clone(),
        display_title: view.display_title.clone(),
        handle: row.handle.clone(),
        description: row.description.clone(),
        is_public: row.is_public,
        is_saved: row.is_saved,
        archived: row.archived,
        pinned: row.pinned,
        unread_count: row.unread_count,
        unread_mentions_count: row.unread_mentions_count,
        pinned_message_id: row.pinned_message_id,
        members_count: row.members_count,
        online_count: view.online_count,
        subscribers_count: view.subscribers_count,
        counterpart_user_id: row.counterpart_user_id,
        counterpart_name: row.counterpart_name.clone(),
        counterpart_username: row.counterpart_username.clone(),
        counterpart_avatar_url: row.counterpart_avatar_url.clone(),
        counterpart_is_online: presence.map(|p| p.is_online),
        counterpart_last_seen_at: presence.and_then(|p| p.last_seen_at),
        last_message_id: row.last_message_id,
        last_message_text: row.last_message_text.clone(),
        last_message_type: row.last_message_type,
        last_message_created_at: row.last_message_created_at,
        last_seq: row.last_seq,
        my_role: row.my_role,
        created_at: row.created_at,
    }
}

/// `ChatRead[]` of a list.
pub fn chat_views(views: &[ChatView]) -> Vec<ChatRead> {
    views.iter().map(chat_view).collect()
}

/// `ChatDetailRead`: the chat and its members.
pub fn chat_detail(detail: &ChatDetail) -> ChatDetailRead {
    ChatDetailRead {
        chat: chat_view(&detail.chat),
        members: detail.members.iter().map(member).collect(),
    }
}

/// `ChatDiscoverRead` of a public chat.
pub fn public_chat(found: &PublicChat) -> ChatDiscoverRead {
    let chat = &found.chat;
    ChatDiscoverRead {
        id: chat.id,
        public_id: chat.public_id.clone(),
        chat_type: chat.chat_type,
        title: chat.title.clone(),
        handle: chat.handle.clone(),
        description: chat.description.clone(),
        avatar_url: chat.avatar_url.clone(),
        members_count: found.members_count,
        subscribers_count: (chat.chat_type == ChatType::Channel).then_some(found.members_count),
        is_member: found.is_member,
    }
}

/// The answer of `POST /chats/{id}/invite-link`.
pub fn new_invite(invite: &NewInvite) -> InviteLinkCreatedRead {
    InviteLinkCreatedRead {
        id: invite.link.id,
        chat_id: invite.chat_id,
        token: invite.token.clone(),
        invite_url: invite.invite_url.clone(),
        expires_at: invite.link.expires_at,
        usage_limit: invite.link.usage_limit,
    }
}

/// An invite link as listed (no token).
pub fn invite_link(link: &InviteLink) -> InviteLinkRead {
    InviteLinkRead {
        id: link.id,
        chat_id: link.chat_id,
        created_by: link.created_by,
        created_at: link.created_at,
        expires_at: link.expires_at,
        usage_limit: link.usage_limit,
        used_count: link.used_count,
        revoked: link.revoked_at.is_some(),
    }
}

/// `ChatNotificationSettingsRead` (seed 004 §7).
pub fn notification_settings(settings: &NotificationSettings) -> ChatNotificationSettingsRead {
    ChatNotificationSettingsRead {
        chat_id: settings.chat_id,
        user_id: settings.user_id,
        muted: settings.muted,
    }
}

/// The answer of `POST /auth/2fa/setup`.
pub fn two_factor_setup(setup: &TwoFactorSetup) -> TwoFactorSetupRead {
    TwoFactorSetupRead {
        secret: setup.secret.clone(),
        otpauth_url: setup.otpauth_url.clone(),
    }
}

/// `TokenResponse` (seed 004 §3.1).
pub fn tokens(pair: &TokenPair) -> TokenResponse {
    TokenResponse {
        access_token: pair.access_token.clone(),
        refresh_token: pair.refresh_token.clone(),
        token_type: "bearer".to_owned(),
        expires_in: pair.expires_in,
    }
}

/// `AuthUserResponse` of the caller's account (seed 004 §3.1).
pub fn auth_user(account: &AccountView) -> AuthUserResponse {
    let user = &account.user;
    AuthUserResponse {
        id: user.id,
        email: user.email.clone(),
        name: user.name.clone(),
        username: user.username.clone(),
        bio: user.bio.clone(),
        avatar_url: user.avatar_url.clone(),
        email_verified: user.email_verified,
        twofa_enabled: account.twofa_enabled,
        created_at: user.created_at,
        updated_at: user.updated_at,
    }
}

/// `ChatInfo` of a snapshot.
pub fn chat(c: &ChatSnapshot) -> ChatInfo {
    ChatInfo {
        id: c.id,
        public_id: c.public_id.clone(),
        chat_type: c.chat_type,
        title: c.title.clone(),
        description: c.description.clone(),
        avatar_url: c.avatar_url.clone(),
        handle: c.handle.clone(),
        is_public: c.is_public,
        created_by: c.created_by,
        member_ids: c.member_ids.clone(),
        created_at: c.created_at,
    }
}

/// `ChatMemberRead` of a snapshot.
pub fn member(m: &MemberSnapshot) -> ChatMemberRead {
    ChatMemberRead {
        id: m.id,
        user_id: m.user_id,
        role: m.role,
        joined_at: m.joined_at,
        name: m.name.clone(),
        username: m.username.clone(),
        nickname: m.nickname.clone(),
    }
}

/// The native frame of a logged event. Messages in chat events are
/// rendered `sent`: the frame is the same for every reader.
pub fn chat_event(logged: &LoggedEvent) -> ServerEvent {
    let (chat_id, seq) = (logged.chat_id, logged.seq);
    match &logged.event {
        DomainEvent::MessageCreated { message: m } => ServerEvent::MessageCreated {
            chat_id,
            seq,
            message: message(m, DeliveryStatus::Sent),
        },
        DomainEvent::MessageUpdated { message: m } => ServerEvent::MessageUpdated {
            chat_id,
            seq,
            message: message(m, DeliveryStatus::Sent),
        },
        DomainEvent::MessageDeleted { message_id } => ServerEvent::MessageDeleted {
            chat_id,
            seq: Some(seq),
            message_id: *message_id,
            for_all: true,
        },
        DomainEvent::ChatCreated { chat: c } => ServerEvent::ChatCreated {
            chat_id,
            seq,
            chat: chat(c),
        },
        DomainEvent::ChatUpdated { chat: c } => ServerEvent::ChatUpdated {
            chat_id,
            seq,
            chat: chat(c),
        },
        DomainEvent::MemberJoined { member: m } => ServerEvent::MemberJoined {
            chat_id,
            seq,
            user_id: m.user_id,
            member: member(m),
        },
        DomainEvent::MemberUpdated { member: m } => ServerEvent::MemberUpdated {
            chat_id,
            seq,
            user_id: m.user_id,
            member: member(m),
        },
        DomainEvent::MemberLeft { user_id, reason } => ServerEvent::MemberLeft {
            chat_id,
            seq,
            user_id: *user_id,
            reason: reason.as_str().to_owned(),
        },
        DomainEvent::MessagePinned {
            message_id,
            user_id,
        } => ServerEvent::MessagePinned {
            chat_id,
            seq,
            message_id: *message_id,
            user_id: *user_id,
        },
    }
}

/// The native frame of an event from the bus (a logged chat event as
/// [`chat_event`] renders it; the ephemeral ones as docs/realtime.md
/// describes them).
pub fn live(event: &LiveEvent) -> ServerEvent {
    match event {
        LiveEvent::Chat(logged) => chat_event(logged),
        LiveEvent::Receipt {
            chat_id,
            user_id,
            message_id,
            kind: ReceiptKind::MessageRead,
        } => ServerEvent::MessageRead {
            chat_id: *chat_id,
            user_id: *user_id,
            message_id: *message_id,
        },
        LiveEvent::Receipt {
            chat_id,
            user_id,
            message_id,
            kind: ReceiptKind::MessageDelivered,
        } => ServerEvent::MessageDelivered {
            chat_id: *chat_id,
            user_id: *user_id,
            message_id: *message_id,
        },
        LiveEvent::Typing {
            chat_id,
            user_id,
            is_typing,
            expires_in_ms,
        } => ServerEvent::Typing {
            chat_id: *chat_id,
            user_id: *user_id,
            is_typing: *is_typing,
            expires_in_ms: *expires_in_ms,
        },
        LiveEvent::Presence {
            user_id,
            is_online,
            last_seen_at,
        } => ServerEvent::Presence {
            user_id: *user_id,
            is_online: *is_online,
            last_seen_at: *last_seen_at,
        },
        LiveEvent::SessionRevoked { session_id, reason } => ServerEvent::SessionRevoked {
            session_id: session_id.clone(),
            reason: reason.clone(),
        },
        LiveEvent::DeletedForMe {
            chat_id,
            message_id,
        } => ServerEvent::MessageDeleted {
            chat_id: *chat_id,
            seq: None,
            message_id: *message_id,
            for_all: false,
        },
        LiveEvent::ChatSettings {
            chat_id,
            archived,
            pinned,
            muted,
            cleared_before_message_id,
        } => ServerEvent::ChatSettingsUpdated {
            chat_id: *chat_id,
            archived: *archived,
            pinned: *pinned,
            muted: *muted,
            cleared_before_message_id: *cleared_before_message_id,
        },
    }
}

/// The native bytes of a stored log row: a versioned event rendered, an
/// older row (which holds the native frame) as it is.
pub fn stored(event: &StoredEvent) -> Bytes {
    match event {
        StoredEvent::V1(logged) => chat_event(logged).to_bytes(),
        StoredEvent::Legacy(frame) => Bytes::from(serde_json::to_vec(frame).unwrap_or_default()),
    }
}

/// What a reader who hid a message gets instead of an event about it:
/// `{"type": "message_hidden", "chat_id", "seq", "message_id"}` — the seq,
/// without the content.
pub fn hidden(chat_id: i64, seq: i64, message_id: i64) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "type": "message_hidden",
            "chat_id": chat_id,
            "seq": seq,
            "message_id": message_id,
        })
        .to_string(),
    )
}

/// The native bytes of one replayed entry.
pub fn replay_item(item: &ReplayItem) -> Bytes {
    match item {
        ReplayItem::Event(event) => stored(event),
        ReplayItem::Hidden {
            chat_id,
            seq,
            message_id,
        } => hidden(*chat_id, *seq, *message_id),
    }
}

fn replay_values(items: &[ReplayItem]) -> Vec<serde_json::Value> {
    items
        .iter()
        .filter_map(|item| serde_json::from_slice(&replay_item(item)).ok())
        .collect()
}

/// The body of `GET /chats/{id}/events`.
pub fn chat_events_page(events: &ChatEvents) -> ChatEventsPage {
    ChatEventsPage {
        chat_id: events.chat_id,
        events: replay_values(&events.events),
        next_after_seq: events.next_after_seq,
        last_seq: events.last_seq,
        has_more: events.has_more,
        resync_required: events.resync_required,
    }
}

/// The body of `GET /updates`.
pub fn updates_page(updates: &Updates) -> UpdatesPage {
    UpdatesPage {
        chats: updates
            .chats
            .iter()
            .map(|c| ChatUpdatesRead {
                chat_id: c.chat_id,
                events: replay_values(&c.events),
                last_seq: c.last_seq,
                has_more: c.has_more,
                resync_required: c.resync_required,
            })
            .collect(),
        left_chat_ids: updates.left_chat_ids.clone(),
        token: updates.token.clone(),
        has_more: updates.has_more,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::domain::events::{LeaveReason, VERSION};
    use crate::domain::kinds::{MemberRole, MessageType};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn frame(event: DomainEvent) -> String {
        let logged = LoggedEvent {
            v: VERSION,
            chat_id: 7,
            seq: 42,
            event,
        };
        String::from_utf8(chat_event(&logged).to_bytes().to_vec()).unwrap_or_default()
    }

    fn snapshot() -> MessageSnapshot {
        MessageSnapshot {
            id: 11,
            chat_id: 7,
            sender_id: Some(3),
            seq: 42,
            reply_to_message_id: Some(10),
            forwarded_from_message_id: None,
            message_type: MessageType::Text,
            text: Some("hi @bob".into()),
            client_message_id: Some("c-1".into()),
            mentions: vec![4],
            deleted: false,
            edited_at: None,
            created_at: at("2026-11-26T10:00:00Z"),
            updated_at: at("2026-11-26T10:00:00Z"),
        }
    }

    fn chat_snapshot() -> ChatSnapshot {
        ChatSnapshot {
            id: 7,
            public_id: "P7".into(),
            chat_type: ChatType::Group,
            title: Some("Crew".into()),
            description: None,
            avatar_url: None,
            handle: None,
            is_public: false,
            created_by: Some(3),
            member_ids: vec![3, 4],
            created_at: at("2026-11-26T09:00:00Z"),
        }
    }

    fn member_snapshot() -> MemberSnapshot {
        MemberSnapshot {
            id: 21,
            user_id: 4,
            role: MemberRole::Member,
            joined_at: at("2026-11-26T09:30:00Z"),
            name: "Bob".into(),
            username: "bob".into(),
            nickname: None,
        }
    }

    /// The frames clients have always received (docs/realtime.md): a change
    /// here is a change of the protocol.
    #[test]
    fn native_frames_are_pinned() {
        let message = r#"{"id":11,"chat_id":7,"sender_id":3,"seq":42,"reply_to_message_id":10,"forwarded_from_message_id":null,"type":"text","text":"hi @bob","client_message_id":"c-1","delivery_status":"sent","attachment_waveform":null,"reactions":[],"attachments":[],"mentions":[4],"deleted":false,"edited_at":null,"created_at":"2026-11-26T10:00:00Z","updated_at":"2026-11-26T10:00:00Z"}"#;
        let chat = r#"{"id":7,"public_id":"P7","type":"group","title":"Crew","description":null,"avatar_url":null,"handle":null,"is_public":false,"created_by":3,"member_ids":[3,4],"created_at":"2026-11-26T09:00:00Z"}"#;
        let member = r#"{"id":21,"user_id":4,"role":"member","joined_at":"2026-11-26T09:30:00Z","name":"Bob","username":"bob","nickname":null}"#;
        let cases = [
            (
                DomainEvent::MessageCreated {
                    message: snapshot(),
                },
                format!(r#"{{"type":"message_created","chat_id":7,"seq":42,"message":{message}}}"#),
            ),
            (
                DomainEvent::MessageUpdated {
                    message: snapshot(),
                },
                format!(r#"{{"type":"message_updated","chat_id":7,"seq":42,"message":{message}}}"#),
            ),
            (
                DomainEvent::MessageDeleted { message_id: 11 },
                r#"{"type":"message_deleted","chat_id":7,"seq":42,"message_id":11,"for_all":true}"#
                    .to_owned(),
            ),
            (
                DomainEvent::ChatCreated {
                    chat: chat_snapshot(),
                },
                format!(r#"{{"type":"chat_created","chat_id":7,"seq":42,"chat":{chat}}}"#),
            ),
            (
                DomainEvent::ChatUpdated {
                    chat: chat_snapshot(),
                },
                format!(r#"{{"type":"chat_updated","chat_id":7,"seq":42,"chat":{chat}}}"#),
            ),
            (
                DomainEvent::MemberJoined {
                    member: member_snapshot(),
                },
                format!(
                    r#"{{"type":"member_joined","chat_id":7,"seq":42,"user_id":4,"member":{member}}}"#
                ),
            ),
            (
                DomainEvent::MemberUpdated {
                    member: member_snapshot(),
                },
                format!(
                    r#"{{"type":"member_updated","chat_id":7,"seq":42,"user_id":4,"member":{member}}}"#
                ),
            ),
            (
                DomainEvent::MemberLeft {
                    user_id: 4,
                    reason: LeaveReason::Removed,
                },
                r#"{"type":"member_left","chat_id":7,"seq":42,"user_id":4,"reason":"removed"}"#
                    .to_owned(),
            ),
            (
                DomainEvent::MessagePinned {
                    message_id: Some(11),
                    user_id: 3,
                },
                r#"{"type":"message_pinned","chat_id":7,"seq":42,"message_id":11,"user_id":3}"#
                    .to_owned(),
            ),
            (
                DomainEvent::MessagePinned {
                    message_id: None,
                    user_id: 3,
                },
                r#"{"type":"message_pinned","chat_id":7,"seq":42,"message_id":null,"user_id":3}"#
                    .to_owned(),
            ),
        ];
        for (event, expected) in cases {
            assert_eq!(frame(event), expected);
        }
    }

    /// The ephemeral frames, from the bus's live events.
    #[test]
    fn ephemeral_frames_are_pinned() {
        let cases = [
            (
                LiveEvent::Receipt {
                    chat_id: 7,
                    user_id: 4,
                    message_id: 11,
                    kind: ReceiptKind::MessageRead,
                },
                r#"{"type":"message_read","chat_id":7,"user_id":4,"message_id":11}"#,
            ),
            (
                LiveEvent::Receipt {
                    chat_id: 7,
                    user_id: 4,
                    message_id: 11,
                    kind: ReceiptKind::MessageDelivered,
                },
                r#"{"type":"message_delivered","chat_id":7,"user_id":4,"message_id":11}"#,
            ),
            (
                LiveEvent::Typing {
                    chat_id: 7,
                    user_id: 4,
                    is_typing: true,
                    expires_in_ms: 6000,
                },
                r#"{"type":"typing","chat_id":7,"user_id":4,"is_typing":true,"expires_in_ms":6000}"#,
            ),
            (
                LiveEvent::Presence {
                    user_id: 4,
                    is_online: false,
                    last_seen_at: Some(at("2026-11-26T10:00:00Z")),
                },
                r#"{"type":"presence","user_id":4,"is_online":false,"last_seen_at":"2026-11-26T10:00:00Z"}"#,
            ),
            (
                LiveEvent::SessionRevoked {
                    session_id: "s-1".into(),
                    reason: "logout".into(),
                },
                r#"{"type":"session_revoked","session_id":"s-1","reason":"logout"}"#,
            ),
            (
                LiveEvent::DeletedForMe {
                    chat_id: 7,
                    message_id: 11,
                },
                r#"{"type":"message_deleted","chat_id":7,"message_id":11,"for_all":false}"#,
            ),
            (
                LiveEvent::ChatSettings {
                    chat_id: 7,
                    archived: true,
                    pinned: false,
                    muted: true,
                    cleared_before_message_id: 11,
                },
                r#"{"type":"chat_settings_updated","chat_id":7,"archived":true,"pinned":false,"muted":true,"cleared_before_message_id":11}"#,
            ),
        ];
        for (event, expected) in cases {
            let bytes = live(&event).to_bytes();
            assert_eq!(String::from_utf8_lossy(&bytes), expected);
        }
    }

    #[test]
    fn old_rows_render_as_they_were_stored() {
        let old = serde_json::json!({"type": "member_left", "chat_id": 7, "seq": 3,
            "user_id": 4, "reason": "left"});
        let bytes = stored(&StoredEvent::Legacy(old.clone()));
        let back: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        assert_eq!(back, old);
    }
}
