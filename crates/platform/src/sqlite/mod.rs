//! The embedded SQLite database: one writer connection, a pool of readers.
//!
//! SQLite admits one writer at a time. Rather than letting several connections race
//! for the lock (and sleep in `busy_timeout`), every write transaction goes through a
//! pool of exactly one connection: writers queue in memory, without polling, and reads
//! never wait for them (WAL mode).

mod migrations;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use taskdeck_kernel::StoreError;
use thiserror::Error;

pub use migrations::migrator;

/// How long a connection waits for a lock held by another process before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a request waits for a free connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Error)]
pub enum SqliteSetupError {
    #[error("malformed SQLite URL {url:?}: {reason}")]
    MalformedUrl { url: String, reason: String },
    #[error("cannot open the SQLite database {path}")]
    Open { path: String, source: sqlx::Error },
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Connection settings of the embedded database.
#[derive(Debug, Clone)]
pub struct SqliteSettings {
    /// The database file; created when missing.
    pub path: PathBuf,
    /// Read connections (writes always use the one writer).
    pub readers: u32,
}

impl SqliteSettings {
    /// Reads `sqlite://PATH` (also `sqlite:PATH`); query parameters are not accepted.
    ///
    /// # Errors
    /// `MalformedUrl` when the URL is not of that form.
    pub fn from_url(url: &str) -> Result<Self, SqliteSetupError> {
        let malformed =
            |reason: &str| SqliteSetupError::MalformedUrl { url: url.to_owned(), reason: reason.to_owned() };
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| malformed("expected sqlite://PATH"))?;
        if rest.is_empty() {
            return Err(malformed("the path is empty"));
        }
        if rest.contains('?') {
            return Err(malformed("query parameters are not supported"));
        }
        Ok(Self { path: PathBuf::from(rest), readers: 4 })
    }
}

/// The open database: a single-connection writer pool and a reader pool.
#[derive(Debug, Clone)]
pub struct SqliteDatabase {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Set for a temporary database: removes its directory when the last handle drops.
    _temporary: Option<Arc<TemporaryDirectory>>,
}

/// A directory deleted on drop.
#[derive(Debug)]
struct TemporaryDirectory(PathBuf);

impl Drop for TemporaryDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl SqliteDatabase {
    /// Opens (creating if needed) the database file. WAL journal, `synchronous=NORMAL`
    /// (a committed transaction survives a process crash; only an OS crash or power
    /// loss may take the last commits), foreign keys on.
    ///
    /// # Errors
    /// `Open` when the file cannot be opened or is not a database.
    pub async fn open(settings: &SqliteSettings) -> Result<Self, SqliteSetupError> {
        let open_error = |source| SqliteSetupError::Open { path: settings.path.display().to_string(), source };
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(open_error)?
            .filename(&settings.path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .pragma("temp_store", "memory");
        // No ping before handing out a connection: the database is a local file, and
        // the ping would be one more round trip to the connection's thread per request.
        let writer = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(open_error)?;
        let reader = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(settings.readers.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(open_error)?;
        Ok(Self { writer, reader, _temporary: None })
    }

    /// A fresh, migrated database in a new temporary directory that is removed when
    /// the last handle is dropped. For tests and throwaway demos.
    ///
    /// # Errors
    /// As for `open` and `migrate`.
    pub async fn temporary() -> Result<Self, SqliteSetupError> {
        let directory = std::env::temp_dir().join(format!("taskdeck-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&directory).map_err(|error| SqliteSetupError::Open {
            path: directory.display().to_string(),
            source: sqlx::Error::Io(error),
        })?;
        let guard = Arc::new(TemporaryDirectory(directory.clone()));
        let settings = SqliteSettings { path: directory.join("taskdeck.db"), readers: 2 };
        let mut database = Self::open(&settings).await?;
        database._temporary = Some(guard);
        database.migrate().await?;
        Ok(database)
    }

    /// Applies the embedded migrations that are not applied yet.
    ///
    /// # Errors
    /// `Migrate` when a migration fails or the database holds an unknown one.
    pub async fn migrate(&self) -> Result<(), SqliteSetupError> {
        migrator().run(&self.writer).await?;
        Ok(())
    }

    /// Starts a write transaction holding the write lock from its first statement
    /// (`BEGIN IMMEDIATE`), so it cannot fail later with `SQLITE_BUSY` on upgrade.
    ///
    /// # Errors
    /// `StoreError::Backend` when no connection can be had.
    pub async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(StoreError::backend)
    }

    /// The pool for queries that only read.
    #[must_use]
    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// The pool of the single writer connection, for writes outside a unit of work.
    #[must_use]
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// Whether the database answers a trivial query.
    pub async fn is_reachable(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.reader).await.is_ok()
    }

    /// Closes every connection, checkpointing the WAL.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// Whether the error is a UNIQUE or PRIMARY KEY constraint violation.
#[must_use]
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|db| db.is_unique_violation())
}

/// Maps an error of a write: a uniqueness violation means a concurrent writer won.
#[must_use]
pub fn write_error(error: sqlx::Error) -> StoreError {
    if is_unique_violation(&error) { StoreError::Conflict } else { StoreError::backend(error) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_url_names_the_file() {
        let settings = SqliteSettings::from_url("sqlite://taskdeck.db").unwrap();
        assert_eq!(settings.path, PathBuf::from("taskdeck.db"));
        let absolute = SqliteSettings::from_url("sqlite:///var/lib/taskdeck/data.db").unwrap();
        assert_eq!(absolute.path, PathBuf::from("/var/lib/taskdeck/data.db"));
    }

    #[test]
    fn other_urls_are_refused_with_a_reason() {
        for bad in ["mysql://x", "sqlite://", "taskdeck.db", "sqlite://x.db?mode=ro"] {
            assert!(matches!(SqliteSettings::from_url(bad), Err(SqliteSetupError::MalformedUrl { .. })), "{bad}");
        }
    }

    #[tokio::test]
    async fn opening_creates_the_file_and_migrations_are_idempotent() {
        let dir = std::env::temp_dir().join(format!("taskdeck-open-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let settings = SqliteSettings { path: dir.join("fresh.db"), readers: 2 };
        let database = SqliteDatabase::open(&settings).await.unwrap();
        database.migrate().await.unwrap();
        database.migrate().await.unwrap();
        assert!(settings.path.exists());
        assert!(database.is_reachable().await);
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(database.reader()).await.unwrap();
        assert_eq!(journal, "wal");
        let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(database.writer()).await.unwrap();
        assert_eq!(foreign_keys, 1);
        database.close().await;
        std::fs::remove_dir_all(dir).unwrap();
    }
}
