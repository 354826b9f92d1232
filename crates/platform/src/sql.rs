//! Statements on the platform's own tables that read the same on every backend, written
//! once. They number their parameters `$1, $2, …` in order of first appearance, which
//! PostgreSQL reads as positions and SQLite as names it numbers in that same order.

/// The inbox mark of a handled event; inserts nothing when it is there already.
pub const MARK_EVENT_HANDLED: &str = "INSERT INTO inbox (consumer, event_id, handled_at) VALUES ($1, $2, $3)
     ON CONFLICT (consumer, event_id) DO NOTHING";

/// Stores a setting unless one is stored under its key already.
pub const INSERT_SETTING: &str = "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";

/// The value stored under a key.
pub const SETTING: &str = "SELECT value FROM settings WHERE key = $1";

/// How many events are pending and how many dead.
pub const OUTBOX_STATS: &str = "SELECT COUNT(*) FILTER (WHERE dead_at IS NULL) AS pending,
            COUNT(*) FILTER (WHERE dead_at IS NOT NULL) AS dead
     FROM outbox";

/// When the oldest pending event occurred (none: no row).
pub const OUTBOX_OLDEST_PENDING: &str =
    "SELECT occurred_at FROM outbox WHERE dead_at IS NULL ORDER BY sequence LIMIT 1";

/// Every signing key.
pub const SIGNING_KEYS: &str = "SELECT kid, private_key, public_key, created_at, superseded_at FROM signing_keys";

/// The first signing key, unless there is one.
pub const FIRST_SIGNING_KEY: &str =
    "INSERT INTO signing_keys (generation, kid, private_key, public_key, created_at, superseded_at)
     VALUES (1, $1, $2, $3, $4, NULL)
     ON CONFLICT (generation) DO NOTHING";

/// Marks the signing key superseded, before a newer one is added.
pub const SUPERSEDE_SIGNING_KEY: &str = "UPDATE signing_keys SET superseded_at = $1 WHERE superseded_at IS NULL";

/// A newer signing key: the next generation (two rotations at once collide on it).
pub const NEWER_SIGNING_KEY: &str =
    "INSERT INTO signing_keys (generation, kid, private_key, public_key, created_at, superseded_at)
     VALUES ((SELECT COALESCE(MAX(generation), 0) + 1 FROM signing_keys), $1, $2, $3, $4, NULL)";

/// Claims an idempotency key nobody holds; inserts nothing when the key is held.
pub const INSERT_IDEMPOTENCY_CLAIM: &str =
    "INSERT INTO idempotency_keys (caller, idempotency_key, fingerprint, claim, claimed_at)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (caller, idempotency_key) DO NOTHING";

/// What a held key stands for (PostgreSQL appends `FOR UPDATE`).
pub const IDEMPOTENCY_KEY: &str =
    "SELECT fingerprint, claimed_at, status, location, entity_tag, body FROM idempotency_keys
     WHERE caller = $1 AND idempotency_key = $2";

/// Takes over an expired or abandoned key for a new request.
pub const TAKE_OVER_IDEMPOTENCY_KEY: &str = "UPDATE idempotency_keys
     SET fingerprint = $1, claim = $2, claimed_at = $3, status = NULL, location = NULL, entity_tag = NULL, body = NULL
     WHERE caller = $4 AND idempotency_key = $5";

/// Writes the answer under a claim that is still this request's and unanswered.
pub const RECORD_IDEMPOTENT_ANSWER: &str = "UPDATE idempotency_keys
     SET status = $1, location = $2, entity_tag = $3, body = $4
     WHERE caller = $5 AND idempotency_key = $6 AND claim = $7 AND status IS NULL";

/// Gives up an unanswered claim.
pub const RELEASE_IDEMPOTENCY_CLAIM: &str = "DELETE FROM idempotency_keys
     WHERE caller = $1 AND idempotency_key = $2 AND claim = $3 AND status IS NULL";

pub const PURGE_IDEMPOTENCY_KEYS: &str = "DELETE FROM idempotency_keys WHERE claimed_at < $1";
