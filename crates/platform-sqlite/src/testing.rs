//! Test support (feature `testing`): throwaway databases and a look into the outbox.

use std::path::PathBuf;

use taskdeck_kernel::EventEnvelope;
use taskdeck_kernel::testing::OutboxProbe;

use crate::{SqliteDatabase, SqliteSettings, SqliteSetupError, SqliteStore};

/// A directory deleted on drop.
#[derive(Debug)]
pub(crate) struct TemporaryDirectory(PathBuf);

impl Drop for TemporaryDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl SqliteDatabase {
    /// A fresh database in a new temporary directory that is removed when the last
    /// handle is dropped, with the platform's tables; each context migrates its own.
    ///
    /// # Errors
    /// As for `open` and `migrate`.
    pub async fn temporary() -> Result<Self, SqliteSetupError> {
        let directory = std::env::temp_dir().join(format!("taskdeck-{}", uuid::Uuid::new_v4()));
        let path = directory.join("taskdeck.db");
        std::fs::create_dir_all(&directory)
            .map_err(|source| SqliteSetupError::Directory { path: directory.display().to_string(), source })?;
        let mut database = Self::open_file(&SqliteSettings { path, readers: 2 })?;
        database.keep_directory_until_dropped(TemporaryDirectory(directory));
        database.migrate(&[]).await?;
        Ok(database)
    }
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
        let database = SqliteDatabase::temporary().await.unwrap();
        database.assert_parameters_numbered_in_order(&[
            sql::MARK_EVENT_HANDLED,
            sql::INSERT_SETTING,
            sql::SETTING,
            sql::OUTBOX_STATS,
        ]);
    }

    #[tokio::test]
    #[should_panic(expected = "parameter 1")]
    async fn a_statement_numbering_out_of_order_is_caught() {
        let database = SqliteDatabase::temporary().await.unwrap();
        database.assert_parameters_numbered_in_order(&["SELECT value FROM settings WHERE key = $2 OR value = $1"]);
    }
}
