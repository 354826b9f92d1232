//! The PostgreSQL schema migrations, embedded in the binary.

use sqlx::migrate::Migrator;

/// The migrator over the embedded migrations (`migrations/postgres/`).
#[must_use]
pub fn migrator() -> Migrator {
    crate::migrations::embedded(&[
        (1, "accounts", include_str!("../../../../migrations/postgres/0001_accounts.sql")),
        (2, "projects", include_str!("../../../../migrations/postgres/0002_projects.sql")),
        (3, "outbox inbox", include_str!("../../../../migrations/postgres/0003_outbox_inbox.sql")),
        (4, "settings", include_str!("../../../../migrations/postgres/0004_settings.sql")),
    ])
}
