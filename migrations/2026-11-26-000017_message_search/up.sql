-- Message search (issue 10): the tokens Parley's tokenizer makes of a
-- message (domain::search_tokens: CJK bigrams and runs, folded words),
-- written with the message, and their tsvector with a GIN index.
ALTER TABLE messages
    ADD COLUMN search_tokens TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN search_vector TSVECTOR
        GENERATED ALWAYS AS (array_to_tsvector(search_tokens)) STORED;
CREATE INDEX messages_search_idx ON messages USING GIN (search_vector);
