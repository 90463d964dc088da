ALTER TABLE chat_members DROP COLUMN joined_seq;
DROP INDEX chat_events_message_id_idx;
ALTER TABLE chat_events DROP COLUMN message_id;
