-- A chat deleted for everyone (seed 004 §7) keeps its row, its seq and its
-- last event (`chat_deleted`), so that replicas and catch-up can tell its
-- former members; its members, handle and invite links are gone.
ALTER TABLE chats
    ADD COLUMN deleted_at TIMESTAMPTZ NULL,
    -- Chat settings (seed 001 "room settings"): messages older than this
    -- many days are removed by retention; NULL keeps them.
    ADD COLUMN retention_days INTEGER NULL CHECK (retention_days BETWEEN 1 AND 3650),
    -- Off: members' read positions are not shown to the others.
    ADD COLUMN read_receipts_enabled BOOLEAN NOT NULL DEFAULT TRUE;

-- A private chat deleted "for me" leaves the member's chat list (its
-- history cleared) until a new message arrives.
ALTER TABLE chat_members ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT FALSE;
