//! Who may do what in a chat: one table of role × action, asked by every
//! domain operation (STYLE.md, "One permission table"). Chat-type rules
//! that are not about roles (a private chat has no member management) stay
//! with the operation.
//!
//! Roles (seed 004 §2, seed 003): `owner` (one per group or channel),
//! `admin`, `moderator` (seed 003's sub-admin: deletes others' messages and
//! pins; does not manage members, roles or the chat), `member`.

use crate::domain::models::{ChatType, MemberRole};

/// Something a member may try to do in a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send a message. In a channel only owners and admins post.
    PostMessage,
    /// Delete someone else's message for everyone (one's own: always).
    DeleteOthersMessage,
    /// Pin or unpin a message.
    PinMessage,
    /// Add a user to the chat.
    AddMember,
    /// Remove a member of a lower rank (see [`can_act_on`]).
    RemoveMember,
    /// Change a member's role (of a lower rank, to a lower rank).
    ChangeRole,
    /// Rename, describe or change the avatar of the chat.
    EditChatInfo,
    /// Change the chat's settings (retention, read receipts).
    ChangeSettings,
    /// Delete the whole chat for everyone.
    DeleteChat,
}

impl Action {
    /// Every action, in the table's order.
    pub const ALL: [Action; 9] = [
        Action::PostMessage,
        Action::DeleteOthersMessage,
        Action::PinMessage,
        Action::AddMember,
        Action::RemoveMember,
        Action::ChangeRole,
        Action::EditChatInfo,
        Action::ChangeSettings,
        Action::DeleteChat,
    ];
}

/// The table: which roles may do `action` in a chat of `chat_type`,
/// as `[owner, admin, moderator, member]`.
fn row(chat_type: ChatType, action: Action) -> [bool; 4] {
    use Action::*;
    match (chat_type, action) {
        (ChatType::Channel, PostMessage) => [true, true, false, false],
        // Both members of a private chat are plain members; either pins.
        (ChatType::Private, PinMessage) => [true, true, true, true],
        // A private chat belongs to both: either sets it up or deletes it.
        (ChatType::Private, ChangeSettings) => [true, true, true, true],
        (ChatType::Private, DeleteChat) => [true, true, true, true],
        (_, PostMessage) => [true, true, true, true],
        (_, DeleteOthersMessage) => [true, true, true, false],
        (_, PinMessage) => [true, true, true, false],
        (_, AddMember) => [true, true, false, false],
        (_, RemoveMember) => [true, true, false, false],
        (_, ChangeRole) => [true, false, false, false],
        (_, EditChatInfo) => [true, true, false, false],
        (_, ChangeSettings) => [true, true, false, false],
        (_, DeleteChat) => [true, false, false, false],
    }
}

fn column(role: MemberRole) -> usize {
    match role {
        MemberRole::Owner => 0,
        MemberRole::Admin => 1,
        MemberRole::Moderator => 2,
        MemberRole::Member => 3,
    }
}

/// Whether a member with `role` may do `action` in a chat of `chat_type`.
pub fn allows(chat_type: ChatType, role: MemberRole, action: Action) -> bool {
    row(chat_type, action)[column(role)]
}

/// A role's rank: owner 3, admin 2, moderator 1, member 0.
pub fn rank(role: MemberRole) -> u8 {
    3 - column(role) as u8
}

/// Whether `actor` may do `action` (removing, changing the role of) to a
/// member with role `target`: the action is allowed to the actor's role and
/// the target ranks below the actor (so no one acts on an equal or on
/// themself: the owner leaves instead of removing themself).
pub fn can_act_on(
    chat_type: ChatType,
    actor: MemberRole,
    action: Action,
    target: MemberRole,
) -> bool {
    allows(chat_type, actor, action) && rank(target) < rank(actor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use MemberRole::*;

    /// The table as a reader checks it: one line per action, `x` = allowed,
    /// columns owner / admin / moderator / member.
    #[test]
    fn the_table() {
        let render = |chat_type: ChatType| -> Vec<String> {
            Action::ALL
                .iter()
                .map(|action| {
                    let marks: String = [Owner, Admin, Moderator, Member]
                        .iter()
                        .map(|role| {
                            if allows(chat_type, *role, *action) {
                                'x'
                            } else {
                                '.'
                            }
                        })
                        .collect();
                    format!("{action:?}: {marks}")
                })
                .collect()
        };
        assert_eq!(
            render(ChatType::Group),
            [
                "PostMessage: xxxx",
                "DeleteOthersMessage: xxx.",
                "PinMessage: xxx.",
                "AddMember: xx..",
                "RemoveMember: xx..",
                "ChangeRole: x...",
                "EditChatInfo: xx..",
                "ChangeSettings: xx..",
                "DeleteChat: x...",
            ]
        );
        let channel = render(ChatType::Channel);
        assert_eq!(channel[0], "PostMessage: xx..");
        assert_eq!(channel[1..], render(ChatType::Group)[1..]);
        let private = render(ChatType::Private);
        assert_eq!(private[2], "PinMessage: xxxx");
        assert_eq!(private[..2], render(ChatType::Group)[..2]);
        assert_eq!(private[3..7], render(ChatType::Group)[3..7]);
        assert_eq!(private[7..], ["ChangeSettings: xxxx", "DeleteChat: xxxx"]);
    }

    #[test]
    fn members_are_acted_on_only_by_higher_ranks() {
        let g = ChatType::Group;
        assert!(can_act_on(g, Owner, Action::RemoveMember, Admin));
        assert!(can_act_on(g, Admin, Action::RemoveMember, Moderator));
        assert!(can_act_on(g, Admin, Action::RemoveMember, Member));
        assert!(!can_act_on(g, Admin, Action::RemoveMember, Admin));
        assert!(!can_act_on(g, Admin, Action::RemoveMember, Owner));
        assert!(!can_act_on(g, Owner, Action::RemoveMember, Owner));
        assert!(!can_act_on(g, Moderator, Action::RemoveMember, Member));
        assert!(!can_act_on(g, Admin, Action::ChangeRole, Member));
        assert!(can_act_on(g, Owner, Action::ChangeRole, Admin));
    }
}
