//! The native API's reads (seed 004 §3): domain views, snapshots and rows
//! rendered into the JSON bodies of `crate::wire::native::dto`.

use crate::domain::events::{
    AttachmentSnapshot, ChatSnapshot, MemberSnapshot, MessageSnapshot, ReactionCount,
};
use crate::domain::invites::{InviteLink, NewInvite};
use crate::domain::kinds::ChatType;
use crate::domain::models::message::MessageEdit;
use crate::domain::models::notification::{Device, Notification};
use crate::domain::two_factor::TwoFactorSetup;
use crate::domain::views::{
    AccountView, BulkFailure, ChatAttachment, ChatDetail, ChatSettings, ChatView, DeliveryStatus,
    JobView, MessageView, NotificationSettings, PublicChat, SearchHit, TokenPair, UploadUrl,
};
use crate::wire::native::dto::{
    AttachmentRead, AuthUserResponse, BulkFailureRead, BulkSendRead, ChatAttachmentRead,
    ChatDetailRead, ChatDiscoverRead, ChatInfo, ChatMemberRead, ChatNotificationSettingsRead,
    ChatRead, ChatSettingsRead, DeviceRead, InviteLinkCreatedRead, InviteLinkRead, JobRead,
    MessageEditRead, MessageReactionRead, MessageRead, MessageSearchRead, NotificationRead,
    ReactionSummary, TokenResponse, TwoFactorSetupRead, UploadUrlRead,
};

/// `MessageRead` of a message as its reader sees it.
pub fn message_view(view: &MessageView) -> MessageRead {
    let mut read = message(&view.message, view.delivery_status);
    for reaction in &mut read.reactions {
        reaction.reacted = Some(view.my_reactions.contains(&reaction.emoji));
    }
    read
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

/// `MessageReactionRead[]` (seed 004 §8): a message's reaction counts,
/// each with whether the reader is among them.
pub fn reactions(counts: &[ReactionCount], mine: &[String]) -> Vec<MessageReactionRead> {
    counts
        .iter()
        .map(|r| MessageReactionRead {
            emoji: r.emoji.clone(),
            count: r.count,
            reacted: mine.contains(&r.emoji),
        })
        .collect()
}

/// `AttachmentRead` of a message's attachment.
pub fn attachment(message_id: i64, a: &AttachmentSnapshot) -> AttachmentRead {
    AttachmentRead {
        id: a.id,
        message_id,
        file_url: a.file_url.clone(),
        file_name: a.file_name.clone(),
        file_type: a.file_type.clone(),
        file_size: a.file_size,
        waveform_points: a.waveform_points.clone(),
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
        attachment_waveform: m.attachments.iter().find_map(|a| a.waveform_points.clone()),
        reactions: m
            .reactions
            .iter()
            .map(|r| ReactionSummary {
                emoji: r.emoji.clone(),
                count: r.count,
                reacted: None,
            })
            .collect(),
        attachments: m.attachments.iter().map(|a| attachment(m.id, a)).collect(),
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

/// `ChatSettingsRead`.
pub fn chat_settings(settings: &ChatSettings) -> ChatSettingsRead {
    ChatSettingsRead {
        chat_id: settings.chat_id,
        retention_days: settings.retention_days,
        read_receipts_enabled: settings.read_receipts_enabled,
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
        retention_days: c.retention_days,
        read_receipts_enabled: c.read_receipts_enabled,
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

fn bulk_failure(failure: &BulkFailure) -> BulkFailureRead {
    BulkFailureRead {
        receiver_id: failure.receiver_id,
        code: failure.code.clone(),
        detail: failure.detail.clone(),
    }
}

/// `BulkSendRead` of a bulk send done in the request.
pub fn bulk_sent(messages: &[MessageView], failures: &[BulkFailure]) -> BulkSendRead {
    BulkSendRead {
        messages: messages.iter().map(message_view).collect(),
        failures: failures.iter().map(bulk_failure).collect(),
    }
}

/// `JobRead`.
pub fn job(view: &JobView) -> JobRead {
    let job = &view.job;
    JobRead {
        id: job.id,
        kind: job.kind.clone(),
        state: job.state.clone(),
        total: job.total,
        done: job.done,
        failed: job.failed,
        failures: view.failures.iter().map(bulk_failure).collect(),
        created_at: job.created_at,
        updated_at: job.updated_at,
        finished_at: job.finished_at,
    }
}

/// `UploadUrlResponse`.
pub fn upload_url(url: &UploadUrl) -> UploadUrlRead {
    UploadUrlRead {
        upload_url: url.upload_url.clone(),
        file_url: url.file_url.clone(),
        object_key: url.object_key.clone(),
        expires_in: url.expires_in,
        required_headers: url.required_headers.clone(),
    }
}

/// `ChatAttachmentRead[]`.
pub fn chat_attachments(files: &[ChatAttachment]) -> Vec<ChatAttachmentRead> {
    files
        .iter()
        .map(|f| {
            let a = f.attachment.snapshot();
            ChatAttachmentRead {
                id: a.id,
                message_id: f.attachment.message_id,
                sender_id: f.sender_id,
                message_type: f.message_type.clone(),
                message_created_at: f.message_created_at,
                file_url: a.file_url,
                file_type: a.file_type,
                file_size: a.file_size,
            }
        })
        .collect()
}

/// `NotificationRead`.
pub fn notification(n: &Notification) -> NotificationRead {
    NotificationRead {
        id: n.id,
        user_id: n.user_id,
        event_type: n.event_type.clone(),
        payload: n.payload.to_string(),
        created_at: n.created_at,
    }
}

/// `DeviceRead`.
pub fn device(d: &Device) -> DeviceRead {
    DeviceRead {
        id: d.id,
        platform: d.platform.clone(),
        created_at: d.created_at,
        updated_at: d.updated_at,
    }
}

/// `MessageSearchRead[]`.
pub fn search_hits(hits: &[SearchHit]) -> Vec<MessageSearchRead> {
    hits.iter()
        .map(|hit| MessageSearchRead {
            message: message_view(&hit.view),
            highlight: hit.highlight.clone(),
        })
        .collect()
}
