-- Accounts context: one row per registered user.
CREATE TABLE users (
    -- Chosen by the domain when the account is registered.
    id uuid PRIMARY KEY,
    -- The address as the user typed it (trimmed); shown back to them.
    email text NOT NULL,
    -- Lower-cased address: uniqueness is case-insensitive, and login looks it up here.
    email_normalized text NOT NULL CONSTRAINT users_email_normalized_key UNIQUE,
    -- argon2id PHC string; never the password itself.
    password_hash text NOT NULL,
    -- Optimistic concurrency: every stored change adds one.
    version bigint NOT NULL,
    created_at timestamptz NOT NULL
);
