//! The SQLite accounts store passes the same contract as the in-memory fake.

use taskdeck_accounts_adapters::SqliteAccounts;
use taskdeck_platform::outbox::{OutboxFilter, RelaySignal};
use taskdeck_platform::sqlite::SqliteDatabase;

async fn fresh_store() -> Option<SqliteAccounts> {
    let database = SqliteDatabase::temporary().await.expect("temporary database");
    Some(SqliteAccounts::new(database, OutboxFilter::All, RelaySignal::default()))
}

taskdeck_accounts::accounts_store_contract!(fresh_store);
