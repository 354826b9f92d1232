//! The embedded SQLite database, driven in-process through rusqlite.
//!
//! Statements run on the async worker that issues them. On a local file in WAL mode a
//! statement takes microseconds and a reader never waits for the writer, so handing
//! every statement to a connection thread and back, as an async driver does, costs
//! more in context switches than the statement itself (measured in
//! `docs/performance.md`, decided in `docs/adr/0008-sqlite-inline.md`). The two waits
//! SQLite can impose stay off the async workers: a write lock held by another process
//! is waited for on the blocking pool, and WAL checkpoints, which fsync, run there too.
//!
//! SQLite admits one writer at a time. Write transactions queue, in arrival order and
//! without polling, on an async mutex around the one writer connection; reads use
//! connections of their own and never wait for writes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use taskdeck_kernel::StoreError;
use taskdeck_platform::Migration;
use taskdeck_platform::metrics::PoolGauge;
use thiserror::Error;
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

use crate::migrations::{self, MigrationError};

/// How long a statement waits for a lock held by another process before failing.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Commits between two WAL checkpoints. A commit adds a few pages to the WAL; SQLite's
/// own default is a checkpoint every 1,000 pages.
const COMMITS_PER_CHECKPOINT: u64 = 256;
/// Read connections kept open. Reads run on the thread that issues them, so no more
/// are in use at once than there are async workers (one per core), plus the odd one
/// on the blocking pool; each keeps a page cache of its own (2 MiB at most).
const DEFAULT_IDLE_READERS: u32 = 2;
/// WAL frames (pages) beyond which a checkpoint also empties the WAL file: 16 MiB.
const WAL_REWIND_FRAMES: i64 = 4096;
/// Prepared statements kept per connection: more than taskdeck has.
const STATEMENT_CACHE_CAPACITY: usize = 64;

#[derive(Debug, Error)]
pub enum SqliteSetupError {
    #[error("malformed SQLite URL {url:?}: {reason}")]
    MalformedUrl { url: String, reason: String },
    #[error("cannot open the SQLite database {path}")]
    Open { path: String, source: rusqlite::Error },
    #[error("the SQLite database {path} cannot use write-ahead logging (journal mode stays {mode:?})")]
    NoWriteAheadLog { path: String, mode: String },
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] MigrationError),
    #[error("cannot create the directory {path}")]
    Directory { path: String, source: std::io::Error },
    #[error("cannot create the SQLite database {path}")]
    Create { path: String, source: std::io::Error },
}

/// Connection settings of the embedded database.
#[derive(Debug, Clone)]
pub struct SqliteSettings {
    /// The database file; created when missing.
    pub path: PathBuf,
    /// Read connections kept open between requests (more are opened while more
    /// threads read at once).
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
        Ok(Self { path: PathBuf::from(rest), readers: DEFAULT_IDLE_READERS })
    }
}

/// The open database: one writer connection and a pool of readers. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SqliteDatabase {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    path: PathBuf,
    /// `None` once the database is closed.
    writer: Arc<Mutex<Option<Connection>>>,
    idle_readers: StdMutex<Vec<Connection>>,
    max_idle_readers: usize,
    closed: AtomicBool,
    commits_since_checkpoint: AtomicU64,
    checkpoint_running: AtomicBool,
    /// Opened by the first checkpoint.
    checkpointer: StdMutex<Option<Connection>>,
    /// For the pool metrics: readers lent out, and writers queued for the writer.
    readers_in_use: AtomicUsize,
    writers_waiting: AtomicUsize,
}

impl SqliteDatabase {
    /// Opens (creating if needed) the database file. WAL journal, `synchronous=NORMAL`
    /// (a committed transaction survives a crash of the process; only an OS crash or a
    /// power loss may take the last commits), foreign keys on.
    ///
    /// # Errors
    /// `Open` when the file cannot be opened or is not a database, `NoWriteAheadLog`
    /// when its file system does not support WAL.
    pub async fn open(settings: &SqliteSettings) -> Result<Self, SqliteSetupError> {
        let path = settings.path.clone();
        let open_error = |source| SqliteSetupError::Open { path: path.display().to_string(), source };
        create_private(&path)
            .map_err(|source| SqliteSetupError::Create { path: path.display().to_string(), source })?;
        let writer = open_writer(&path).map_err(open_error)?;
        let mode: String =
            writer.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)).map_err(open_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(SqliteSetupError::NoWriteAheadLog { path: path.display().to_string(), mode });
        }
        let reader = open_reader(&path).map_err(open_error)?;
        Ok(Self {
            shared: Arc::new(Shared {
                path,
                writer: Arc::new(Mutex::new(Some(writer))),
                idle_readers: StdMutex::new(vec![reader]),
                max_idle_readers: usize::try_from(settings.readers.max(1)).unwrap_or(1),
                closed: AtomicBool::new(false),
                commits_since_checkpoint: AtomicU64::new(0),
                checkpoint_running: AtomicBool::new(false),
                checkpointer: StdMutex::new(None),
                readers_in_use: AtomicUsize::new(0),
                writers_waiting: AtomicUsize::new(0),
            }),
        })
    }

    /// Applies the platform's migrations and those of `contexts` that are not applied
    /// yet, in one transaction.
    ///
    /// # Errors
    /// `Migrate` when two migrations share a version, a migration fails, or the
    /// database holds one this build does not know (it was migrated by a newer
    /// taskdeck).
    pub async fn migrate(&self, contexts: &[&[Migration]]) -> Result<(), SqliteSetupError> {
        let plan = migrations::plan(contexts)?;
        let transaction = self.begin_write().await.map_err(MigrationError::Store)?;
        migrations::apply(transaction.connection(), &plan)?;
        transaction.commit().map_err(MigrationError::Store)?;
        Ok(())
    }

    /// The writer connection and the readers, for the pool metrics.
    #[must_use]
    pub fn pool_gauges(&self) -> Vec<PoolGauge> {
        let shared = &self.shared;
        let writing = usize::from(shared.writer.try_lock().is_err());
        let idle_readers = shared.idle_readers.lock().map_or(0, |idle| idle.len());
        vec![
            PoolGauge {
                pool: "writer",
                idle: 1 - writing,
                in_use: writing,
                waiting: shared.writers_waiting.load(Ordering::Relaxed),
            },
            // Readers never wait: one is opened when none is idle.
            PoolGauge {
                pool: "readers",
                idle: idle_readers,
                in_use: shared.readers_in_use.load(Ordering::Relaxed),
                waiting: 0,
            },
        ]
    }

    /// Runs `query` on a read connection. It sees the last committed state and never
    /// waits for a write in progress.
    ///
    /// # Errors
    /// `StoreError::Backend` when the query fails or the database is closed.
    pub fn read<T>(&self, query: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let connection = self.shared.take_reader()?;
        let outcome = query(&connection);
        self.shared.return_reader(connection);
        outcome.map_err(StoreError::backend)
    }

    /// Starts a write transaction holding the write lock from its first statement
    /// (`BEGIN IMMEDIATE`), so it cannot fail later for want of the lock. Writers of
    /// this process queue in arrival order; dropping the transaction without
    /// [`WriteTransaction::commit`] rolls it back.
    ///
    /// # Errors
    /// `StoreError::Backend` when the database is closed, or another process holds the
    /// write lock for longer than the busy timeout.
    pub async fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        let writer = {
            let _queued = Counted::new(&self.shared.writers_waiting);
            Arc::clone(&self.shared.writer).lock_owned().await
        };
        let mut connection = OwnedMutexGuard::try_map(writer, Option::as_mut).map_err(|_| closed())?;
        if !connection.is_autocommit() {
            // Only a failed rollback leaves a transaction behind; end it before the next.
            connection.execute_batch("ROLLBACK").map_err(StoreError::backend)?;
        }
        match begin_without_waiting(&connection) {
            Ok(()) => {}
            Err(error) if is_busy(&error) => connection = begin_waiting(connection).await?,
            Err(error) => return Err(StoreError::backend(error)),
        }
        Ok(WriteTransaction { connection, shared: Arc::clone(&self.shared), finished: false })
    }

    /// Runs `change` in a write transaction of its own and commits it.
    ///
    /// # Errors
    /// `StoreError::Backend` when a statement or the commit fails (nothing is stored).
    pub async fn write<T>(&self, change: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let transaction = self.begin_write().await?;
        let value = change(transaction.connection()).map_err(StoreError::backend)?;
        transaction.commit()?;
        Ok(value)
    }

    /// Whether the database answers a trivial query.
    pub async fn is_reachable(&self) -> bool {
        self.read(|connection| connection.query_row("SELECT 1", [], |_| Ok(()))).is_ok()
    }

    /// Whether a write can be made now: one row of `settings` is written and committed,
    /// which fails while another process holds the write lock past the busy timeout,
    /// or the disk is full.
    pub async fn can_write(&self) -> bool {
        let proof = self
            .write(|connection| {
                connection.execute(
                    "INSERT INTO settings (key, value) VALUES ('readiness_probe', ?1)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [time::OffsetDateTime::now_utc().unix_timestamp().to_string()],
                )
            })
            .await;
        if let Err(error) = &proof {
            tracing::warn!(%error, "readiness: the database takes no write");
        }
        proof.is_ok()
    }

    /// Closes every connection, checkpointing the WAL into the database file. Later
    /// reads and writes fail.
    pub async fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
        if let Ok(mut idle) = self.shared.idle_readers.lock() {
            idle.clear();
        }
        if let Ok(mut checkpointer) = self.shared.checkpointer.lock() {
            checkpointer.take();
        }
        let writer = self.shared.writer.lock().await.take();
        if let Some(writer) = writer {
            if let Err(error) = writer.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
                tracing::warn!(%error, "the final WAL checkpoint failed; SQLite replays the WAL at the next start");
            }
            drop(writer);
        }
    }
}

impl Shared {
    fn take_reader(&self) -> Result<Connection, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        let idle = self.idle_readers.lock().ok().and_then(|mut idle| idle.pop());
        let connection = match idle {
            Some(connection) => connection,
            None => open_reader(&self.path).map_err(StoreError::backend)?,
        };
        self.readers_in_use.fetch_add(1, Ordering::Relaxed);
        Ok(connection)
    }

    fn return_reader(&self, connection: Connection) {
        self.readers_in_use.fetch_sub(1, Ordering::Relaxed);
        if self.closed.load(Ordering::Acquire) || !connection.is_autocommit() {
            return;
        }
        if let Ok(mut idle) = self.idle_readers.lock()
            && idle.len() < self.max_idle_readers
        {
            idle.push(connection);
        }
    }

    /// Counts a commit and, every so many, starts a checkpoint on the blocking pool.
    fn committed(self: &Arc<Self>) {
        if self.commits_since_checkpoint.fetch_add(1, Ordering::Relaxed) + 1 < COMMITS_PER_CHECKPOINT {
            return;
        }
        if self.checkpoint_running.swap(true, Ordering::AcqRel) {
            return;
        }
        self.commits_since_checkpoint.store(0, Ordering::Relaxed);
        let shared = Arc::clone(self);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(move || shared.checkpoint())),
            Err(_) => shared.checkpoint(),
        }
    }

    /// Copies committed pages from the WAL into the database file and, once the WAL
    /// has grown past [`WAL_REWIND_FRAMES`], empties it.
    fn checkpoint(&self) {
        let outcome = self
            .copy_wal_pages()
            .and_then(|wal_frames| if wal_frames > WAL_REWIND_FRAMES { self.rewind_wal() } else { Ok(()) });
        if let Err(error) = outcome {
            tracing::warn!(%error, "a WAL checkpoint failed; the next one tries again");
        }
        self.checkpoint_running.store(false, Ordering::Release);
    }

    /// A PASSIVE checkpoint: it never waits for the writer or a reader, so it only
    /// delays itself. Returns how many frames the WAL holds.
    fn copy_wal_pages(&self) -> Result<i64, StoreError> {
        let mut checkpointer = self.checkpointer.lock().map_err(|_| closed())?;
        if self.closed.load(Ordering::Acquire) {
            return Ok(0);
        }
        let connection = match checkpointer.as_mut() {
            Some(connection) => connection,
            None => checkpointer.insert(open_writer(&self.path).map_err(StoreError::backend)?),
        };
        connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1)).map_err(StoreError::backend)
    }

    /// SQLite starts the WAL over only at a moment no reader uses it, which a steady
    /// stream of reads never leaves: without this the file grows without bound (seen:
    /// 160 MiB in a one-minute benchmark). A TRUNCATE checkpoint waits for the readers
    /// still on old pages (reads take microseconds), copies what is left and empties
    /// the file. It needs the write lock, so it takes its place in the queue of this
    /// process's writers, which wait meanwhile.
    fn rewind_wal(&self) -> Result<(), StoreError> {
        let writer = self.writer.blocking_lock();
        let Some(connection) = writer.as_ref() else {
            return Ok(());
        };
        let busy: i64 = connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
            .map_err(StoreError::backend)?;
        if busy != 0 {
            tracing::debug!("the WAL could not be emptied this time: another process holds it");
        }
        Ok(())
    }
}

/// Counts itself in a gauge while it lives (a waiter that gives up is uncounted too).
struct Counted<'a>(&'a AtomicUsize);

impl<'a> Counted<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A write transaction on the writer connection; see [`SqliteDatabase::begin_write`].
#[derive(Debug)]
pub struct WriteTransaction {
    connection: OwnedMappedMutexGuard<Option<Connection>, Connection>,
    shared: Arc<Shared>,
    finished: bool,
}

impl WriteTransaction {
    /// The connection, inside the transaction.
    #[must_use]
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Makes every change of the transaction durable, atomically.
    ///
    /// # Errors
    /// `StoreError::Backend` when the commit fails; nothing is stored then.
    pub fn commit(mut self) -> Result<(), StoreError> {
        self.connection.execute_batch("COMMIT").map_err(StoreError::backend)?;
        self.finished = true;
        // The writer is released first: a checkpoint may need it.
        let shared = Arc::clone(&self.shared);
        drop(self);
        shared.committed();
        Ok(())
    }

    /// Discards every change of the transaction (as dropping it does, but reporting a
    /// failure).
    ///
    /// # Errors
    /// `StoreError::Backend` when the rollback fails.
    pub fn rollback(mut self) -> Result<(), StoreError> {
        self.finished = true;
        if self.connection.is_autocommit() {
            return Ok(());
        }
        self.connection.execute_batch("ROLLBACK").map_err(StoreError::backend)
    }
}

impl Drop for WriteTransaction {
    /// SQLite itself ends a transaction that hit some errors (a full disk, an I/O
    /// error): then there is nothing left to roll back.
    fn drop(&mut self) {
        if !self.finished
            && !self.connection.is_autocommit()
            && let Err(error) = self.connection.execute_batch("ROLLBACK")
        {
            tracing::error!(%error, "cannot roll back a write transaction; the next one will");
        }
    }
}

/// Creates a missing database file readable by its owner only: it holds the password
/// hashes and the signing keys, with which anyone could forge tokens. SQLite gives the
/// `-wal` and `-shm` files it creates the permissions of the database file. An
/// existing file keeps the permissions its operator gave it.
pub(crate) fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    connection.pragma_update(None, "temp_store", "MEMORY")?;
    // Checkpoints run on the blocking pool (`Shared::checkpoint`), not inside a commit.
    connection.pragma_update(None, "wal_autocheckpoint", 0)?;
    plan_without_looking_at_parameters(&connection)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(connection)
}

fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let connection =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    plan_without_looking_at_parameters(&connection)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(connection)
}

/// With STAT4 (which the bundled SQLite has), a statement whose plan could depend on a
/// bound value — `number > ?` of a page after the first — is prepared again at every
/// execution, and parsing then costs more than the query. The query planner stability
/// guarantee plans once, whatever is bound.
fn plan_without_looking_at_parameters(connection: &Connection) -> rusqlite::Result<()> {
    connection.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map(|_| ())
}

/// `BEGIN IMMEDIATE` that fails at once, instead of sleeping on the async worker,
/// when another process holds the write lock.
fn begin_without_waiting(connection: &Connection) -> rusqlite::Result<()> {
    connection.busy_timeout(Duration::ZERO)?;
    let begun = connection.execute_batch("BEGIN IMMEDIATE");
    connection.busy_timeout(BUSY_TIMEOUT)?;
    begun
}

/// `BEGIN IMMEDIATE` on the blocking pool, waiting up to the busy timeout for another
/// process (a `taskdeck` command, an operator's `sqlite3` shell) to release the lock.
async fn begin_waiting(
    connection: OwnedMappedMutexGuard<Option<Connection>, Connection>,
) -> Result<OwnedMappedMutexGuard<Option<Connection>, Connection>, StoreError> {
    let (connection, begun) = tokio::task::spawn_blocking(move || {
        let begun = connection.execute_batch("BEGIN IMMEDIATE");
        (connection, begun)
    })
    .await
    .map_err(StoreError::backend)?;
    begun.map_err(StoreError::backend)?;
    Ok(connection)
}

fn closed() -> StoreError {
    StoreError::backend(std::io::Error::other("the SQLite database is closed"))
}

/// When a failure of SQLite is a passing condition rather than a fault, how long a
/// client should wait before it tries again: the write lock held by another process
/// past the busy timeout, or a full disk (which an operator must attend to).
#[must_use]
pub fn retry_after(error: &(dyn std::error::Error + 'static)) -> Option<Duration> {
    let error = error.downcast_ref::<rusqlite::Error>()?;
    match error.sqlite_error_code()? {
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Some(Duration::from_secs(1)),
        ErrorCode::DiskFull => Some(Duration::from_secs(30)),
        _ => None,
    }
}

fn is_busy(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code().is_some_and(|code| matches!(code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

#[cfg(test)]
mod tests {
    use taskdeck_testkit::{TestBackend, TestDatabase};

    use super::*;
    use crate::testing::temporary;

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_database_and_its_log_files_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let test = TestDatabase::new(TestBackend::Sqlite).await.expect("no server needed");
        let settings = SqliteSettings::from_url(test.url()).expect("testkit's URL");
        let database = SqliteDatabase::open(&settings).await.expect("a fresh file opens");
        database.migrate(&[]).await.expect("a write");

        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", settings.path.display()));
            let mode = std::fs::metadata(&file).expect("the file exists").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is {mode:o}", file.display());
        }
    }

    #[tokio::test]
    async fn a_transaction_that_sqlite_ended_on_a_full_disk_is_not_rolled_back_again() {
        let database = temporary().await;
        let transaction = database.begin_write().await.unwrap();
        let connection = transaction.connection();
        let pages: i64 = connection.query_row("PRAGMA page_count", [], |row| row.get(0)).unwrap();
        connection.pragma_update(None, "max_page_count", pages).unwrap();
        connection.execute_batch("CREATE TABLE filler (bytes BLOB)").ok();
        let full = connection
            .execute("INSERT INTO settings (key, value) VALUES ('filler', ?1)", [&"x".repeat(1 << 20)])
            .unwrap_err();
        assert_eq!(retry_after(&full), Some(Duration::from_secs(30)), "{full}");
        assert!(connection.is_autocommit(), "SQLite ended the transaction itself");
        assert!(transaction.rollback().is_ok(), "nothing left to roll back is no failure");
        connection_is_usable_again(&database).await;
    }

    async fn connection_is_usable_again(database: &SqliteDatabase) {
        let transaction = database.begin_write().await.unwrap();
        transaction.connection().pragma_update(None, "max_page_count", 1_073_741_823_i64).unwrap();
        transaction.commit().unwrap();
        assert!(database.can_write().await);
    }

    #[tokio::test]
    async fn a_write_lock_held_by_another_process_is_a_passing_condition() {
        let database = temporary().await;
        assert!(database.can_write().await);
        let other = Connection::open(&database.shared.path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let error = database.begin_write().await.map(|_| ()).unwrap_err();
        let StoreError::Backend(source) = &error else { panic!("{error}") };
        assert_eq!(retry_after(source.as_ref()), Some(Duration::from_secs(1)), "{error}");
        assert!(!database.can_write().await, "readiness sees that no write can be made");
        other.execute_batch("ROLLBACK").unwrap();
        assert!(database.can_write().await);
        let not_sqlite = std::io::Error::other("unrelated");
        assert_eq!(retry_after(&not_sqlite), None);
    }

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
    async fn opening_creates_the_file_in_wal_mode_and_migrations_are_idempotent() {
        let test = TestDatabase::new(TestBackend::Sqlite).await.unwrap();
        let settings = SqliteSettings::from_url(test.url()).unwrap();
        assert!(!settings.path.exists());
        let database = SqliteDatabase::open(&settings).await.unwrap();
        database.migrate(&[]).await.unwrap();
        database.migrate(&[]).await.unwrap();
        assert!(settings.path.exists());
        assert!(database.is_reachable().await);
        let journal: String = database.read(|c| c.query_row("PRAGMA journal_mode", [], |row| row.get(0))).unwrap();
        assert_eq!(journal, "wal");
        let transaction = database.begin_write().await.unwrap();
        let foreign_keys: i64 =
            transaction.connection().query_row("PRAGMA foreign_keys", [], |row| row.get(0)).unwrap();
        assert_eq!(foreign_keys, 1);
        drop(transaction);
        database.close().await;
    }

    #[tokio::test]
    async fn a_file_that_is_not_a_database_is_refused_at_open() {
        let test = TestDatabase::new(TestBackend::Sqlite).await.unwrap();
        let path = test.sqlite_path().unwrap();
        std::fs::write(&path, vec![b'x'; 4096]).unwrap();
        let outcome = SqliteDatabase::open(&SqliteSettings { path, readers: 1 }).await;
        assert!(matches!(outcome, Err(SqliteSetupError::Open { .. })), "{outcome:?}");
    }

    async fn count(database: &SqliteDatabase) -> i64 {
        database.read(|c| c.query_row("SELECT COUNT(*) FROM settings", [], |row| row.get(0))).unwrap()
    }

    #[tokio::test]
    async fn a_committed_write_is_read_back_and_a_dropped_one_leaves_nothing() {
        let database = temporary().await;
        database.write(|c| c.execute("INSERT INTO settings (key, value) VALUES ('kept', 'x')", [])).await.unwrap();

        let dropped = database.begin_write().await.unwrap();
        dropped.connection().execute("INSERT INTO settings (key, value) VALUES ('dropped', 'x')", []).unwrap();
        assert_eq!(count(&database).await, 1, "readers do not see an uncommitted write");
        drop(dropped);

        let next = database.begin_write().await.unwrap();
        next.connection().execute("INSERT INTO settings (key, value) VALUES ('next', 'x')", []).unwrap();
        next.commit().unwrap();
        let keys: Vec<String> = database
            .read(|c| {
                let mut statement = c.prepare("SELECT key FROM settings ORDER BY key")?;
                statement.query_map([], |row| row.get(0))?.collect()
            })
            .unwrap();
        assert_eq!(keys, ["kept", "next"]);
    }

    #[tokio::test]
    async fn writers_queue_one_after_another_without_losing_an_update() {
        let database = temporary().await;
        database.write(|c| c.execute("INSERT INTO settings (key, value) VALUES ('counter', '0')", [])).await.unwrap();
        let writers = (0..50).map(|_| {
            let database = database.clone();
            tokio::spawn(async move {
                let transaction = database.begin_write().await.unwrap();
                let value: String = transaction
                    .connection()
                    .query_row("SELECT value FROM settings WHERE key = 'counter'", [], |row| row.get(0))
                    .unwrap();
                tokio::task::yield_now().await;
                let next = value.parse::<i64>().unwrap() + 1;
                transaction
                    .connection()
                    .execute("UPDATE settings SET value = ? WHERE key = 'counter'", [next.to_string()])
                    .unwrap();
                transaction.commit().unwrap();
            })
        });
        for writer in writers.collect::<Vec<_>>() {
            writer.await.unwrap();
        }
        let value: String = database
            .read(|c| c.query_row("SELECT value FROM settings WHERE key = 'counter'", [], |row| row.get(0)))
            .unwrap();
        assert_eq!(value, "50");
    }

    // One thread runs both the waiting writer and the test: had the writer waited for
    // the lock on it, nothing else would run until its busy timeout.
    #[tokio::test(flavor = "current_thread")]
    async fn a_write_lock_held_by_another_process_is_waited_for_off_the_async_workers() {
        let database = temporary().await;
        // Another connection stands in for another process holding the write lock.
        let other = open_writer(&database.shared.path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let writer = {
            let database = database.clone();
            tokio::spawn(
                async move { database.write(|c| c.execute("INSERT INTO settings VALUES ('w', 'x')", [])).await },
            )
        };
        // The thread stays free while the writer waits: a short sleep ends long before
        // the busy timeout the writer would otherwise sleep through, and a read completes.
        let asleep = std::time::Instant::now();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(asleep.elapsed() < BUSY_TIMEOUT, "the thread was held for {:?}", asleep.elapsed());
        assert_eq!(count(&database).await, 0);
        assert!(!writer.is_finished(), "the writer waits for the lock");
        other.execute_batch("COMMIT").unwrap();
        writer.await.unwrap().unwrap();
        assert_eq!(count(&database).await, 1);
    }

    #[tokio::test]
    async fn a_closed_database_refuses_reads_and_writes() {
        let database = temporary().await;
        database.close().await;
        assert!(!database.is_reachable().await);
        assert!(database.begin_write().await.is_err());
    }

    #[tokio::test]
    async fn checkpoints_copy_committed_pages_into_the_database_file() {
        let database = temporary().await;
        for n in 0..(COMMITS_PER_CHECKPOINT * 3) {
            database
                .write(|c| {
                    c.execute("INSERT INTO settings (key, value) VALUES (?, ?)", [n.to_string(), "x".repeat(500)])
                })
                .await
                .unwrap();
        }
        // Without a checkpoint every page would still be in the WAL only.
        for _ in 0..100 {
            if !database.shared.checkpoint_running.load(Ordering::Acquire) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let main_file = std::fs::metadata(&database.shared.path).unwrap().len();
        assert!(main_file > 4096 * 10, "committed pages reached the database file ({main_file} bytes)");
    }

    fn wal_file_size(database: &SqliteDatabase) -> u64 {
        let mut wal = database.shared.path.clone().into_os_string();
        wal.push("-wal");
        std::fs::metadata(wal).map_or(0, |metadata| metadata.len())
    }

    async fn checkpoints_finished(database: &SqliteDatabase) {
        for _ in 0..500 {
            if !database.shared.checkpoint_running.load(Ordering::Acquire) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("a checkpoint is still running after 5 s");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_wal_grown_past_the_limit_is_emptied_not_just_reused() {
        let database = temporary().await;
        // 64 KiB a commit: 16 pages, so the limit is crossed before the first checkpoint.
        let value = "x".repeat(64 * 1024);
        for n in 0..COMMITS_PER_CHECKPOINT {
            database
                .write(|c| {
                    c.execute(
                        "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                        [n.to_string(), value.clone()],
                    )
                })
                .await
                .unwrap();
        }
        checkpoints_finished(&database).await;
        // SQLite alone would start the WAL over but keep the file at its largest.
        let limit = u64::try_from(WAL_REWIND_FRAMES).unwrap() * 4096;
        assert!(wal_file_size(&database) < limit / 4, "WAL of {} bytes", wal_file_size(&database));
        let rows: i64 = database.read(|c| c.query_row("SELECT COUNT(*) FROM settings", [], |row| row.get(0))).unwrap();
        assert_eq!(rows, i64::try_from(COMMITS_PER_CHECKPOINT).unwrap(), "nothing was lost on the way");
    }
}
