//! PostgreSQL as a [`Backend`].

use taskdeck_kernel::StoreError;
use taskdeck_platform::metrics::BackendGauges;
use taskdeck_platform::outbox::{OutboxStore, RelaySignal};
use taskdeck_platform::sql;
use taskdeck_platform::{Backend, Migration};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::outbox::forward_notifications;
use crate::{DEFAULT_LEASE, PLATFORM_MIGRATIONS, PostgresDatabase, PostgresOutbox, PostgresSetupError};

impl Backend for PostgresDatabase {
    type Outbox = PostgresOutbox;
    type MigrateError = PostgresSetupError;

    const PLATFORM_MIGRATIONS: &'static [Migration] = PLATFORM_MIGRATIONS;

    async fn migrate(&self, contexts: &[&[Migration]]) -> Result<(), PostgresSetupError> {
        PostgresDatabase::migrate(self, contexts).await
    }

    fn outbox(&self) -> PostgresOutbox {
        PostgresOutbox::new(self.clone(), DEFAULT_LEASE)
    }

    async fn is_reachable(&self) -> bool {
        PostgresDatabase::is_reachable(self).await
    }

    async fn close(&self) {
        PostgresDatabase::close(self).await;
    }

    async fn can_write(&self) -> bool {
        PostgresDatabase::can_write(self).await
    }

    fn retry_after(error: &(dyn std::error::Error + 'static)) -> Option<std::time::Duration> {
        crate::retry_after(error)
    }

    async fn gauges(&self) -> Result<BackendGauges, StoreError> {
        let outbox = PostgresOutbox::new(self.clone(), DEFAULT_LEASE);
        let oldest_pending_at: Option<OffsetDateTime> = sqlx::query_scalar(sql::OUTBOX_OLDEST_PENDING)
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::backend)?;
        Ok(BackendGauges { outbox: outbox.stats().await?, oldest_pending_at, pools: self.pool_gauges() })
    }

    /// Every instance's commits that wrote events send a NOTIFY; this listens for them.
    fn forward_commits(
        &self,
        signal: RelaySignal,
        shutdown: watch::Receiver<bool>,
    ) -> impl Future<Output = ()> + Send + 'static {
        forward_notifications(self.clone(), signal, shutdown)
    }
}
