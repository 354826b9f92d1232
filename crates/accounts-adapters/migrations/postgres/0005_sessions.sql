-- Accounts context: sessions, one per signed-in device, and the refresh tokens they
-- issued. A session row stays when the session ends: `revoked_at` is how every
-- instance learns to refuse its access tokens.
CREATE TABLE sessions (
    id uuid PRIMARY KEY,
    -- No foreign key to users: an erased account's sessions stay, revoked.
    user_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    -- The first 256 characters of the login's User-Agent, when it sent one.
    user_agent text,
    -- When the live refresh token expires; a session past it is over.
    refresh_expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    -- Optimistic concurrency: every stored change adds one.
    version bigint NOT NULL
);

-- A user's sessions, newest first.
CREATE INDEX sessions_by_user ON sessions (user_id, created_at) WHERE revoked_at IS NULL;
-- What every instance looks at twice a second: the sessions revoked lately.
CREATE INDEX sessions_by_revocation ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE refresh_tokens (
    -- SHA-256 of the token: the token itself is never stored.
    digest bytea PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    -- Set when a refresh spent it; a spent token presented again revokes its session.
    -- A session has exactly one token without it: its live one.
    spent_at timestamptz
);

CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id) WHERE spent_at IS NULL;
