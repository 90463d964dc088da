-- A user's contacts (seed 004 §6): owner_id keeps contact_id in their list.
CREATE TABLE contacts (
    owner_id   BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    contact_id BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, contact_id),
    CHECK (owner_id <> contact_id)
);
CREATE INDEX contacts_contact_id_idx ON contacts (contact_id);
