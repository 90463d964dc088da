-- Members mentioned (@username) in a message, for unread_mentions_count and
-- MessageRead.mentions.
CREATE TABLE mentions (
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX mentions_user_id_idx ON mentions (user_id);
