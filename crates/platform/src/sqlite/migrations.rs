//! The SQLite schema migrations, embedded in the binary, and the runner that applies
//! them.
//!
//! Each migration runs once, in version order, and is recorded in
//! `schema_migrations`; all pending ones apply in one transaction, so a failure leaves
//! the schema as it was. A released migration is never edited: add a new one.

use rusqlite::Connection;
use taskdeck_kernel::StoreError;
use thiserror::Error;
use time::OffsetDateTime;

use super::Timestamp;

struct Migration {
    version: i64,
    description: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "accounts",
        sql: include_str!("../../../../migrations/sqlite/0001_accounts.sql"),
    },
    Migration {
        version: 2,
        description: "projects",
        sql: include_str!("../../../../migrations/sqlite/0002_projects.sql"),
    },
    Migration {
        version: 3,
        description: "outbox inbox",
        sql: include_str!("../../../../migrations/sqlite/0003_outbox_inbox.sql"),
    },
    Migration {
        version: 4,
        description: "settings",
        sql: include_str!("../../../../migrations/sqlite/0004_settings.sql"),
    },
];

#[derive(Debug, Error)]
pub enum MigrationError {
    #[error("migration {version} ({description}) failed: {source}")]
    Failed { version: i64, description: &'static str, source: rusqlite::Error },
    #[error("the database holds migration {0}, which this taskdeck does not know: it was migrated by a newer release")]
    Unknown(i64),
    #[error("cannot read or record the applied migrations: {0}")]
    Bookkeeping(#[from] rusqlite::Error),
    #[error(transparent)]
    Store(StoreError),
}

/// Applies the migrations `connection` lacks, inside the caller's write transaction.
pub(super) fn apply(connection: &Connection) -> Result<(), MigrationError> {
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY NOT NULL,
             description TEXT NOT NULL,
             applied_at TEXT NOT NULL
         ) STRICT",
    )?;
    let applied: Vec<i64> = {
        let mut statement = connection.prepare("SELECT version FROM schema_migrations ORDER BY version")?;
        statement.query_map([], |row| row.get(0))?.collect::<rusqlite::Result<_>>()?
    };
    if let Some(unknown) = applied.iter().find(|version| !MIGRATIONS.iter().any(|known| known.version == **version)) {
        return Err(MigrationError::Unknown(*unknown));
    }
    for migration in MIGRATIONS.iter().filter(|migration| !applied.contains(&migration.version)) {
        connection.execute_batch(migration.sql).map_err(|source| MigrationError::Failed {
            version: migration.version,
            description: migration.description,
            source,
        })?;
        connection.execute(
            "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.description, Timestamp(OffsetDateTime::now_utc())),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_distinct_and_increasing() {
        assert!(MIGRATIONS.windows(2).all(|pair| pair[0].version < pair[1].version));
    }

    #[test]
    fn every_migration_applies_once_and_is_recorded() {
        let connection = Connection::open_in_memory().unwrap();
        apply(&connection).unwrap();
        apply(&connection).unwrap();
        let recorded: i64 =
            connection.query_row("SELECT COUNT(*) FROM schema_migrations", [], |row| row.get(0)).unwrap();
        assert_eq!(recorded, i64::try_from(MIGRATIONS.len()).unwrap());
        let tables: i64 = connection
            .query_row(
                "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table'
                 AND name IN ('users', 'projects', 'tasks', 'outbox', 'inbox', 'settings')",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(tables, 6);
    }

    #[test]
    fn a_database_migrated_by_a_newer_release_is_refused() {
        let connection = Connection::open_in_memory().unwrap();
        apply(&connection).unwrap();
        connection
            .execute("INSERT INTO schema_migrations VALUES (9999, 'from the future', '2030-01-01T00:00:00Z')", [])
            .unwrap();
        assert!(matches!(apply(&connection), Err(MigrationError::Unknown(9999))));
    }
}
