-- Uploads (seed 004 §9): each presigned upload URL Parley handed out, so
-- that an attachment can be checked against it and an upload never
-- attached can be cleaned up.
CREATE TABLE uploads (
    object_key  TEXT        PRIMARY KEY,
    user_id     BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    file_name   TEXT        NOT NULL,
    file_type   TEXT        NOT NULL,
    file_size   BIGINT      NOT NULL CHECK (file_size > 0),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    attached_at TIMESTAMPTZ NULL
);
CREATE INDEX uploads_user_id_idx ON uploads (user_id);
CREATE INDEX uploads_unattached_idx ON uploads (created_at) WHERE attached_at IS NULL;

-- A file of a message. A forwarded message's copy shares the object.
CREATE TABLE attachments (
    id          BIGSERIAL   PRIMARY KEY,
    message_id  BIGINT      NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    object_key  TEXT        NOT NULL REFERENCES uploads (object_key) ON DELETE CASCADE,
    file_type   TEXT        NOT NULL,
    file_size   BIGINT      NOT NULL,
    -- Voice / audio: the waveform's points, 0-255.
    waveform    JSONB       NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX attachments_message_id_idx ON attachments (message_id);
CREATE INDEX attachments_object_key_idx ON attachments (object_key);
