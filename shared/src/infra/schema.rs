// @generated-style diesel schema, kept in step with `migrations/` by the
// `schema_matches_database` test (tests/tests/integration/schema.rs).

diesel::table! {
    use diesel::sql_types::*;
    use crate::infra::sql_types::Tsvector;

    users (id) {
        id -> Int8,
        email -> Text,
        name -> Text,
        username -> Text,
        password_hash -> Text,
        bio -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        email_verified -> Bool,
        allow_private_messages -> Bool,
        privacy_last_seen -> Text,
        last_seen_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        privacy_email -> Text,
        privacy_avatar -> Text,
        privacy_group_invites -> Text,
        search_tokens -> Array<Text>,
        search_vector -> Nullable<Tsvector>,
        deactivated_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Int8,
        jti -> Uuid,
        user_id -> Int8,
        refresh_jti -> Uuid,
        device -> Nullable<Text>,
        ip -> Nullable<Text>,
        created_at -> Timestamptz,
        last_used_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    email_tokens (id) {
        id -> Int8,
        user_id -> Int8,
        kind -> Text,
        token_hash -> Text,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    email_deliveries (job_id) {
        job_id -> Uuid,
        user_id -> Int8,
        kind -> Text,
        sent_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::infra::sql_types::Tsvector;

    chats (id) {
        id -> Int8,
        public_id -> Text,
        #[sql_name = "type"]
        chat_type -> Text,
        title -> Nullable<Text>,
        description -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        handle -> Nullable<Text>,
        is_public -> Bool,
        private_key -> Nullable<Text>,
        created_by -> Nullable<Int8>,
        pinned_message_id -> Nullable<Int8>,
        last_seq -> Int8,
        last_activity_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        retention_days -> Nullable<Int4>,
        read_receipts_enabled -> Bool,
        search_tokens -> Array<Text>,
        search_vector -> Nullable<Tsvector>,
    }
}

diesel::table! {
    chat_members (id) {
        id -> Int8,
        chat_id -> Int8,
        user_id -> Int8,
        role -> Text,
        nickname -> Nullable<Text>,
        last_read_message_id -> Int8,
        last_delivered_message_id -> Int8,
        cleared_before_message_id -> Int8,
        muted -> Bool,
        archived -> Bool,
        pinned -> Bool,
        joined_at -> Timestamptz,
        joined_seq -> Int8,
        hidden -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::infra::sql_types::Tsvector;

    messages (id) {
        id -> Int8,
        chat_id -> Int8,
        sender_id -> Nullable<Int8>,
        seq -> Int8,
        #[sql_name = "type"]
        message_type -> Text,
        text -> Text,
        reply_to_message_id -> Nullable<Int8>,
        forwarded_from_message_id -> Nullable<Int8>,
        client_message_id -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        edited_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        search_tokens -> Array<Text>,
        search_vector -> Nullable<Tsvector>,
    }
}

diesel::table! {
    message_edits (id) {
        id -> Int8,
        message_id -> Int8,
        old_text -> Text,
        edited_at -> Timestamptz,
    }
}

diesel::table! {
    message_hidden (user_id, message_id) {
        user_id -> Int8,
        message_id -> Int8,
        hidden_at -> Timestamptz,
    }
}

diesel::table! {
    chat_events (chat_id, seq) {
        chat_id -> Int8,
        seq -> Int8,
        #[sql_name = "type"]
        event_type -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
        message_id -> Nullable<Int8>,
    }
}

diesel::table! {
    user_two_factor (user_id) {
        user_id -> Int8,
        secret -> Text,
        enabled -> Bool,
        last_step -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    blocks (owner_id, blocked_id) {
        owner_id -> Int8,
        blocked_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    invite_links (id) {
        id -> Int8,
        chat_id -> Int8,
        token_hash -> Text,
        created_by -> Nullable<Int8>,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        usage_limit -> Nullable<Int8>,
        used_count -> Int8,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::table! {
    reactions (message_id, user_id, emoji) {
        message_id -> Int8,
        user_id -> Int8,
        emoji -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    bulk_jobs (id) {
        id -> Uuid,
        kind -> Text,
        user_id -> Int8,
        client_message_id -> Text,
        state -> Text,
        request -> Jsonb,
        total -> Int4,
        position -> Int4,
        done -> Int4,
        failed -> Int4,
        failures -> Jsonb,
        lease_owner -> Nullable<Uuid>,
        lease_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    uploads (object_key) {
        object_key -> Text,
        user_id -> Int8,
        file_name -> Text,
        file_type -> Text,
        file_size -> Int8,
        created_at -> Timestamptz,
        attached_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    attachments (id) {
        id -> Int8,
        message_id -> Int8,
        object_key -> Text,
        file_type -> Text,
        file_size -> Int8,
        waveform -> Nullable<Jsonb>,
        created_at -> Timestamptz,
        file_name -> Text,
    }
}

diesel::joinable!(attachments -> messages (message_id));
diesel::table! {
    notifications (id) {
        id -> Int8,
        user_id -> Int8,
        chat_id -> Int8,
        message_id -> Int8,
        event_type -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
    }
}

// The notification fan-out's backlog: one row per message not yet
// handled, queued by a trigger on `messages` (migration 000022).
diesel::table! {
    notification_queue (message_id) {
        message_id -> Int8,
    }
}

diesel::table! {
    devices (id) {
        id -> Int8,
        user_id -> Int8,
        platform -> Text,
        token -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(invite_links -> chats (chat_id));
diesel::joinable!(reactions -> messages (message_id));
diesel::joinable!(user_two_factor -> users (user_id));
diesel::joinable!(email_tokens -> users (user_id));
diesel::joinable!(chat_members -> chats (chat_id));
diesel::joinable!(chat_members -> users (user_id));
diesel::joinable!(messages -> chats (chat_id));
diesel::joinable!(message_edits -> messages (message_id));
diesel::table! {
    search_marks (chat_id) {
        chat_id -> Int8,
        indexed_seq -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(chat_events -> chats (chat_id));
diesel::joinable!(search_marks -> chats (chat_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    email_tokens,
    email_deliveries,
    chats,
    chat_members,
    messages,
    message_edits,
    message_hidden,
    chat_events,
    contacts,
    mentions,
    user_two_factor,
    blocks,
    invite_links,
    reactions,
    attachments,
    uploads,
    notifications,
    notification_queue,
    devices,
    search_marks,
);

diesel::table! {
    outbox (id) {
        id -> Int8,
        job_id -> Uuid,
        queue -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    contacts (owner_id, contact_id) {
        owner_id -> Int8,
        contact_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    mentions (message_id, user_id) {
        message_id -> Int8,
        user_id -> Int8,
    }
}
