//! SQLite as a [`Backend`].

use taskdeck_kernel::StoreError;
use taskdeck_platform::metrics::BackendGauges;
use taskdeck_platform::outbox::{OutboxStore, RelaySignal};
use taskdeck_platform::{Backend, Migration};
use tokio::sync::watch;

use crate::{PLATFORM_MIGRATIONS, SqliteDatabase, SqliteOutbox, SqliteSetupError};

impl Backend for SqliteDatabase {
    type Outbox = SqliteOutbox;
    type MigrateError = SqliteSetupError;

    const PLATFORM_MIGRATIONS: &'static [Migration] = PLATFORM_MIGRATIONS;

    async fn migrate(&self, contexts: &[&[Migration]]) -> Result<(), SqliteSetupError> {
        SqliteDatabase::migrate(self, contexts).await
    }

    fn outbox(&self) -> SqliteOutbox {
        SqliteOutbox::new(self.clone())
    }

    async fn is_reachable(&self) -> bool {
        SqliteDatabase::is_reachable(self).await
    }

    async fn close(&self) {
        SqliteDatabase::close(self).await;
    }

    async fn can_write(&self) -> bool {
        SqliteDatabase::can_write(self).await
    }

    fn retry_after(error: &(dyn std::error::Error + 'static)) -> Option<std::time::Duration> {
        crate::retry_after(error)
    }

    async fn gauges(&self) -> Result<BackendGauges, StoreError> {
        let outbox = SqliteOutbox::new(self.clone());
        Ok(BackendGauges {
            outbox: outbox.stats().await?,
            oldest_pending_at: outbox.oldest_pending_at()?,
            pools: self.pool_gauges(),
        })
    }

    /// Another process on the same file (a `taskdeck` command, say) cannot announce its
    /// commits: the relay's poll finds them.
    fn forward_commits(
        &self,
        _signal: RelaySignal,
        _shutdown: watch::Receiver<bool>,
    ) -> impl Future<Output = ()> + Send + 'static {
        std::future::ready(())
    }
}
