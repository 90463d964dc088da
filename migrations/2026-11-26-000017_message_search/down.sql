DROP INDEX messages_search_idx;
ALTER TABLE messages DROP COLUMN search_vector, DROP COLUMN search_tokens;
