ALTER TABLE chat_members DROP COLUMN joined_seq;
ALTER TABLE chat_events DROP COLUMN message_id;
