//! What a storage backend offers the rest of taskdeck. The composition root is generic
//! over it and picks the implementation once, from the configuration; contexts add
//! their own per-backend traits on top (their repositories and read models).

use std::future::Future;

use taskdeck_kernel::StoreError;
use tokio::sync::watch;

use crate::BoxFuture;
use crate::auth::SigningKeyStore;
use crate::idempotency::IdempotencyStore;
use crate::metrics::BackendGauges;
use crate::migrations::Migration;
use crate::outbox::{OutboxStore, RelaySignal};
use crate::settings::SettingsStore;

/// An open database of one backend: cheap to clone, shared by every context.
pub trait Backend: SettingsStore + SigningKeyStore + IdempotencyStore + Clone + Send + Sync + 'static {
    /// The relay's side of this backend's outbox.
    type Outbox: OutboxStore + Clone;
    /// Why migrating failed.
    type MigrateError: std::error::Error + Send + Sync + 'static;

    /// The tables of the platform itself, which every context uses: outbox, inbox,
    /// settings.
    const PLATFORM_MIGRATIONS: &'static [Migration];

    /// Applies, in version order and under a lock where several instances may race,
    /// the migrations of [`Backend::PLATFORM_MIGRATIONS`] and of `contexts` that this
    /// database lacks.
    ///
    /// # Errors
    /// When two migrations share a version, a migration fails, or the database holds a
    /// migration none of these lists knows (it was migrated by a newer release).
    fn migrate(&self, contexts: &[&'static [Migration]])
    -> impl Future<Output = Result<(), Self::MigrateError>> + Send;

    /// The outbox as the relay and operators see it.
    fn outbox(&self) -> Self::Outbox;

    /// Whether the database answers a trivial query.
    fn is_reachable(&self) -> impl Future<Output = bool> + Send;

    /// Whether a write can be made now (a small one is made and committed).
    fn can_write(&self) -> impl Future<Output = bool> + Send;

    /// When `error`, met somewhere in a failure of this backend, is a passing
    /// condition (busy, full, unreachable) rather than a fault: how long a client
    /// should wait before trying again.
    fn retry_after(error: &(dyn std::error::Error + 'static)) -> Option<std::time::Duration>;

    /// The outbox's counts and the pools' connections, for the metrics.
    ///
    /// # Errors
    /// `StoreError::Backend` when the outbox cannot be read.
    fn gauges(&self) -> impl Future<Output = Result<BackendGauges, StoreError>> + Send;

    /// Closes every connection; later reads and writes fail.
    fn close(&self) -> impl Future<Output = ()> + Send;

    /// Wakes `signal` whenever another process sharing this database commits events,
    /// until `shutdown` turns true. Completes at once on a backend whose commits other
    /// processes cannot announce (the relay's poll covers those).
    fn forward_commits(
        &self,
        signal: RelaySignal,
        shutdown: watch::Receiver<bool>,
    ) -> impl Future<Output = ()> + Send + 'static;
}

/// Whether the database answers, behind a trait object: what `/ready` needs, without
/// the HTTP layer knowing the backend.
pub trait DatabaseProbe: Send + Sync {
    fn is_reachable(&self) -> BoxFuture<'_, bool>;
    fn can_write(&self) -> BoxFuture<'_, bool>;
    fn gauges(&self) -> BoxFuture<'_, Result<BackendGauges, StoreError>>;
}

impl<B: Backend> DatabaseProbe for B {
    fn is_reachable(&self) -> BoxFuture<'_, bool> {
        Box::pin(Backend::is_reachable(self))
    }

    fn can_write(&self) -> BoxFuture<'_, bool> {
        Box::pin(Backend::can_write(self))
    }

    fn gauges(&self) -> BoxFuture<'_, Result<BackendGauges, StoreError>> {
        Box::pin(Backend::gauges(self))
    }
}
