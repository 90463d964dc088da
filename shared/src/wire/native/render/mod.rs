//! The native API's rendering of domain results: its frames here (every
//! native frame of a chat event is made here, live or replayed;
//! docs/realtime.md describes what comes out, and the tests below pin it
//! byte for byte), its reads in [`reads`] (re-exported: `render::chat_view`).

use bytes::Bytes;

use crate::domain::events::{
    ChatEvents, DomainEvent, LoggedEvent, ReplayItem, StoredEvent, Updates,
};
use crate::domain::kinds::ReceiptKind;
use crate::domain::live::LiveEvent;
use crate::domain::views::DeliveryStatus;
use crate::wire::native::dto::{ChatEventsPage, ChatUpdatesRead, ReactionSummary, UpdatesPage};
use crate::wire::native::events::ServerEvent;

pub mod reads;
pub use reads::*;

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
        DomainEvent::ReactionsUpdated {
            message_id,
            user_id,
            emoji,
            added,
            reactions,
        } => ServerEvent::ReactionsUpdated {
            chat_id,
            seq,
            message_id: *message_id,
            user_id: *user_id,
            emoji: emoji.clone(),
            added: *added,
            reactions: reactions
                .iter()
                .map(|r| ReactionSummary {
                    emoji: r.emoji.clone(),
                    count: r.count,
                    reacted: None,
                })
                .collect(),
        },
        DomainEvent::ChatDeleted { user_id } => ServerEvent::ChatDeleted {
            chat_id,
            seq,
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
            hidden,
        } => ServerEvent::ChatSettingsUpdated {
            chat_id: *chat_id,
            archived: *archived,
            pinned: *pinned,
            muted: *muted,
            cleared_before_message_id: *cleared_before_message_id,
            hidden: *hidden,
        },
        LiveEvent::Notification { notification } => ServerEvent::Notification {
            notification: reads::notification(notification),
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
    use crate::domain::events::{
        ChatSnapshot, LeaveReason, MemberSnapshot, MessageSnapshot, ReactionCount, VERSION,
    };
    use crate::domain::kinds::{ChatType, MemberRole, MessageType};

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
            reactions: Vec::new(),
            attachments: Vec::new(),
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
            retention_days: None,
            read_receipts_enabled: true,
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
        let chat = r#"{"id":7,"public_id":"P7","type":"group","title":"Crew","description":null,"avatar_url":null,"handle":null,"is_public":false,"created_by":3,"member_ids":[3,4],"created_at":"2026-11-26T09:00:00Z","retention_days":null,"read_receipts_enabled":true}"#;
        let member = r#"{"id":21,"user_id":4,"role":"member","joined_at":"2026-11-26T09:30:00Z","name":"Bob","username":"bob","nickname":null}"#;
        let cases = [
            (
                DomainEvent::MessageCreated {
                    message: Box::new(snapshot()),
                },
                format!(r#"{{"type":"message_created","chat_id":7,"seq":42,"message":{message}}}"#),
            ),
            (
                DomainEvent::MessageUpdated {
                    message: Box::new(snapshot()),
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
            (
                DomainEvent::ReactionsUpdated {
                    message_id: 11,
                    user_id: 3,
                    emoji: "👍".into(),
                    added: true,
                    reactions: vec![ReactionCount {
                        emoji: "👍".into(),
                        count: 2,
                    }],
                },
                r#"{"type":"reactions_updated","chat_id":7,"seq":42,"message_id":11,"user_id":3,"emoji":"👍","added":true,"reactions":[{"emoji":"👍","count":2}]}"#
                    .to_owned(),
            ),
            (
                DomainEvent::ChatDeleted { user_id: Some(3) },
                r#"{"type":"chat_deleted","chat_id":7,"seq":42,"user_id":3}"#.to_owned(),
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
                    hidden: false,
                },
                r#"{"type":"chat_settings_updated","chat_id":7,"archived":true,"pinned":false,"muted":true,"cleared_before_message_id":11,"hidden":false}"#,
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
