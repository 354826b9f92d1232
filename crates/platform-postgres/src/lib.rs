//! PostgreSQL for taskdeck: the backend for several stateless instances on one
//! database. Two pools per instance (writes and the relay; the read side's queries),
//! migrations under an advisory lock, the unit of work every context's repository is
//! built on, the outbox shared by every instance's relay with LISTEN/NOTIFY wake-ups,
//! the settings table, and the mapping of constraint violations.

mod backend;
mod constraints;
mod database;
mod idempotency;
mod keys;
mod migrations;
mod outbox;
mod reads;
mod settings;
mod store;
#[cfg(any(test, feature = "testing"))]
mod testing;

pub use constraints::write_error;
pub use database::{PostgresDatabase, PostgresSettings, PostgresSetupError, retry_after};
pub use migrations::PLATFORM_MIGRATIONS;
pub use outbox::{DEFAULT_LEASE, NOTIFY_CHANNEL, PostgresOutbox};
pub use reads::ReadConnection;
pub use store::{PostgresStore, PostgresUnitOfWork};
