-- Parley's core schema (ARCHITECTURE §2). Every foreign key has an index and an ON DELETE.

CREATE TABLE users (
    id                     BIGSERIAL PRIMARY KEY,
    email                  TEXT        NOT NULL,
    name                   TEXT        NOT NULL,
    username               TEXT        NOT NULL,
    password_hash          TEXT        NOT NULL,
    bio                    TEXT,
    avatar_url             TEXT,
    email_verified         BOOLEAN     NOT NULL DEFAULT FALSE,
    allow_private_messages BOOLEAN     NOT NULL DEFAULT TRUE,
    privacy_last_seen      TEXT        NOT NULL DEFAULT 'everyone'
        CHECK (privacy_last_seen IN ('everyone', 'contacts', 'nobody')),
    last_seen_at           TIMESTAMPTZ,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Emails and usernames are unique regardless of case.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- One row per refresh-token family (a login on one device).
CREATE TABLE sessions (
    id               BIGSERIAL PRIMARY KEY,
    jti              UUID        NOT NULL UNIQUE,
    user_id          BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_jti      UUID        NOT NULL,
    device           TEXT,
    ip               TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at       TIMESTAMPTZ NOT NULL,
    revoked_at       TIMESTAMPTZ
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

-- Email verification / password reset tokens; only a SHA-256 of the token is stored.
CREATE TABLE email_tokens (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT        NOT NULL CHECK (kind IN ('verify_email', 'reset_password')),
    token_hash   TEXT        NOT NULL UNIQUE,
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX email_tokens_user_id_idx ON email_tokens (user_id);

-- Emails the worker has sent, by job id: a job that runs twice sends once.
CREATE TABLE email_deliveries (
    job_id     UUID PRIMARY KEY,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT        NOT NULL,
    sent_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX email_deliveries_user_id_idx ON email_deliveries (user_id);

CREATE TABLE chats (
    id                BIGSERIAL PRIMARY KEY,
    public_id         TEXT        NOT NULL UNIQUE,
    type              TEXT        NOT NULL CHECK (type IN ('private', 'group', 'channel')),
    title             TEXT,
    description       TEXT,
    avatar_url        TEXT,
    handle            TEXT,
    is_public         BOOLEAN     NOT NULL DEFAULT FALSE,
    -- 'min_user_id:max_user_id' for private chats: one private chat per pair.
    private_key       TEXT UNIQUE,
    created_by        BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    pinned_message_id BIGINT,
    last_seq          BIGINT      NOT NULL DEFAULT 0,
    last_message_id   BIGINT,
    last_activity_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((type = 'private') = (private_key IS NOT NULL))
);
CREATE UNIQUE INDEX chats_handle_key ON chats (lower(handle)) WHERE handle IS NOT NULL;
CREATE INDEX chats_created_by_idx ON chats (created_by);

CREATE TABLE chat_members (
    id                        BIGSERIAL PRIMARY KEY,
    chat_id                   BIGINT      NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    user_id                   BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role                      TEXT        NOT NULL DEFAULT 'member'
        CHECK (role IN ('owner', 'admin', 'moderator', 'member')),
    nickname                  TEXT,
    last_read_message_id      BIGINT      NOT NULL DEFAULT 0,
    last_delivered_message_id BIGINT      NOT NULL DEFAULT 0,
    cleared_before_message_id BIGINT      NOT NULL DEFAULT 0,
    muted                     BOOLEAN     NOT NULL DEFAULT FALSE,
    archived                  BOOLEAN     NOT NULL DEFAULT FALSE,
    pinned                    BOOLEAN     NOT NULL DEFAULT FALSE,
    joined_at                 TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (chat_id, user_id)
);
CREATE INDEX chat_members_user_id_idx ON chat_members (user_id);

CREATE TABLE messages (
    id                        BIGSERIAL PRIMARY KEY,
    chat_id                   BIGINT      NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    sender_id                 BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    seq                       BIGINT      NOT NULL,
    type                      TEXT        NOT NULL DEFAULT 'text'
        CHECK (type IN ('text', 'image', 'video', 'audio', 'voice', 'file', 'circle_video')),
    text                      TEXT        NOT NULL,
    reply_to_message_id       BIGINT      REFERENCES messages (id) ON DELETE SET NULL,
    forwarded_from_message_id BIGINT      REFERENCES messages (id) ON DELETE SET NULL,
    client_message_id         TEXT,
    created_at                TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at                TIMESTAMPTZ NOT NULL DEFAULT now(),
    edited_at                 TIMESTAMPTZ,
    deleted_at                TIMESTAMPTZ,
    UNIQUE (chat_id, seq)
);
-- A retried send never creates a second message (ARCHITECTURE §2).
-- (NULL client ids never collide.)
ALTER TABLE messages ADD CONSTRAINT messages_sender_client_id_key UNIQUE (sender_id, client_message_id);
CREATE INDEX messages_chat_id_id_idx ON messages (chat_id, id);
CREATE INDEX messages_sender_id_idx ON messages (sender_id);
CREATE INDEX messages_reply_to_idx ON messages (reply_to_message_id) WHERE reply_to_message_id IS NOT NULL;
CREATE INDEX messages_forwarded_from_idx ON messages (forwarded_from_message_id)
    WHERE forwarded_from_message_id IS NOT NULL;

ALTER TABLE chats ADD CONSTRAINT chats_pinned_message_fk
    FOREIGN KEY (pinned_message_id) REFERENCES messages (id) ON DELETE SET NULL;
ALTER TABLE chats ADD CONSTRAINT chats_last_message_fk
    FOREIGN KEY (last_message_id) REFERENCES messages (id) ON DELETE SET NULL;
CREATE INDEX chats_pinned_message_idx ON chats (pinned_message_id) WHERE pinned_message_id IS NOT NULL;
CREATE INDEX chats_last_message_idx ON chats (last_message_id) WHERE last_message_id IS NOT NULL;

-- Edit history: the text a message had before each edit.
CREATE TABLE message_edits (
    id         BIGSERIAL PRIMARY KEY,
    message_id BIGINT      NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    old_text   TEXT        NOT NULL,
    edited_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX message_edits_message_id_idx ON message_edits (message_id);

-- Delete-for-me.
CREATE TABLE message_hidden (
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message_id BIGINT      NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    hidden_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, message_id)
);
CREATE INDEX message_hidden_message_id_idx ON message_hidden (message_id);

-- The per-chat event log: every durable change in a chat, in seq order (ARCHITECTURE §2).
CREATE TABLE chat_events (
    chat_id    BIGINT      NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    seq        BIGINT      NOT NULL,
    type       TEXT        NOT NULL,
    payload    JSONB       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (chat_id, seq)
);
CREATE INDEX chat_events_created_at_idx ON chat_events (created_at);
