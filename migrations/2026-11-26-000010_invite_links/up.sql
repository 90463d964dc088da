-- Invite links of groups and channels (seed 004 §7, §13): the token is
-- shown once and stored hashed; a link may expire, have a use limit, and
-- be revoked.
CREATE TABLE invite_links (
    id          BIGSERIAL   PRIMARY KEY,
    chat_id     BIGINT      NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    token_hash  TEXT        NOT NULL UNIQUE,
    created_by  BIGINT      NULL REFERENCES users (id) ON DELETE SET NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NULL,
    usage_limit BIGINT      NULL CHECK (usage_limit > 0),
    used_count  BIGINT      NOT NULL DEFAULT 0,
    revoked_at  TIMESTAMPTZ NULL
);
CREATE INDEX invite_links_chat_id_idx ON invite_links (chat_id);
CREATE INDEX invite_links_created_by_idx ON invite_links (created_by);
