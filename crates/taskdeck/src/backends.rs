//! The backends this build has (cargo features `sqlite` and `postgres`), and the one
//! place that turns configuration into one: after [`open`], everything runs behind
//! [`Installation`], generic code chosen here once.

use std::sync::Arc;

use taskdeck_kernel::StoreError;
use taskdeck_platform::auth::StoredKey;
use taskdeck_platform::outbox::{OutboxStats, OutboxStore};
use taskdeck_platform::{Backend, BoxFuture, DatabaseProbe, SigningKeyStore};

use crate::composition::{self, Application, Settings, Supported};
use crate::config::DatabaseConfig;

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!("taskdeck needs at least one backend: enable the feature `sqlite` or `postgres`");

/// The backend whose types describe the API in `taskdeck openapi` (the document is the
/// same on every backend).
#[cfg(feature = "sqlite")]
pub type Documented = taskdeck_platform_sqlite::SqliteDatabase;
#[cfg(all(not(feature = "sqlite"), feature = "postgres"))]
pub type Documented = taskdeck_platform_postgres::PostgresDatabase;

/// An open, migrated database, whatever its backend: what the subcommands work with.
pub trait Installation: DatabaseProbe {
    /// The application on this database; see [`composition::compose`].
    fn compose<'a>(&'a self, settings: &'a Settings) -> BoxFuture<'a, anyhow::Result<Application>>;

    /// How many events are pending and dead in the outbox.
    fn outbox_stats(&self) -> BoxFuture<'_, Result<OutboxStats, StoreError>>;

    /// Gives every dead event a fresh start; returns how many.
    fn requeue_dead(&self) -> BoxFuture<'_, Result<u64, StoreError>>;

    /// Adds a newer signing key, which signs from now on; returns its `kid`.
    fn rotate_signing_key(&self) -> BoxFuture<'_, anyhow::Result<String>>;

    /// The stored signing keys.
    fn signing_keys(&self) -> BoxFuture<'_, Result<Vec<StoredKey>, StoreError>>;

    /// Closes every connection.
    fn close(&self) -> BoxFuture<'_, ()>;
}

impl<B: Supported> Installation for B {
    fn compose<'a>(&'a self, settings: &'a Settings) -> BoxFuture<'a, anyhow::Result<Application>> {
        Box::pin(composition::compose(self, settings))
    }

    fn outbox_stats(&self) -> BoxFuture<'_, Result<OutboxStats, StoreError>> {
        Box::pin(async move { self.outbox().stats().await })
    }

    fn requeue_dead(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move { self.outbox().requeue_dead().await })
    }

    fn rotate_signing_key(&self) -> BoxFuture<'_, anyhow::Result<String>> {
        Box::pin(async move {
            let now = time::OffsetDateTime::now_utc();
            let newer = StoredKey::generate(now)?;
            let kid = newer.kid.clone();
            SigningKeyStore::rotate_signing_key(self, newer, now).await?;
            Ok(kid)
        })
    }

    fn signing_keys(&self) -> BoxFuture<'_, Result<Vec<StoredKey>, StoreError>> {
        Box::pin(SigningKeyStore::signing_keys(self))
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(Backend::close(self))
    }
}

/// Opens the configured database and applies the migrations it lacks.
///
/// # Errors
/// For an unreachable database or a failed migration.
pub async fn open(config: &DatabaseConfig) -> anyhow::Result<Arc<dyn Installation>> {
    match config {
        #[cfg(feature = "sqlite")]
        DatabaseConfig::Sqlite(settings) => {
            migrated(taskdeck_platform_sqlite::SqliteDatabase::open(settings).await?).await
        }
        #[cfg(feature = "postgres")]
        DatabaseConfig::Postgres(settings) => {
            migrated(taskdeck_platform_postgres::PostgresDatabase::connect(settings).await?).await
        }
    }
}

async fn migrated<B: Supported>(backend: B) -> anyhow::Result<Arc<dyn Installation>> {
    composition::migrate(&backend).await?;
    Ok(Arc::new(backend))
}
