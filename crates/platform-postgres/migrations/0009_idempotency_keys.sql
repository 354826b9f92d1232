-- Idempotency keys of creating requests: claimed before the effect, answered in the
-- effect's own transaction, forgotten 24 hours after the claim.
CREATE TABLE idempotency_keys (
    -- A user id, or 'anonymous' for registrations.
    caller text NOT NULL,
    idempotency_key text NOT NULL,
    -- HMAC of method, path and body under the installation's fingerprint key.
    fingerprint bytea NOT NULL,
    -- The token of the request that holds the key.
    claim uuid NOT NULL,
    claimed_at timestamptz NOT NULL,
    -- The answer; NULL while the claiming request has not committed its effect.
    status integer,
    location text,
    entity_tag text,
    body bytea,
    PRIMARY KEY (caller, idempotency_key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (claimed_at);
