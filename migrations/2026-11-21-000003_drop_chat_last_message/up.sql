-- The chat list computes each chat's last message itself; keeping a copy on
-- the chat cost one more UPDATE per send.
ALTER TABLE chats DROP COLUMN last_message_id;
