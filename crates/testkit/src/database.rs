//! The temporary database of one test: the one place tests create and remove one.

use std::path::{Path, PathBuf};
use std::thread;

use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::TestBackend;

/// The variable naming the server PostgreSQL tests use.
pub const POSTGRES_URL_VARIABLE: &str = "TASKDECK_TEST_POSTGRES_URL";
/// Set (as CI does) to make a missing server fail the tests instead of skipping them.
pub const REQUIRE_POSTGRES_VARIABLE: &str = "TASKDECK_REQUIRE_POSTGRES";

/// The PostgreSQL server tests use, from `TASKDECK_TEST_POSTGRES_URL`. Without it a
/// test says loudly that it skips, unless `TASKDECK_REQUIRE_POSTGRES` is set, in
/// which case it fails.
///
/// # Panics
/// When PostgreSQL is required but not configured.
#[must_use]
#[allow(clippy::print_stderr)]
pub fn postgres_test_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VARIABLE) {
        Ok(url) if !url.is_empty() => Some(url),
        Ok(_) | Err(_) => {
            assert!(
                std::env::var_os(REQUIRE_POSTGRES_VARIABLE).is_none(),
                "{REQUIRE_POSTGRES_VARIABLE} is set but {POSTGRES_URL_VARIABLE} is not: PostgreSQL tests cannot run"
            );
            eprintln!(
                "SKIPPED: PostgreSQL test; set {POSTGRES_URL_VARIABLE}=postgres://postgres@127.0.0.1:5432/postgres to run it"
            );
            None
        }
    }
}

/// An empty database of its own for one test, and a working directory. On SQLite the
/// file `DIR/taskdeck.db`, created by whoever opens it first; on PostgreSQL a fresh
/// database on the configured server. Both are removed when this value is dropped (on
/// PostgreSQL with every connection to it): keep it alive as long as the test uses the
/// database.
#[derive(Debug)]
pub struct TestDatabase {
    pub backend: TestBackend,
    url: String,
    postgres: Option<PostgresDatabaseGuard>,
    // Declared last: the directory goes after the database that may live in it.
    dir: tempfile::TempDir,
}

impl TestDatabase {
    /// `None` (after SKIPPED was printed) when PostgreSQL is wanted but no server is
    /// configured.
    ///
    /// # Panics
    /// When the directory or the database cannot be created.
    pub async fn new(backend: TestBackend) -> Option<Self> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        match backend {
            TestBackend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("taskdeck.db").display());
                Some(Self { backend, url, postgres: None, dir })
            }
            TestBackend::Postgres => {
                let guard = PostgresDatabaseGuard::create(&postgres_test_url()?).await;
                Some(Self { backend, url: guard.url(), postgres: Some(guard), dir })
            }
        }
    }

    /// On the backend `TASKDECK_TEST_BACKEND` selects.
    pub async fn selected() -> Option<Self> {
        Self::new(TestBackend::selected()).await
    }

    /// What `--database-url` takes.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The working directory of the test (the SQLite file's directory).
    #[must_use]
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// On SQLite, the database file.
    #[must_use]
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        (self.backend == TestBackend::Sqlite).then(|| self.dir.path().join("taskdeck.db"))
    }

    /// On PostgreSQL, the database's name.
    #[must_use]
    pub fn postgres_name(&self) -> Option<&str> {
        self.postgres.as_ref().map(|guard| guard.name.as_str())
    }
}

/// A database created on the test server, dropped with its connections on drop.
#[derive(Debug)]
struct PostgresDatabaseGuard {
    admin_url: String,
    name: String,
}

impl PostgresDatabaseGuard {
    async fn create(admin_url: &str) -> Self {
        let name = format!("taskdeck_test_{}", uuid_like());
        admin_execute(admin_url, &format!("CREATE DATABASE {name}")).await;
        Self { admin_url: admin_url.to_owned(), name }
    }

    fn url(&self) -> String {
        let (base, _) = self.admin_url.rsplit_once('/').expect("a database URL ends with /DB");
        format!("{base}/{}", self.name)
    }
}

impl Drop for PostgresDatabaseGuard {
    fn drop(&mut self) {
        let (admin_url, statement) =
            (self.admin_url.clone(), format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        // Drop cannot await and may run inside the test's runtime: use a thread of its own.
        let dropper = thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(admin_execute(&admin_url, &statement));
        });
        let _ = dropper.join();
    }
}

/// Runs one statement on a fresh connection to `admin_url`, failing loudly.
///
/// # Panics
/// When the server cannot be reached or refuses the statement.
pub async fn admin_execute(admin_url: &str, statement: &str) {
    let mut admin =
        PgConnection::connect(admin_url).await.unwrap_or_else(|error| panic!("cannot connect to {admin_url}: {error}"));
    sqlx::query(AssertSqlSafe(statement.to_owned()))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|error| panic!("{statement}: {error}"));
    let _ = admin.close().await;
}

/// 32 random hex digits, for a database name no other test uses.
fn uuid_like() -> String {
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes).expect("randomness");
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sqlite_test_database_is_a_file_in_a_directory_removed_afterwards() {
        let database = TestDatabase::new(TestBackend::Sqlite).await.unwrap();
        let path = database.sqlite_path().unwrap();
        assert_eq!(database.url(), format!("sqlite://{}", path.display()));
        std::fs::write(&path, b"anything").unwrap();
        let dir = database.dir().to_owned();
        drop(database);
        assert!(!dir.exists(), "the directory is removed with the database in it");
    }

    #[tokio::test]
    async fn a_postgres_test_database_is_created_empty_and_dropped_afterwards() {
        let Some(admin_url) = postgres_test_url() else { return };
        let database = TestDatabase::new(TestBackend::Postgres).await.unwrap();
        let name = database.postgres_name().unwrap().to_owned();
        let mut connection = PgConnection::connect(database.url()).await.unwrap();
        let tables: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'")
            .fetch_one(&mut connection)
            .await
            .unwrap();
        assert_eq!(tables, 0, "a fresh database is empty");
        drop(database);
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .unwrap();
        assert_eq!(left, 0, "dropped, although a connection was still open");
    }
}
