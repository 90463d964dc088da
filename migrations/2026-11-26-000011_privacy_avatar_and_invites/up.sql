-- Who may see a user's avatar, and who may add them to groups and
-- channels (seed 004 §3.7): everyone (the default), their contacts, or
-- nobody.
ALTER TABLE users
    ADD COLUMN privacy_avatar TEXT NOT NULL DEFAULT 'everyone'
        CHECK (privacy_avatar IN ('everyone', 'contacts', 'nobody')),
    ADD COLUMN privacy_group_invites TEXT NOT NULL DEFAULT 'everyone'
        CHECK (privacy_group_invites IN ('everyone', 'contacts', 'nobody'));
