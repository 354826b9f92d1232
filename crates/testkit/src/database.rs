//! The temporary database of one test.

use std::path::{Path, PathBuf};

use taskdeck_platform_postgres::PostgresDatabase;
use taskdeck_platform_postgres::testing::test_url;

use crate::TestBackend;

/// An empty database of its own for one test, and a working directory. On SQLite the
/// file `DIR/taskdeck.db`, created by whoever opens it first; on PostgreSQL a fresh
/// database on the configured server, dropped with every connection to it when this
/// value is dropped: keep it alive as long as the test uses the database.
#[derive(Debug)]
pub struct TestDatabase {
    pub backend: TestBackend,
    dir: tempfile::TempDir,
    url: String,
    postgres: Option<PostgresDatabase>,
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
                Some(Self { backend, dir, url, postgres: None })
            }
            TestBackend::Postgres => {
                let admin_url = test_url()?;
                let database = PostgresDatabase::temporary_empty(&admin_url)
                    .await
                    .unwrap_or_else(|error| panic!("cannot create a database on {admin_url}: {error}"));
                let url = database.temporary_url().expect("a temporary database has a URL");
                Some(Self { backend, dir, url, postgres: Some(database) })
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

    /// On PostgreSQL, a handle on the database (its pools connect to it).
    #[must_use]
    pub fn postgres(&self) -> Option<&PostgresDatabase> {
        self.postgres.as_ref()
    }

    /// On PostgreSQL, the database's name.
    #[must_use]
    pub fn postgres_name(&self) -> Option<&str> {
        self.postgres.as_ref().and_then(|_| self.url.rsplit('/').next())
    }
}
