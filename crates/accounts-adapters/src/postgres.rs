//! The accounts ports on PostgreSQL: the user repository inside READ COMMITTED units
//! of work, the credentials lookup and the profile read model on the read pool.

use sqlx::Row;
use sqlx::postgres::PgRow;
use taskdeck_accounts::application::{
    AccountQueries, AccountsStore, AccountsTransaction, Credentials, UserProfile, UserStoreError,
};
use taskdeck_accounts::domain::{PasswordHash, User};
use taskdeck_kernel::{EmailAddress, StoreError, UserId};
use taskdeck_platform::Migration;
use taskdeck_platform::outbox::OutboxWriter;
use taskdeck_platform_postgres::{PostgresDatabase, PostgresStore, PostgresUnitOfWork, write_error};
use time::OffsetDateTime;

use crate::module::AccountsBackend;
use crate::rows::UserRow;
use crate::sql;

/// The accounts tables on PostgreSQL.
const MIGRATIONS: &[Migration] =
    &[Migration { version: 1, description: "accounts", sql: include_str!("../migrations/postgres/0001_accounts.sql") }];

impl AccountsBackend for PostgresDatabase {
    type Store = PostgresAccounts;

    const MIGRATIONS: &'static [Migration] = MIGRATIONS;

    fn accounts_store(&self, outbox: &OutboxWriter) -> PostgresAccounts {
        PostgresAccounts { store: PostgresStore::new(self.clone(), outbox.clone()) }
    }
}

/// User accounts in the PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresAccounts {
    store: PostgresStore,
}

fn user_row(row: &PgRow) -> Result<UserRow, sqlx::Error> {
    Ok(UserRow {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        version: row.try_get("version")?,
    })
}

fn user_write_error(error: sqlx::Error) -> UserStoreError {
    write_error(error).on(&sql::EMAIL_KEY, UserStoreError::EmailTaken)
}

impl AccountsStore for PostgresAccounts {
    type Transaction = PostgresAccountsTransaction;

    async fn begin(&self) -> Result<Self::Transaction, StoreError> {
        Ok(PostgresAccountsTransaction(self.store.begin().await?))
    }

    async fn credentials(&self, email: &EmailAddress) -> Result<Option<Credentials>, StoreError> {
        let mut connection = self.store.reader().await?;
        let row = sqlx::query(sql::CREDENTIALS)
            .bind(email.normalized())
            .fetch_optional(&mut *connection)
            .await
            .map_err(StoreError::backend)?;
        connection.release();
        row.map(|row| {
            Ok(Credentials {
                user_id: UserId::from_uuid(row.try_get("id").map_err(StoreError::backend)?),
                password_hash: PasswordHash::from_phc(row.try_get("password_hash").map_err(StoreError::backend)?),
            })
        })
        .transpose()
    }
}

impl AccountQueries for PostgresAccounts {
    async fn profile(&self, id: UserId) -> Result<Option<UserProfile>, StoreError> {
        let mut connection = self.store.reader().await?;
        let row = sqlx::query(sql::PROFILE)
            .bind(id.as_uuid())
            .fetch_optional(&mut *connection)
            .await
            .map_err(StoreError::backend)?;
        connection.release();
        row.map(|row| Ok(UserProfile { id, email: row.try_get("email").map_err(StoreError::backend)? })).transpose()
    }
}

/// A unit of work on accounts: one READ COMMITTED transaction. A stale save is caught
/// by the version in its `WHERE` clause.
#[derive(Debug)]
pub struct PostgresAccountsTransaction(PostgresUnitOfWork);

impl AccountsTransaction for PostgresAccountsTransaction {
    async fn user(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(sql::USER)
            .bind(id.as_uuid())
            .fetch_optional(self.0.connection())
            .await
            .map_err(StoreError::backend)?;
        row.as_ref().map(|row| user_row(row).map_err(StoreError::backend)?.into_user()).transpose()
    }

    async fn add(&mut self, user: &mut User) -> Result<(), UserStoreError> {
        sqlx::query(sql::INSERT_USER)
            .bind(user.id().as_uuid())
            .bind(user.email().as_str())
            .bind(user.email().normalized())
            .bind(user.password_hash().as_phc())
            .bind(OffsetDateTime::now_utc())
            .execute(self.0.connection())
            .await
            .map_err(user_write_error)?;
        self.0.record(&user.take_events()).await?;
        user.mark_saved();
        Ok(())
    }

    async fn save(&mut self, user: &mut User) -> Result<(), UserStoreError> {
        let updated = sqlx::query(sql::UPDATE_USER)
            .bind(user.email().as_str())
            .bind(user.email().normalized())
            .bind(user.password_hash().as_phc())
            .bind(user.id().as_uuid())
            .bind(user.version())
            .execute(self.0.connection())
            .await
            .map_err(user_write_error)?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Conflict.into());
        }
        self.0.record(&user.take_events()).await?;
        user.mark_saved();
        Ok(())
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.0.commit().await
    }
}

#[cfg(test)]
mod tests {
    use taskdeck_kernel::EventEnvelope;
    use taskdeck_kernel::testing::OutboxProbe;
    use taskdeck_platform_postgres::PostgresSettings;
    use taskdeck_testkit::{TestBackend, TestDatabase};

    use super::*;

    impl OutboxProbe for PostgresAccounts {
        async fn outbox_events(&self) -> Vec<EventEnvelope> {
            self.store.outbox_events().await
        }
    }

    /// Each check on a fresh database; SKIPPED (loudly) without a PostgreSQL server.
    async fn fresh_store() -> Option<(PostgresAccounts, TestDatabase)> {
        let test = TestDatabase::new(TestBackend::Postgres).await?;
        let database = PostgresDatabase::connect(&PostgresSettings::from_url(test.url()).expect("testkit's URL"))
            .await
            .expect("the test server answers");
        database.migrate(&[MIGRATIONS]).await.expect("the accounts tables");
        Some((database.accounts_store(&OutboxWriter::new()), test))
    }

    taskdeck_accounts::accounts_store_contract!(fresh_store);
}
