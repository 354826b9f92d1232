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
