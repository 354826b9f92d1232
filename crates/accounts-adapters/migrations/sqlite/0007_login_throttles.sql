-- Accounts context: failed logins per address, counted here so that every instance on
-- the database agrees. Keyed by the SHA-256 of the address as typed (trimmed,
-- lowercased), for unknown addresses too: no address is stored, and a row says
-- nothing about whether an account exists.
CREATE TABLE login_throttles (
    key BLOB PRIMARY KEY NOT NULL,
    -- Microseconds since the Unix epoch: the first failed login of the current window.
    window_started_at INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    -- Optimistic concurrency: attempts racing each other are counted one by one.
    version INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Throttles whose window has passed are removed while new ones are added.
CREATE INDEX login_throttles_by_window ON login_throttles (window_started_at);
