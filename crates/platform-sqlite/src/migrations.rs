//! The SQLite migration runner, and the migrations of the platform's own tables.
//!
//! Each migration runs once, in version order, and is recorded in
//! `schema_migrations`; all pending ones apply in one transaction, so a failure leaves
//! the schema as it was. Contexts bring their own migrations ([`taskdeck_platform::Migration`]
//! lists next to their adapters); versions are one sequence across all of them.

use rusqlite::Connection;
use taskdeck_kernel::StoreError;
use taskdeck_platform::{Migration, MigrationPlan, MigrationPlanError};
use thiserror::Error;
use time::OffsetDateTime;

use crate::Timestamp;

/// The tables every context shares: the outbox, the inbox, the settings and the
/// signing keys.
pub const PLATFORM_MIGRATIONS: &[Migration] = &[
    Migration { version: 3, description: "outbox inbox", sql: include_str!("../migrations/0003_outbox_inbox.sql") },
    Migration { version: 4, description: "settings", sql: include_str!("../migrations/0004_settings.sql") },
    Migration { version: 6, description: "signing keys", sql: include_str!("../migrations/0006_signing_keys.sql") },
    Migration {
        version: 9,
        description: "idempotency keys",
        sql: include_str!("../migrations/0009_idempotency_keys.sql"),
    },
    Migration {
        version: 12,
        description: "outbox trace parent",
        sql: include_str!("../migrations/0012_outbox_trace_parent.sql"),
    },
];

#[derive(Debug, Error)]
pub enum MigrationError {
    #[error(transparent)]
    Plan(#[from] MigrationPlanError),
    #[error("migration {version} ({description}) failed: {source}")]
    Failed { version: i64, description: &'static str, source: rusqlite::Error },
    #[error("the database holds migration {0}, which this taskdeck does not know: it was migrated by a newer release")]
    Unknown(i64),
    #[error("cannot read or record the applied migrations: {0}")]
    Bookkeeping(#[from] rusqlite::Error),
    #[error(transparent)]
    Store(StoreError),
}

/// The platform's migrations and the contexts', in version order.
pub(crate) fn plan(contexts: &[&[Migration]]) -> Result<MigrationPlan, MigrationError> {
    Ok(MigrationPlan::new(PLATFORM_MIGRATIONS, contexts)?)
}

/// Applies the migrations of `plan` that `connection` lacks, inside the caller's write
/// transaction.
pub(crate) fn apply(connection: &Connection, plan: &MigrationPlan) -> Result<(), MigrationError> {
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
    if let Some(unknown) = applied.iter().find(|version| !plan.knows(**version)) {
        return Err(MigrationError::Unknown(*unknown));
    }
    for migration in plan.migrations().iter().filter(|migration| !applied.contains(&migration.version)) {
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

    const CONTEXT: &[Migration] =
        &[Migration { version: 1, description: "notes", sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY) STRICT" }];

    #[test]
    fn every_migration_applies_once_and_is_recorded_in_version_order() {
        let connection = Connection::open_in_memory().unwrap();
        let plan = plan(&[CONTEXT]).unwrap();
        apply(&connection, &plan).unwrap();
        apply(&connection, &plan).unwrap();
        let recorded: Vec<i64> = connection
            .prepare("SELECT version FROM schema_migrations ORDER BY applied_at, version")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(recorded, [1, 3, 4, 6, 9, 12]);
        let tables: i64 = connection
            .query_row(
                "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table'
                 AND name IN ('notes', 'outbox', 'inbox', 'settings', 'idempotency_keys')",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(tables, 5);
    }

    #[test]
    fn a_database_migrated_by_a_newer_release_is_refused() {
        let connection = Connection::open_in_memory().unwrap();
        let plan = plan(&[]).unwrap();
        apply(&connection, &plan).unwrap();
        connection
            .execute("INSERT INTO schema_migrations VALUES (9999, 'from the future', '2030-01-01T00:00:00Z')", [])
            .unwrap();
        assert!(matches!(apply(&connection, &plan), Err(MigrationError::Unknown(9999))));
    }

    #[test]
    fn a_context_claiming_a_platform_version_is_refused_before_anything_runs() {
        let clash = &[Migration { version: 4, description: "labels", sql: "" }][..];
        assert!(matches!(plan(&[clash]), Err(MigrationError::Plan(MigrationPlanError::DuplicateVersion { .. }))));
    }

    #[test]
    fn a_failing_migration_names_itself() {
        let connection = Connection::open_in_memory().unwrap();
        let broken = &[Migration { version: 5, description: "broken", sql: "CREATE TABLE" }][..];
        let outcome = apply(&connection, &plan(&[broken]).unwrap());
        assert!(
            matches!(outcome, Err(MigrationError::Failed { version: 5, description: "broken", .. })),
            "{outcome:?}"
        );
    }
}
