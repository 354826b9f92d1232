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

/// Guarded by the version the account was loaded at.
pub(crate) const DELETE_USER: &str = "DELETE FROM users WHERE id = $1 AND version = $2";

/// Every live session of a user but one (a nil id spares none).
pub(crate) const REVOKE_SESSIONS_OF: &str = "UPDATE sessions SET revoked_at = $1, version = version + 1
     WHERE user_id = $2 AND revoked_at IS NULL AND id <> $3
     RETURNING id";

/// A session with its live refresh token (the one no refresh has spent).
macro_rules! session_columns {
    () => {
        "s.id, s.user_id, s.created_at, s.last_used_at, s.user_agent, s.refresh_expires_at, s.revoked_at,
                s.version, live.digest AS refresh"
    };
}

/// The session a refresh token belongs to, and whether that token is spent.
macro_rules! session_by_refresh_token {
    () => {
        concat!(
            "SELECT t.spent_at IS NOT NULL AS spent, ",
            session_columns!(),
            "
         FROM refresh_tokens t
         JOIN sessions s ON s.id = t.session_id
         JOIN refresh_tokens live ON live.session_id = s.id AND live.spent_at IS NULL
         WHERE t.digest = $1"
        )
    };
}

macro_rules! session_by_id {
    () => {
        concat!(
            "SELECT ",
            session_columns!(),
            "
         FROM sessions s
         JOIN refresh_tokens live ON live.session_id = s.id AND live.spent_at IS NULL
         WHERE s.id = $1"
        )
    };
}

/// SQLite: the unit of work holds the database's only write lock already.
#[cfg(feature = "sqlite")]
pub(crate) const SESSION_BY_REFRESH_TOKEN: &str = session_by_refresh_token!();
#[cfg(feature = "sqlite")]
pub(crate) const SESSION: &str = session_by_id!();

/// PostgreSQL: two refreshes with one token, or a refresh and a logout, queue on the
/// session's row until commit.
#[cfg(feature = "postgres")]
pub(crate) const SESSION_BY_REFRESH_TOKEN_FOR_UPDATE: &str = concat!(session_by_refresh_token!(), " FOR UPDATE OF s");
#[cfg(feature = "postgres")]
pub(crate) const SESSION_FOR_UPDATE: &str = concat!(session_by_id!(), " FOR UPDATE OF s");

pub(crate) const INSERT_SESSION: &str =
    "INSERT INTO sessions (id, user_id, created_at, last_used_at, user_agent, refresh_expires_at,
                           revoked_at, version)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 1)";

/// Guarded by the version the session was loaded at: a stale copy changes no row.
pub(crate) const UPDATE_SESSION: &str =
    "UPDATE sessions SET last_used_at = $1, refresh_expires_at = $2, revoked_at = $3, version = version + 1
     WHERE id = $4 AND version = $5";

pub(crate) const INSERT_REFRESH_TOKEN: &str =
    "INSERT INTO refresh_tokens (digest, session_id, spent_at) VALUES ($1, $2, NULL)";

pub(crate) const SPEND_REFRESH_TOKEN: &str =
    "UPDATE refresh_tokens SET spent_at = $1 WHERE digest = $2 AND spent_at IS NULL";

/// A user's sessions that are neither revoked nor past their refresh token, newest first.
pub(crate) const SESSIONS_OF: &str = "SELECT id, created_at, last_used_at, user_agent FROM sessions
     WHERE user_id = $1 AND revoked_at IS NULL AND refresh_expires_at > $2
     ORDER BY created_at DESC, id DESC";

pub(crate) const LIVE_SESSION_OWNER: &str = "SELECT user_id FROM sessions WHERE id = $1 AND revoked_at IS NULL";

pub(crate) const SESSIONS_REVOKED_SINCE: &str = "SELECT id FROM sessions WHERE revoked_at >= $1";

macro_rules! login_throttle {
    () => {
        "SELECT key, window_started_at, failures, version FROM login_throttles WHERE key = $1"
    };
}

/// SQLite: the unit of work holds the database's only write lock already.
#[cfg(feature = "sqlite")]
pub(crate) const LOGIN_THROTTLE: &str = login_throttle!();

/// PostgreSQL: attempts for one address queue on its row instead of conflicting, so a
/// burst of them is counted without retries.
#[cfg(feature = "postgres")]
pub(crate) const LOGIN_THROTTLE_FOR_UPDATE: &str = concat!(login_throttle!(), " FOR UPDATE");

/// Two attempts for a new address both find no row: the second insert changes none
/// and is reported as a conflict, so that attempt is counted again on the stored row.
pub(crate) const INSERT_LOGIN_THROTTLE: &str =
    "INSERT INTO login_throttles (key, window_started_at, failures, version) VALUES ($1, $2, $3, 1)
     ON CONFLICT (key) DO NOTHING";

/// Guarded by the version the throttle was loaded at.
pub(crate) const UPDATE_LOGIN_THROTTLE: &str =
    "UPDATE login_throttles SET window_started_at = $1, failures = $2, version = version + 1
     WHERE key = $3 AND version = $4";

/// At most a batch per attempt, so no attempt pays for a long backlog.
#[cfg(feature = "sqlite")]
pub(crate) const FORGET_LOGIN_THROTTLES: &str = "DELETE FROM login_throttles WHERE key IN
     (SELECT key FROM login_throttles WHERE window_started_at < $1 LIMIT 100)";

/// PostgreSQL: rows another attempt holds are left for later, rather than waited for.
#[cfg(feature = "postgres")]
pub(crate) const FORGET_LOGIN_THROTTLES_SKIP_LOCKED: &str = "DELETE FROM login_throttles WHERE key IN
     (SELECT key FROM login_throttles WHERE window_started_at < $1 LIMIT 100 FOR UPDATE SKIP LOCKED)";

/// Takes the request of a migration for an email key rewrite; `0` rows: none pending
/// (or another instance has just done it).
pub(crate) const TAKE_EMAIL_KEY_REWRITES: &str = "DELETE FROM email_key_rewrites";

pub(crate) const STORED_EMAIL_KEYS: &str = "SELECT id, email, email_normalized, created_at FROM users";

/// Guarded by the key itself: a key some row holds is never written twice.
pub(crate) const REWRITE_EMAIL_KEY: &str = "UPDATE users SET email_normalized = $1
     WHERE id = $2 AND NOT EXISTS (SELECT 1 FROM users WHERE email_normalized = $1)";

#[cfg(all(test, feature = "sqlite"))]
pub(crate) const ALL: &[&str] = &[
    TAKE_EMAIL_KEY_REWRITES,
    STORED_EMAIL_KEYS,
    REWRITE_EMAIL_KEY,
    CREDENTIALS,
    PROFILE,
    USER,
    INSERT_USER,
    UPDATE_USER,
    DELETE_USER,
    REVOKE_SESSIONS_OF,
    SESSION_BY_REFRESH_TOKEN,
    SESSION,
    INSERT_SESSION,
    UPDATE_SESSION,
    INSERT_REFRESH_TOKEN,
    SPEND_REFRESH_TOKEN,
    SESSIONS_OF,
    LIVE_SESSION_OWNER,
    SESSIONS_REVOKED_SINCE,
    LOGIN_THROTTLE,
    INSERT_LOGIN_THROTTLE,
    UPDATE_LOGIN_THROTTLE,
    FORGET_LOGIN_THROTTLES,
];
