-- An operator's deactivation (`parley-admin deactivate`): the account can
-- no longer log in; its sessions were revoked when it was set. NULL = active.
ALTER TABLE users ADD COLUMN deactivated_at TIMESTAMPTZ;
