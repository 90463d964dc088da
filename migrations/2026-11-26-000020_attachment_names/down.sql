ALTER TABLE attachments DROP COLUMN file_name;
