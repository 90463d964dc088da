DROP INDEX messages_unnotified_idx;
ALTER TABLE messages DROP COLUMN notified_at;
DROP TABLE devices;
DROP TABLE notifications;
