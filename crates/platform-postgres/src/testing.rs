//! Test support (feature `testing`): the server tests run on, throwaway databases, and
//! a look into the outbox.

use std::sync::Arc;
use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use taskdeck_kernel::EventEnvelope;
use taskdeck_kernel::testing::OutboxProbe;

use crate::{PostgresDatabase, PostgresOutbox, PostgresSettings, PostgresSetupError, PostgresStore};

/// The variable naming the server PostgreSQL tests use.
pub const TEST_URL_VARIABLE: &str = "TASKDECK_TEST_POSTGRES_URL";
/// Set (as CI does) to make a missing server fail the tests instead of skipping them.
pub const REQUIRE_VARIABLE: &str = "TASKDECK_REQUIRE_POSTGRES";

/// The PostgreSQL server tests use, from `TASKDECK_TEST_POSTGRES_URL`. Without it a
/// test says loudly that it skips, unless `TASKDECK_REQUIRE_POSTGRES` is set, in
/// which case it fails.
///
/// # Panics
/// When PostgreSQL is required but not configured.
#[must_use]
#[allow(clippy::print_stderr)]
pub fn test_url() -> Option<String> {
    match std::env::var(TEST_URL_VARIABLE) {
        Ok(url) if !url.is_empty() => Some(url),
        Ok(_) | Err(_) => {
            assert!(
                std::env::var_os(REQUIRE_VARIABLE).is_none(),
                "{REQUIRE_VARIABLE} is set but {TEST_URL_VARIABLE} is not: PostgreSQL tests cannot run"
            );
            eprintln!(
                "SKIPPED: PostgreSQL test; set {TEST_URL_VARIABLE}=postgres://postgres@127.0.0.1:5432/postgres to run it"
            );
            None
        }
    }
}

/// A database of a test, dropped (with its connections) when the last handle goes.
#[derive(Debug)]
pub(crate) struct TemporaryDatabase {
    admin_url: String,
    name: String,
}

impl TemporaryDatabase {
    fn url(&self) -> String {
        let (base, _) = self.admin_url.rsplit_once('/').unwrap_or((&self.admin_url, ""));
        format!("{base}/{}", self.name)
    }
}

impl Drop for TemporaryDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop cannot await, and may run inside a runtime: use a thread of its own.
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(AssertSqlSafe(statement)).execute(&mut admin).await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}

impl PostgresDatabase {
    /// A fresh database on the server `admin_url` points at, with the platform's tables
    /// (each context migrates its own), dropped when the last handle is dropped.
    ///
    /// # Errors
    /// When the server is unreachable or refuses to create a database.
    pub async fn temporary(admin_url: &str) -> Result<Self, PostgresSetupError> {
        let database = Self::temporary_empty(admin_url).await?;
        database.migrate(&[]).await?;
        Ok(database)
    }

    /// A fresh database with no tables at all, dropped when the last handle is dropped.
    ///
    /// # Errors
    /// When the server is unreachable or refuses to create a database.
    pub async fn temporary_empty(admin_url: &str) -> Result<Self, PostgresSetupError> {
        let name = format!("taskdeck_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(admin_url).await.map_err(PostgresSetupError::Temporary)?;
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .map_err(PostgresSetupError::Temporary)?;
        let _ = admin.close().await;
        let guard = Arc::new(TemporaryDatabase { admin_url: admin_url.to_owned(), name: name.clone() });
        let mut settings = PostgresSettings::from_url(admin_url)?;
        settings.options = settings.options.database(&name);
        settings.pool_size = 5;
        settings.connect_timeout = Duration::from_secs(5);
        let mut database = Self::connect(&settings).await?;
        database.temporary = Some(guard);
        Ok(database)
    }

    /// The URL of a temporary database, for starting the real binary on it.
    #[must_use]
    pub fn temporary_url(&self) -> Option<String> {
        self.temporary.as_ref().map(|guard| guard.url())
    }
}

impl OutboxProbe for PostgresStore {
    async fn outbox_events(&self) -> Vec<EventEnvelope> {
        self.database().outbox_events().await
    }
}

impl OutboxProbe for PostgresDatabase {
    async fn outbox_events(&self) -> Vec<EventEnvelope> {
        PostgresOutbox::new(self.clone(), crate::DEFAULT_LEASE).all_events().await.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_temporary_database_has_the_platform_tables_and_is_dropped_afterwards() {
        let Some(admin_url) = test_url() else { return };
        let database = PostgresDatabase::temporary(&admin_url).await.unwrap();
        let url = database.temporary_url().unwrap();
        let name = url.rsplit('/').next().unwrap().to_owned();
        assert!(database.is_reachable().await);
        let tables: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name IN ('outbox', 'inbox', 'settings')",
        )
        .fetch_one(database.pool())
        .await
        .unwrap();
        assert_eq!(tables, 3);
        drop(database);
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .unwrap();
        assert_eq!(left, 0, "the temporary database is dropped");
    }
}
