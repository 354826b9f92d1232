//! SQLite for taskdeck: the embedded, zero-setup backend. The database (one writer
//! connection, readers of their own, WAL checkpoints off the async workers), the
//! migration runner, the unit of work every context's repository is built on, the
//! outbox, the settings table, and the mapping of constraint violations.

mod backend;
mod backup;
mod constraints;
mod database;
mod idempotency;
mod keys;
mod migrations;
mod outbox;
mod settings;
mod statements;
mod store;
#[cfg(any(test, feature = "testing"))]
mod testing;
mod timestamp;

pub use backup::{BackupError, BackupReport, back_up};
pub use constraints::write_error;
pub use database::{SqliteDatabase, SqliteSettings, SqliteSetupError, WriteTransaction, retry_after};
pub use migrations::{MigrationError, PLATFORM_MIGRATIONS};
pub use outbox::SqliteOutbox;
pub use statements::CachedStatements;
pub use store::{SqliteStore, SqliteUnitOfWork};
pub use timestamp::{Timestamp, UnixMicros};
