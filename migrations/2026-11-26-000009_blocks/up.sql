-- Blocks (seed 004 §6): owner_id blocked blocked_id. Between the two there
-- is no private chat to open, no message in their private chat, no adding
-- the blocker to a group by the blocked, and no presence either way.
CREATE TABLE blocks (
    owner_id   BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, blocked_id),
    CHECK (owner_id <> blocked_id)
);
CREATE INDEX blocks_blocked_id_idx ON blocks (blocked_id);
