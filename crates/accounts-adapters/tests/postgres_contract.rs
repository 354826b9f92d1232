//! The PostgreSQL accounts store passes the same contract as the in-memory fake, each
//! check on a fresh database. Skipped (loudly) when `TASKDECK_TEST_POSTGRES_URL` is unset.

use taskdeck_accounts_adapters::PostgresAccounts;
use taskdeck_platform::outbox::{OutboxFilter, RelaySignal};
use taskdeck_platform::postgres::PostgresDatabase;

async fn fresh_store() -> Option<PostgresAccounts> {
    let url = taskdeck_platform::postgres::test_url()?;
    let database = PostgresDatabase::temporary(&url).await.expect("temporary PostgreSQL database");
    Some(PostgresAccounts::new(database, OutboxFilter::All, RelaySignal::default()))
}

taskdeck_accounts::accounts_store_contract!(fresh_store);
