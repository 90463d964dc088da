-- The notification fan-out's backlog as rows of their own (issue 13).
-- Marking each handled message (`messages.notified_at`) rewrote the
-- message's row and every index of `messages`: a second write of every
-- message. Now each new message queues its id here (one narrow row, from
-- a trigger on every insert path), and the fan-out deletes the ids it
-- handled in the transaction that writes their notifications.
--
-- No foreign key: a queued id whose message is gone is taken and dropped
-- like any other, and the insert need not look the message up again.
CREATE TABLE notification_queue (
    message_id BIGINT PRIMARY KEY
);

INSERT INTO notification_queue (message_id)
    SELECT id FROM messages WHERE notified_at IS NULL;

DROP INDEX messages_unnotified_idx;
ALTER TABLE messages DROP COLUMN notified_at;

-- One statement per insert, however many rows it wrote (a group commit
-- writes a batch of messages with one INSERT).
CREATE FUNCTION queue_message_notifications() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notification_queue (message_id) SELECT id FROM new_messages;
    RETURN NULL;
END
$$;

CREATE TRIGGER messages_queue_notifications
    AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_messages
    FOR EACH STATEMENT
    EXECUTE FUNCTION queue_message_notifications();
