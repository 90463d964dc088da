-- Bulk sends handed to the worker (API.md "Bulk send"): the request, how
-- far the worker got, and what failed per receiver. One per sender and
-- client_message_id, so a retried request finds its job.
CREATE TABLE bulk_jobs (
    id                UUID        PRIMARY KEY,
    kind              TEXT        NOT NULL CHECK (kind IN ('bulk_send', 'forward_bulk')),
    user_id           BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_message_id TEXT        NOT NULL,
    state             TEXT        NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'done')),
    -- {"receiver_ids": [...], "text": "..."} or {"message_id", "target_chat_ids"}
    request           JSONB       NOT NULL,
    total             INTEGER     NOT NULL CHECK (total > 0),
    -- Receivers before this index are done (sent or failed).
    position          INTEGER     NOT NULL DEFAULT 0,
    done              INTEGER     NOT NULL DEFAULT 0,
    failed            INTEGER     NOT NULL DEFAULT 0,
    -- [{"receiver_id", "code", "detail"}]
    failures          JSONB       NOT NULL DEFAULT '[]',
    -- The worker run that holds the job, until when.
    lease_owner       UUID        NULL,
    lease_until       TIMESTAMPTZ NULL,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at       TIMESTAMPTZ NULL,
    UNIQUE (user_id, kind, client_message_id)
);
CREATE INDEX bulk_jobs_unfinished_idx ON bulk_jobs (lease_until) WHERE state <> 'done';
