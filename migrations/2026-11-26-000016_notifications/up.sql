-- Notifications (seed 004 §10): what a member missed while away, or a
-- mention in a chat they muted. One per user per message.
CREATE TABLE notifications (
    id         BIGSERIAL   PRIMARY KEY,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    chat_id    BIGINT      NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    message_id BIGINT      NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    event_type TEXT        NOT NULL CHECK (event_type IN ('message_created', 'mention')),
    payload    JSONB       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (user_id, message_id)
);
CREATE INDEX notifications_user_page_idx ON notifications (user_id, id DESC);
CREATE INDEX notifications_chat_id_idx ON notifications (chat_id);
CREATE INDEX notifications_message_id_idx ON notifications (message_id);

-- Push targets: a browser's Web Push subscription, an FCM or APNs token.
CREATE TABLE devices (
    id         BIGSERIAL   PRIMARY KEY,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    platform   TEXT        NOT NULL CHECK (platform IN ('web', 'fcm', 'apns')),
    token      TEXT        NOT NULL CHECK (length(token) BETWEEN 1 AND 4096),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (platform, token)
);
CREATE INDEX devices_user_id_idx ON devices (user_id);

-- Set once the notification fan-out has handled the message; the fan-out
-- takes the messages still NULL. Messages sent before this migration count
-- as handled.
ALTER TABLE messages ADD COLUMN notified_at TIMESTAMPTZ NULL DEFAULT now();
ALTER TABLE messages ALTER COLUMN notified_at DROP DEFAULT;
CREATE INDEX messages_unnotified_idx ON messages (id) WHERE notified_at IS NULL;
