//! Test support (feature `testing`): a look into the outbox, and a check of the
//! statements a context shares with PostgreSQL. Temporary databases come from
//! `taskdeck-testkit`.

use taskdeck_kernel::EventEnvelope;
use taskdeck_kernel::testing::OutboxProbe;

use crate::{SqliteDatabase, SqliteStore};

/// A migrated database of a test, with the platform's tables, removed when dropped.
#[cfg(test)]
pub(crate) struct Temporary {
    database: SqliteDatabase,
    _test: taskdeck_testkit::TestDatabase,
}

#[cfg(test)]
impl std::ops::Deref for Temporary {
    type Target = SqliteDatabase;

    fn deref(&self) -> &SqliteDatabase {
        &self.database
    }
}

/// A fresh database for a test of this crate, on testkit's temporary database.
#[cfg(test)]
pub(crate) async fn temporary() -> Temporary {
    let test =
        taskdeck_testkit::TestDatabase::new(taskdeck_testkit::TestBackend::Sqlite).await.expect("no server needed");
    let settings = crate::SqliteSettings::from_url(test.url()).expect("testkit's URL");
    let database = SqliteDatabase::open(&settings).await.expect("a fresh file opens");
    database.migrate(&[]).await.expect("the platform's tables");
    Temporary { database, _test: test }
}

impl SqliteDatabase {
    /// Panics unless every statement, prepared on this database, numbers its
    /// parameters `$1, $2, …` in order of first appearance: the form a statement shared
    /// with PostgreSQL must have, since SQLite numbers `$n` names as it meets them.
    ///
    /// # Panics
    /// When a statement does not prepare or numbers its parameters otherwise.
    pub fn assert_parameters_numbered_in_order(&self, statements: &[&str]) {
        let checked = self.read(|connection| {
            for sql in statements {
                let statement = connection.prepare(sql)?;
                for index in 1..=statement.parameter_count() {
                    let expected = format!("${index}");
                    assert_eq!(statement.parameter_name(index), Some(expected.as_str()), "parameter {index} of {sql}");
                }
            }
            Ok(())
        });
        if let Err(error) = checked {
            panic!("a shared statement does not prepare on SQLite: {error}");
        }
    }
}

impl OutboxProbe for SqliteStore {
    async fn outbox_events(&self) -> Vec<EventEnvelope> {
        self.database().outbox_events().await
    }
}

impl OutboxProbe for SqliteDatabase {
    async fn outbox_events(&self) -> Vec<EventEnvelope> {
        crate::SqliteOutbox::new(self.clone()).all_events().await.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use taskdeck_platform::sql;

    use super::*;

    #[tokio::test]
    async fn the_platforms_shared_statements_number_their_parameters_in_order() {
        let database = temporary().await;
        database.assert_parameters_numbered_in_order(&[
            sql::MARK_EVENT_HANDLED,
            sql::INSERT_SETTING,
            sql::SETTING,
            sql::OUTBOX_STATS,
            sql::INSERT_IDEMPOTENCY_CLAIM,
            sql::IDEMPOTENCY_KEY,
            sql::TAKE_OVER_IDEMPOTENCY_KEY,
            sql::RECORD_IDEMPOTENT_ANSWER,
            sql::RELEASE_IDEMPOTENCY_CLAIM,
            sql::PURGE_IDEMPOTENCY_KEYS,
        ]);
    }

    #[tokio::test]
    #[should_panic(expected = "parameter 1")]
    async fn a_statement_numbering_out_of_order_is_caught() {
        let database = temporary().await;
        database.assert_parameters_numbered_in_order(&["SELECT value FROM settings WHERE key = $2 OR value = $1"]);
    }
}
