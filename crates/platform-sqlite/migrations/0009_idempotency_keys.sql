-- Idempotency keys of creating requests: claimed before the effect, answered in the
-- effect's own transaction, forgotten 24 hours after the claim.
CREATE TABLE idempotency_keys (
    -- A user id, or 'anonymous' for registrations.
    caller TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    -- HMAC of method, path and body under the installation's fingerprint key.
    fingerprint BLOB NOT NULL,
    -- The token of the request that holds the key.
    claim BLOB NOT NULL,
    -- Unix microseconds.
    claimed_at INTEGER NOT NULL,
    -- The answer; NULL while the claiming request has not committed its effect.
    status INTEGER,
    location TEXT,
    entity_tag TEXT,
    body BLOB,
    PRIMARY KEY (caller, idempotency_key)
) STRICT, WITHOUT ROWID;

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (claimed_at);
