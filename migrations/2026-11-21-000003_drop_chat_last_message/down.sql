ALTER TABLE chats ADD COLUMN last_message_id BIGINT;
ALTER TABLE chats ADD CONSTRAINT chats_last_message_fk
    FOREIGN KEY (last_message_id) REFERENCES messages (id) ON DELETE SET NULL;
CREATE INDEX chats_last_message_idx ON chats (last_message_id) WHERE last_message_id IS NOT NULL;
UPDATE chats c SET last_message_id = (SELECT max(m.id) FROM messages m WHERE m.chat_id = c.id);
