//! The SQLite schema migrations, embedded in the binary.

use sqlx::migrate::Migrator;

/// The migrator over the embedded migrations (`migrations/sqlite/`).
#[must_use]
pub fn migrator() -> Migrator {
    crate::migrations::embedded(&[
        (1, "accounts", include_str!("../../../../migrations/sqlite/0001_accounts.sql")),
        (2, "projects", include_str!("../../../../migrations/sqlite/0002_projects.sql")),
        (3, "outbox inbox", include_str!("../../../../migrations/sqlite/0003_outbox_inbox.sql")),
        (4, "settings", include_str!("../../../../migrations/sqlite/0004_settings.sql")),
    ])
}
