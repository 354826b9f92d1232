//! The PostgreSQL migrations of the platform's own tables, and the migrator over the
//! whole plan. sqlx records applied migrations in `_sqlx_migrations`, checks their
//! checksums, and takes an advisory lock while it runs, so instances starting together
//! apply each migration once.

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration as SqlxMigration, MigrationType, Migrator};
use taskdeck_platform::{Migration, MigrationPlan, MigrationPlanError};

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

/// A migrator over the platform's migrations and those of `contexts`.
///
/// # Errors
/// `DuplicateVersion` when two lists claim the same version.
pub(crate) fn migrator(contexts: &[&[Migration]]) -> Result<Migrator, MigrationPlanError> {
    let plan = MigrationPlan::new(PLATFORM_MIGRATIONS, contexts)?;
    Ok(Migrator::with_migrations(
        plan.migrations()
            .iter()
            .map(|migration| {
                SqlxMigration::new(
                    migration.version,
                    migration.description.into(),
                    MigrationType::Simple,
                    migration.sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    ))
}
