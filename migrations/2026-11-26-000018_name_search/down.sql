DROP INDEX chats_search_idx;
ALTER TABLE chats DROP COLUMN search_vector, DROP COLUMN search_tokens;
DROP INDEX users_search_idx;
ALTER TABLE users DROP COLUMN search_vector, DROP COLUMN search_tokens;
