ALTER TABLE users DROP COLUMN privacy_group_invites, DROP COLUMN privacy_avatar;
