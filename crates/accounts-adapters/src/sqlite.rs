//! The accounts ports on SQLite.

use rusqlite::{OptionalExtension, Row};
use taskdeck_accounts::application::{
    AccountQueries, AccountsStore, AccountsTransaction, Credentials, UserProfile, UserStoreError,
};
use taskdeck_accounts::domain::{PasswordHash, User};
use taskdeck_kernel::{EmailAddress, StoreError, UserId};
use taskdeck_platform::Migration;
use taskdeck_platform::outbox::OutboxWriter;
use taskdeck_platform_sqlite::{
    CachedStatements, SqliteDatabase, SqliteStore, SqliteUnitOfWork, Timestamp, write_error,
};
use time::OffsetDateTime;

use crate::module::AccountsBackend;
use crate::rows::UserRow;
use crate::sql;

/// The accounts tables on SQLite.
const MIGRATIONS: &[Migration] =
    &[Migration { version: 1, description: "accounts", sql: include_str!("../migrations/sqlite/0001_accounts.sql") }];

impl AccountsBackend for SqliteDatabase {
    type Store = SqliteAccounts;

    const MIGRATIONS: &'static [Migration] = MIGRATIONS;

    fn accounts_store(&self, outbox: &OutboxWriter) -> SqliteAccounts {
        SqliteAccounts { store: SqliteStore::new(self.clone(), outbox.clone()) }
    }
}

/// User accounts in the SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteAccounts {
    store: SqliteStore,
}

fn user_row(row: &Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: row.get("id")?,
        email: row.get("email")?,
        password_hash: row.get("password_hash")?,
        version: row.get("version")?,
    })
}

fn user_write_error(error: rusqlite::Error) -> UserStoreError {
    write_error(error).on(&sql::EMAIL_KEY, UserStoreError::EmailTaken)
}

impl AccountsStore for SqliteAccounts {
    type Transaction = SqliteAccountsTransaction;

    async fn begin(&self) -> Result<Self::Transaction, StoreError> {
        Ok(SqliteAccountsTransaction(self.store.begin().await?))
    }

    async fn credentials(&self, email: &EmailAddress) -> Result<Option<Credentials>, StoreError> {
        self.store.read(|connection| {
            connection
                .query_row_cached(sql::CREDENTIALS, [email.normalized()], |row| {
                    Ok(Credentials {
                        user_id: UserId::from_uuid(row.get("id")?),
                        password_hash: PasswordHash::from_phc(row.get("password_hash")?),
                    })
                })
                .optional()
        })
    }
}

impl AccountQueries for SqliteAccounts {
    async fn profile(&self, id: UserId) -> Result<Option<UserProfile>, StoreError> {
        self.store.read(|connection| {
            connection
                .query_row_cached(sql::PROFILE, [id.as_uuid()], |row| Ok(UserProfile { id, email: row.get("email")? }))
                .optional()
        })
    }
}

/// A unit of work on accounts.
#[derive(Debug)]
pub struct SqliteAccountsTransaction(SqliteUnitOfWork);

impl AccountsTransaction for SqliteAccountsTransaction {
    async fn user(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = self
            .0
            .connection()
            .query_row_cached(sql::USER, [id.as_uuid()], user_row)
            .optional()
            .map_err(StoreError::backend)?;
        row.map(UserRow::into_user).transpose()
    }

    async fn add(&mut self, user: &mut User) -> Result<(), UserStoreError> {
        self.0
            .connection()
            .execute_cached(
                sql::INSERT_USER,
                (
                    user.id().as_uuid(),
                    user.email().as_str(),
                    user.email().normalized(),
                    user.password_hash().as_phc(),
                    Timestamp(OffsetDateTime::now_utc()),
                ),
            )
            .map_err(user_write_error)?;
        self.0.record(&user.take_events())?;
        user.mark_saved();
        Ok(())
    }

    async fn save(&mut self, user: &mut User) -> Result<(), UserStoreError> {
        let updated = self
            .0
            .connection()
            .execute_cached(
                sql::UPDATE_USER,
                (
                    user.email().as_str(),
                    user.email().normalized(),
                    user.password_hash().as_phc(),
                    user.id().as_uuid(),
                    user.version(),
                ),
            )
            .map_err(user_write_error)?;
        if updated == 0 {
            return Err(StoreError::Conflict.into());
        }
        self.0.record(&user.take_events())?;
        user.mark_saved();
        Ok(())
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.0.commit()
    }
}

#[cfg(test)]
mod tests {
    use taskdeck_kernel::EventEnvelope;
    use taskdeck_kernel::testing::OutboxProbe;
    use taskdeck_platform_sqlite::SqliteSettings;
    use taskdeck_testkit::{TestBackend, TestDatabase};

    use super::*;

    impl OutboxProbe for SqliteAccounts {
        async fn outbox_events(&self) -> Vec<EventEnvelope> {
            self.store.outbox_events().await
        }
    }

    /// A migrated database on testkit's temporary file, and the file's guard.
    async fn migrated() -> (SqliteDatabase, TestDatabase) {
        let test = TestDatabase::new(TestBackend::Sqlite).await.expect("SQLite needs no server");
        let settings = SqliteSettings::from_url(test.url()).expect("testkit's URL");
        let database = SqliteDatabase::open(&settings).await.expect("a fresh file opens");
        database.migrate(&[MIGRATIONS]).await.expect("the accounts tables");
        (database, test)
    }

    async fn fresh_store() -> Option<(SqliteAccounts, TestDatabase)> {
        let (database, test) = migrated().await;
        Some((database.accounts_store(&OutboxWriter::new()), test))
    }

    taskdeck_accounts::accounts_store_contract!(fresh_store);

    #[tokio::test]
    async fn the_statements_shared_with_postgres_number_their_parameters_in_order() {
        migrated().await.0.assert_parameters_numbered_in_order(sql::ALL);
    }
}
