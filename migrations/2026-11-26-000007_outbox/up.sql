-- Jobs that must not be lost (issue 6, item 7): written in the transaction
-- that makes them necessary, moved to the Redis queue by the worker's relay,
-- deleted once queued. Jobs are idempotent by job_id, so a row queued twice
-- (a relay that dies between push and commit) still runs once.
CREATE TABLE outbox (
    id         BIGSERIAL PRIMARY KEY,
    job_id     UUID        NOT NULL UNIQUE,
    queue      TEXT        NOT NULL,
    payload    JSONB       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
