//! Test support (feature `testing`): a look into the outbox. Temporary databases and
//! the test server come from `taskdeck-testkit`.

use taskdeck_kernel::EventEnvelope;
use taskdeck_kernel::testing::OutboxProbe;

use crate::{PostgresDatabase, PostgresOutbox, PostgresStore};

impl OutboxProbe for PostgresStore {
    async fn outbox_events(&self) -> Vec<EventEnvelope> {
        self.database().outbox_events().await
    }
}

impl OutboxProbe for PostgresDatabase {
    async fn outbox_events(&self) -> Vec<EventEnvelope> {
        PostgresOutbox::new(self.clone(), crate::DEFAULT_LEASE).all_events().await.unwrap_or_default()
    }
}

/// A database of a test of this crate, with the platform's tables, dropped when this
/// value is.
#[cfg(test)]
pub(crate) struct Temporary {
    database: PostgresDatabase,
    _test: taskdeck_testkit::TestDatabase,
}

#[cfg(test)]
impl std::ops::Deref for Temporary {
    type Target = PostgresDatabase;

    fn deref(&self) -> &PostgresDatabase {
        &self.database
    }
}

/// A fresh database on testkit's server, or `None` (SKIPPED) without one.
#[cfg(test)]
pub(crate) async fn temporary() -> Option<Temporary> {
    let test = taskdeck_testkit::TestDatabase::new(taskdeck_testkit::TestBackend::Postgres).await?;
    let mut settings = crate::PostgresSettings::from_url(test.url()).expect("testkit's URL");
    settings.pool_size = 5;
    let database = PostgresDatabase::connect(&settings).await.expect("the test server answers");
    database.migrate(&[]).await.expect("the platform's tables");
    Some(Temporary { database, _test: test })
}
