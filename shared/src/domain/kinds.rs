//! The closed sets of the domain, each stored as TEXT (see
//! [`crate::text_enum!`]) and sent as the same string on the wire.

crate::text_enum! {
    /// A chat's kind (seed 004 §2).
    pub enum ChatType {
        /// Exactly two members, one chat per pair.
        Private = "private",
        /// Every member may post.
        Group = "group",
        /// Only owners and admins post; the others read.
        Channel = "channel",
    }
}

crate::text_enum! {
    /// A member's role in a chat (seed 004 §2). `Moderator` is seed 003's
    /// sub-admin: may delete others' messages and pin, may not change roles
    /// or delete the chat.
    pub enum MemberRole {
        Owner = "owner",
        Admin = "admin",
        Moderator = "moderator",
        Member = "member",
    }
}

crate::text_enum! {
    /// A message's kind (seed 004 §2).
    pub enum MessageType {
        Text = "text",
        Image = "image",
        Video = "video",
        Audio = "audio",
        Voice = "voice",
        File = "file",
        CircleVideo = "circle_video",
    }
}

crate::text_enum! {
    /// Who may see a piece of a profile (seed 004 §3.7).
    pub enum Privacy {
        Everyone = "everyone",
        /// Only users in the owner's contact list.
        Contacts = "contacts",
        Nobody = "nobody",
    }
}

impl Privacy {
    /// Whether a viewer sees what this setting guards: `owner_keeps_viewer`
    /// is whether the owner keeps the viewer in their contact list (seed 004
    /// §3.7). The owner always sees their own; callers handle that case.
    pub fn allows(self, owner_keeps_viewer: bool) -> bool {
        match self {
            Privacy::Everyone => true,
            Privacy::Contacts => owner_keeps_viewer,
            Privacy::Nobody => false,
        }
    }
}

crate::text_enum! {
    /// The kind of a logged chat event (`chat_events.type`).
    pub enum EventKind {
        MessageCreated = "message_created",
        MessageUpdated = "message_updated",
        MessageDeleted = "message_deleted",
        ChatCreated = "chat_created",
        ChatUpdated = "chat_updated",
        MemberJoined = "member_joined",
        MemberUpdated = "member_updated",
        MemberLeft = "member_left",
        MessagePinned = "message_pinned",
        ChatDeleted = "chat_deleted",
        ReactionsUpdated = "reactions_updated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_round_trip_and_unknown_values_are_errors() {
        for role in MemberRole::ALL {
            assert_eq!(role.as_str().parse::<MemberRole>(), Ok(*role));
            assert_eq!(
                serde_json::to_value(role).ok(),
                Some(serde_json::json!(role.as_str()))
            );
        }
        assert_eq!(
            "circle_video".parse::<MessageType>(),
            Ok(MessageType::CircleVideo)
        );
        let err = "root".parse::<MemberRole>().err();
        assert_eq!(
            err.map(|e| e.to_string()).as_deref(),
            Some("\"root\" is not a valid MemberRole")
        );
        assert!(serde_json::from_str::<Privacy>("\"friends\"").is_err());
    }
}

/// Which receipt position moved (seed 004 §8): `message_delivered` or
/// `message_read` (reading implies delivery). Not stored as its own column.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    MessageDelivered,
    MessageRead,
}
