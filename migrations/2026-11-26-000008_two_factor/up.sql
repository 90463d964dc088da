-- TOTP two-factor authentication (seed 004 §5), one row per user who set
-- it up: the secret (base32; in force once enabled) and the last time
-- step a code was used for, so that each code works once.
CREATE TABLE user_two_factor (
    user_id    BIGINT      PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     TEXT        NOT NULL,
    enabled    BOOLEAN     NOT NULL DEFAULT FALSE,
    last_step  BIGINT      NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
