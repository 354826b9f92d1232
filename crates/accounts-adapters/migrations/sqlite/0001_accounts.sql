-- Accounts context: one row per registered user.
CREATE TABLE users (
    -- UUID chosen by the domain when the account is registered (16-byte blob).
    id BLOB PRIMARY KEY NOT NULL,
    -- The address as the user typed it (trimmed); shown back to them.
    email TEXT NOT NULL,
    -- Lower-cased address: uniqueness is case-insensitive, and login looks it up here.
    email_normalized TEXT NOT NULL UNIQUE,
    -- argon2id PHC string; never the password itself.
    password_hash TEXT NOT NULL,
    -- Optimistic concurrency: every stored change adds one.
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
