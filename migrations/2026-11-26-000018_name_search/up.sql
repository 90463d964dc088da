-- User and chat search with the message tokenizer (issue 10, item 5):
-- users by name and username, chats by title and handle. Parley writes
-- the tokens (domain::search_tokens::name_tokens) whenever these change.
-- Rows that exist already get a plain word split here (no CJK bigrams,
-- which only the Rust tokenizer makes); `parley-api reindex` writes the
-- exact tokens.
ALTER TABLE users
    ADD COLUMN search_tokens TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN search_vector TSVECTOR
        GENERATED ALWAYS AS (array_to_tsvector(search_tokens)) STORED;
UPDATE users SET search_tokens = array_remove(
    regexp_split_to_array(lower(name || ' ' || username), '[^[:alnum:]]+'), '');
CREATE INDEX users_search_idx ON users USING GIN (search_vector);

ALTER TABLE chats
    ADD COLUMN search_tokens TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN search_vector TSVECTOR
        GENERATED ALWAYS AS (array_to_tsvector(search_tokens)) STORED;
UPDATE chats SET search_tokens = array_remove(
    regexp_split_to_array(lower(COALESCE(title, '') || ' ' || COALESCE(handle, '')),
                          '[^[:alnum:]]+'), '');
CREATE INDEX chats_search_idx ON chats USING GIN (search_vector);
