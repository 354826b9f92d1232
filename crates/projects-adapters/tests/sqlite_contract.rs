//! The SQLite projects store passes the same contract as the in-memory fake.

use taskdeck_platform::outbox::{OutboxFilter, RelaySignal};
use taskdeck_platform::sqlite::SqliteDatabase;
use taskdeck_projects_adapters::SqliteProjects;

async fn fresh_store() -> Option<SqliteProjects> {
    let database = SqliteDatabase::temporary().await.expect("temporary database");
    Some(SqliteProjects::new(database, OutboxFilter::All, RelaySignal::default()))
}

taskdeck_projects::projects_store_contract!(fresh_store);
