DROP TRIGGER messages_queue_notifications ON messages;
DROP FUNCTION queue_message_notifications();

ALTER TABLE messages ADD COLUMN notified_at TIMESTAMPTZ NULL DEFAULT now();
ALTER TABLE messages ALTER COLUMN notified_at DROP DEFAULT;
UPDATE messages SET notified_at = NULL
    WHERE id IN (SELECT message_id FROM notification_queue);
CREATE INDEX messages_unnotified_idx ON messages (id) WHERE notified_at IS NULL;

DROP TABLE notification_queue;
