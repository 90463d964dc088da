ALTER TABLE users DROP COLUMN privacy_email;
