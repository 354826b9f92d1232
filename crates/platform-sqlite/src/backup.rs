//! A consistent copy of a live database, with SQLite's online backup API.
//!
//! The copy is made in one backup step: one read transaction on the source, so it is
//! the database as of one commit, while `taskdeck serve` goes on writing through the
//! WAL. Copying in small steps would let those writes in between, and SQLite starts a
//! stepwise backup over whenever another connection writes: under a steady load it
//! would never end.
//!
//! The copy is written to a private temporary file next to the destination, checked
//! with `PRAGMA quick_check`, flushed to disk and only then renamed into place, so a
//! failed or interrupted backup never leaves a partial file under the destination's
//! name, and an existing file there is replaced only when asked to.

use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use thiserror::Error;

use crate::database::{BUSY_TIMEOUT, create_private};

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub destination: PathBuf,
    pub pages: u64,
    pub bytes: u64,
}

#[derive(Debug, Error)]
pub enum BackupError {
    #[error("there is no SQLite database at {0}")]
    NoDatabase(PathBuf),
    #[error("{0} exists; pass --force to replace it")]
    DestinationExists(PathBuf),
    #[error("{0} is the database itself")]
    OntoItself(PathBuf),
    #[error("cannot {action} {path}")]
    File { action: &'static str, path: PathBuf, source: std::io::Error },
    #[error("cannot copy the database")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database stayed locked for {BUSY_TIMEOUT:?}; try again")]
    Busy,
    #[error(
        "the copy fails SQLite's check ({0}); the database itself may be damaged: run PRAGMA integrity_check on it"
    )]
    Damaged(String),
}

/// Copies the database at `source` to `destination`, replacing a file there only when
/// `replace` is set. Blocks: call it on a thread that may wait.
///
/// # Errors
/// [`BackupError`]; the destination is then as it was.
pub fn back_up(source: &Path, destination: &Path, replace: bool) -> Result<BackupReport, BackupError> {
    if !source.is_file() {
        return Err(BackupError::NoDatabase(source.to_owned()));
    }
    if destination.exists() {
        if !replace {
            return Err(BackupError::DestinationExists(destination.to_owned()));
        }
        if same_file(source, destination)? {
            return Err(BackupError::OntoItself(destination.to_owned()));
        }
    }
    let partial = Partial::create(destination)?;
    let pages = copy(source, &partial.path)?;
    let bytes = partial.finish(destination, replace)?;
    Ok(BackupReport { destination: destination.to_owned(), pages, bytes })
}

/// Copies every page of `source` into the (empty) database file `into`, checks the
/// copy, and returns its page count.
fn copy(source: &Path, into: &Path) -> Result<u64, BackupError> {
    // Read-write without create: a WAL database is read through its shared-memory
    // file, which a reader must be able to write; the source is never changed.
    let source =
        Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    source.pragma_update(None, "query_only", true)?;
    let mut copy = Connection::open(into)?;
    {
        let backup = Backup::new(&source, &mut copy)?;
        let waiting_since = Instant::now();
        loop {
            match backup.step(-1)? {
                StepResult::Done => break,
                // SQLite refuses a read only while a WAL is reset or a database recovered.
                _ if waiting_since.elapsed() >= BUSY_TIMEOUT => return Err(BackupError::Busy),
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
    // The read snapshot is released before the check, which may take a while on a
    // large copy: serve's WAL truncation waits for it.
    drop(source);
    let verdict: String = copy.query_row("PRAGMA quick_check", [], |row| row.get(0))?;
    if verdict != "ok" {
        return Err(BackupError::Damaged(verdict));
    }
    let pages: i64 = copy.query_row("PRAGMA page_count", [], |row| row.get(0))?;
    // The copy keeps the source's WAL mode; closing its only connection checkpoints and
    // removes the -wal and -shm files it opened, so the file stands alone.
    copy.close().map_err(|(_, error)| error)?;
    Ok(u64::try_from(pages).unwrap_or_default())
}

/// Whether two existing paths name the same file.
fn same_file(one: &Path, other: &Path) -> Result<bool, BackupError> {
    let canonical = |path: &Path| {
        std::fs::canonicalize(path).map_err(|source| BackupError::File {
            action: "resolve",
            path: path.to_owned(),
            source,
        })
    };
    Ok(canonical(one)? == canonical(other)?)
}

/// The temporary file a backup is written to, removed (with SQLite's side files)
/// unless it was renamed into place.
struct Partial {
    path: PathBuf,
    kept: bool,
}

impl Partial {
    /// A new file readable by its owner only, next to `destination` so that renaming
    /// it there cannot cross file systems. The copy holds password hashes and signing
    /// keys, as the database does.
    fn create(destination: &Path) -> Result<Self, BackupError> {
        let name = destination.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let path = destination.with_file_name(format!(".{name}.partial-{}", std::process::id()));
        // A leftover of an earlier backup of this process id that was killed.
        remove_with_side_files(&path);
        create_private(&path).map_err(|source| BackupError::File { action: "create", path: path.clone(), source })?;
        Ok(Self { path, kept: false })
    }

    /// Flushes the copy to disk and renames it to `destination`; returns its size.
    fn finish(mut self, destination: &Path, replace: bool) -> Result<u64, BackupError> {
        let file_error = |action, path: &Path| {
            let path = path.to_owned();
            move |source| BackupError::File { action, path, source }
        };
        let file = File::open(&self.path).map_err(file_error("open", &self.path))?;
        file.sync_all().map_err(file_error("flush", &self.path))?;
        let bytes = file.metadata().map_err(file_error("inspect", &self.path))?.len();
        if replace {
            std::fs::rename(&self.path, destination).map_err(file_error("replace", destination))?;
        } else {
            // A link fails if the name was taken since it was checked; a rename would
            // silently replace what is there.
            std::fs::hard_link(&self.path, destination).map_err(|source| match source.kind() {
                ErrorKind::AlreadyExists => BackupError::DestinationExists(destination.to_owned()),
                _ => BackupError::File { action: "create", path: destination.to_owned(), source },
            })?;
        }
        // After a link, the temporary name goes and the destination's stays.
        self.kept = replace;
        if let Some(directory) = destination.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            File::open(directory).and_then(|directory| directory.sync_all()).map_err(file_error("flush", directory))?;
        }
        Ok(bytes)
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.kept {
            remove_with_side_files(&self.path);
        }
    }
}

fn remove_with_side_files(database: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut path = database.to_owned().into_os_string();
        path.push(suffix);
        // Missing is the usual case; anything else leaves a hidden file behind.
        drop(std::fs::remove_file(path));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

    use super::*;

    /// A directory with `taskdeck.db` in WAL mode, holding rows 1 to `rows` of `notes`,
    /// and the connection that wrote them, still open.
    fn live_database(rows: i64) -> (tempfile::TempDir, PathBuf, Connection) {
        let dir = tempfile::tempdir().expect("dir");
        let source = dir.path().join("taskdeck.db");
        let connection = Connection::open(&source).expect("opens");
        let mode: String =
            connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)).expect("WAL");
        assert_eq!(mode, "wal");
        // As `serve` runs: checkpoints are its own business, so the WAL keeps the rows.
        connection.pragma_update(None, "wal_autocheckpoint", 0).expect("no automatic checkpoint");
        connection.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)").expect("table");
        for id in 1..=rows {
            connection.execute("INSERT INTO notes VALUES (?1, 'x')", [id]).expect("insert");
        }
        (dir, source, connection)
    }

    fn ids(path: &Path) -> Vec<i64> {
        let connection = Connection::open(path).expect("the copy opens");
        let mut statement = connection.prepare("SELECT id FROM notes ORDER BY id").expect("prepares");
        statement.query_map([], |row| row.get(0)).expect("reads").collect::<Result<_, _>>().expect("rows")
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("lists")
            .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_copy_holds_every_committed_row_including_those_still_in_the_wal() {
        let (dir, source, _live) = live_database(50);
        let report = back_up(&source, &dir.path().join("copy.db"), false).expect("backs up");
        assert_eq!(ids(&report.destination), (1..=50).collect::<Vec<_>>());
        assert!(report.pages >= 2 && report.bytes == report.pages * 4096, "{report:?}");
        assert_eq!(
            names_in(dir.path()),
            ["copy.db", "taskdeck.db", "taskdeck.db-shm", "taskdeck.db-wal"],
            "no temporary file, no side file of the copy left"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_copy_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, source, _live) = live_database(0);
        let report = back_up(&source, &dir.path().join("copy.db"), false).expect("backs up");
        let mode = std::fs::metadata(report.destination).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }

    #[test]
    fn an_existing_destination_is_kept_unless_replacing_is_asked_for() {
        let (dir, source, _live) = live_database(1);
        let destination = dir.path().join("copy.db");
        std::fs::write(&destination, b"an earlier backup").expect("writes");

        let refused = back_up(&source, &destination, false).expect_err("refused");
        assert!(matches!(refused, BackupError::DestinationExists(_)), "{refused:?}");
        assert_eq!(std::fs::read(&destination).expect("reads"), b"an earlier backup");

        back_up(&source, &destination, true).expect("replaces");
        assert_eq!(ids(&destination), [1]);
        assert_eq!(names_in(dir.path()), ["copy.db", "taskdeck.db", "taskdeck.db-shm", "taskdeck.db-wal"]);
    }

    #[test]
    fn the_database_is_never_backed_up_onto_itself() {
        let (dir, source, _live) = live_database(1);
        let refused = back_up(&source, &dir.path().join(".").join("taskdeck.db"), true).expect_err("refused");
        assert!(matches!(refused, BackupError::OntoItself(_)), "{refused:?}");
        assert_eq!(ids(&source), [1]);
    }

    #[test]
    fn a_missing_database_or_destination_directory_fails_and_creates_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let missing = back_up(&dir.path().join("none.db"), &dir.path().join("copy.db"), false).expect_err("fails");
        assert!(matches!(missing, BackupError::NoDatabase(_)), "{missing:?}");
        assert!(names_in(dir.path()).is_empty(), "{:?}", names_in(dir.path()));

        let (dir, source, _live) = live_database(0);
        let nowhere = back_up(&source, &dir.path().join("no/such/dir/copy.db"), false).expect_err("fails");
        assert!(matches!(nowhere, BackupError::File { action: "create", .. }), "{nowhere:?}");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused_without_a_copy() {
        let dir = tempfile::tempdir().expect("dir");
        let source = dir.path().join("notes.txt");
        std::fs::write(&source, b"not a database, but long enough to have a header of sorts").expect("writes");
        let refused = back_up(&source, &dir.path().join("copy.db"), false).expect_err("refused");
        assert!(matches!(refused, BackupError::Sqlite(_)), "{refused:?}");
        assert_eq!(names_in(dir.path()), ["notes.txt"]);
    }

    /// Another connection commits as fast as it can all along: each backup is one
    /// commit's state (every row below its highest, none missing) and holds every row
    /// committed before it started.
    #[test]
    fn a_backup_taken_while_another_connection_writes_is_a_consistent_snapshot() {
        let (dir, source, live) = live_database(0);
        let committed = Arc::new(AtomicI64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (committed, stop) = (Arc::clone(&committed), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut id = 0_i64;
                while !stop.load(Ordering::Relaxed) {
                    id += 1;
                    live.execute("INSERT INTO notes VALUES (?1, hex(randomblob(200)))", [id]).expect("insert");
                    committed.store(id, Ordering::Release);
                }
            })
        };
        while committed.load(Ordering::Acquire) < 500 {
            std::thread::yield_now();
        }
        let before_the_backups = committed.load(Ordering::Acquire);
        for round in 0..5 {
            let before = committed.load(Ordering::Acquire);
            let copy = dir.path().join(format!("copy-{round}.db"));
            back_up(&source, &copy, false).expect("backs up under load");
            let rows = ids(&copy);
            let highest = rows.last().copied().unwrap_or_default();
            assert!(highest >= before, "round {round}: {highest} rows, {before} were committed before");
            assert_eq!(rows, (1..=highest).collect::<Vec<_>>(), "round {round}: a gap");
        }
        let after_the_backups = committed.load(Ordering::Acquire);
        stop.store(true, Ordering::Relaxed);
        writer.join().expect("the writer");
        assert!(after_the_backups > before_the_backups, "the writer went on committing during the backups");
    }
}
