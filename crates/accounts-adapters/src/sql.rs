//! The accounts context's statements, written once for both backends. Parameters are
//! numbered `$1, $2, …` in order of first appearance: PostgreSQL reads them as
//! positions, SQLite as names it numbers in that same order (checked by a test).

use taskdeck_platform::UniqueKey;

/// One account per address, whatever its letter case (`0001_accounts.sql`).
pub(crate) const EMAIL_KEY: UniqueKey =
    UniqueKey { table: "users", columns: &["email_normalized"], constraint: "users_email_normalized_key" };

pub(crate) const CREDENTIALS: &str = "SELECT id, password_hash FROM users WHERE email_normalized = $1";

pub(crate) const PROFILE: &str = "SELECT email FROM users WHERE id = $1";

pub(crate) const USER: &str = "SELECT id, email, password_hash, version FROM users WHERE id = $1";

pub(crate) const INSERT_USER: &str =
    "INSERT INTO users (id, email, email_normalized, password_hash, version, created_at)
     VALUES ($1, $2, $3, $4, 1, $5)";

/// Guarded by the version the account was loaded at: a stale copy changes no row.
pub(crate) const UPDATE_USER: &str =
    "UPDATE users SET email = $1, email_normalized = $2, password_hash = $3, version = version + 1
     WHERE id = $4 AND version = $5";

#[cfg(all(test, feature = "sqlite"))]
pub(crate) const ALL: &[&str] = &[CREDENTIALS, PROFILE, USER, INSERT_USER, UPDATE_USER];
