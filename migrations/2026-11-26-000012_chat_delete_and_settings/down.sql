ALTER TABLE chat_members DROP COLUMN hidden;
ALTER TABLE chats
    DROP COLUMN read_receipts_enabled,
    DROP COLUMN retention_days,
    DROP COLUMN deleted_at;
