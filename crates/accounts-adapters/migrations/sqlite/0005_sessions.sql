-- Accounts context: sessions, one per signed-in device, and the refresh tokens they
-- issued. A session row stays when the session ends: `revoked_at` is how every
-- instance learns to refuse its access tokens. Instants that are compared or sorted
-- are microseconds since the Unix epoch (RFC 3339 text does not sort by time when the
-- number of fraction digits varies).
CREATE TABLE sessions (
    id BLOB PRIMARY KEY NOT NULL,
    -- No foreign key to users: an erased account's sessions stay, revoked.
    user_id BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    -- The first 256 characters of the login's User-Agent, when it sent one.
    user_agent TEXT,
    -- When the live refresh token expires; a session past it is over.
    refresh_expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    -- Optimistic concurrency: every stored change adds one.
    version INTEGER NOT NULL
) STRICT;

-- A user's sessions, newest first.
CREATE INDEX sessions_by_user ON sessions (user_id, created_at) WHERE revoked_at IS NULL;
-- What every instance looks at twice a second: the sessions revoked lately.
CREATE INDEX sessions_by_revocation ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE refresh_tokens (
    -- SHA-256 of the token: the token itself is never stored.
    digest BLOB PRIMARY KEY NOT NULL,
    session_id BLOB NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    -- Set when a refresh spent it; a spent token presented again revokes its session.
    -- A session has exactly one token without it: its live one.
    spent_at INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id) WHERE spent_at IS NULL;
