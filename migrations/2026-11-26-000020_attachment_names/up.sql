-- The name each file was uploaded with, kept with the attachment so that
-- messages show it (seed 001's `file_name`, seed 000's attachment `name`,
-- the native `file_name`). Every attachment came from an upload, whose row
-- is kept once attached: the backfill names them all.
ALTER TABLE attachments ADD COLUMN file_name TEXT NOT NULL DEFAULT '';
UPDATE attachments
SET file_name = uploads.file_name
FROM uploads
WHERE uploads.object_key = attachments.object_key;
ALTER TABLE attachments ALTER COLUMN file_name DROP DEFAULT;
