//! The backend-neutral half of taskdeck's infrastructure, shared by every context's
//! adapters and by the binary: what a storage backend must offer ([`Backend`]), what a
//! bounded context hands the composition root ([`ContextModule`]), the transactional
//! outbox and its relay, migrations as data, the mapping of uniqueness violations,
//! instance settings and bearer tokens.
//!
//! The drivers live in `taskdeck-platform-sqlite` and `taskdeck-platform-postgres`, the
//! HTTP plumbing in `taskdeck-platform-http`; nothing here names a database.

pub mod auth;
pub mod backend;
pub mod constraints;
pub mod cursor;
pub mod idempotency;
pub mod metrics;
pub mod migrations;
pub mod module;
pub mod outbox;
pub mod settings;
pub mod sql;
pub mod trace;

use std::future::Future;
use std::pin::Pin;

pub use auth::{AuthError, Authenticator, JwtAuthority, SessionCheck, SigningKeyStore, Verified};
pub use backend::{Backend, DatabaseProbe};
pub use constraints::{UniqueKey, UniqueViolation, WriteError};
pub use cursor::{InvalidCursor, PageCursors};
pub use idempotency::{ClaimOutcome, Idempotency, IdempotencyStore};
pub use migrations::{Migration, MigrationPlan, MigrationPlanError};
pub use module::{ContextModule, MountError, Mounted, Platform};

/// A boxed future, for the few ports that are used behind trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
