-- How far the Meilisearch index has taken each chat's event log (issue
-- 10): the worker indexes the messages of events after `indexed_seq`, then
-- moves it on, in the transaction that holds the row (so two workers never
-- index one chat at once). Unused on PostgreSQL search.
CREATE TABLE search_marks (
    chat_id BIGINT PRIMARY KEY REFERENCES chats (id) ON DELETE CASCADE,
    indexed_seq BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
