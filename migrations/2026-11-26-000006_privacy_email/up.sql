-- Who may see a user's email address (issue 6, item 6): everyone, their
-- contacts, or nobody (the default). The user always sees their own.
ALTER TABLE users ADD COLUMN privacy_email TEXT NOT NULL DEFAULT 'nobody'
    CHECK (privacy_email IN ('everyone', 'contacts', 'nobody'));
