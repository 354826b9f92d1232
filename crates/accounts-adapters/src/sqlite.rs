//! The accounts ports on SQLite.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};
use taskdeck_accounts::application::{
    AccountQueries, AccountsStore, AccountsTransaction, Credentials, UserProfile, UserStoreError,
};
use taskdeck_accounts::domain::{PasswordHash, User};
use taskdeck_kernel::testing::OutboxProbe;
use taskdeck_kernel::{EmailAddress, EventEnvelope, StoreError, UserId};
use taskdeck_platform::outbox::sqlite::{SqliteOutbox, append};
use taskdeck_platform::outbox::{OutboxFilter, RelaySignal};
use taskdeck_platform::sqlite::{SqliteDatabase, is_unique_violation};
use time::OffsetDateTime;

/// User accounts in the SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteAccounts {
    database: SqliteDatabase,
    outbox: OutboxFilter,
    relay: RelaySignal,
}

impl SqliteAccounts {
    #[must_use]
    pub fn new(database: SqliteDatabase, outbox: OutboxFilter, relay: RelaySignal) -> Self {
        Self { database, outbox, relay }
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::backend(std::io::Error::other(format!("stored user has an invalid {what}")))
}

fn user_from_row(row: &SqliteRow) -> Result<User, StoreError> {
    let email: String = row.try_get("email").map_err(StoreError::backend)?;
    Ok(User::restore(
        UserId::from_uuid(row.try_get("id").map_err(StoreError::backend)?),
        EmailAddress::parse(&email).map_err(|_| corrupt("email"))?,
        PasswordHash::from_phc(row.try_get("password_hash").map_err(StoreError::backend)?),
        row.try_get("version").map_err(StoreError::backend)?,
    ))
}

/// Translates the users table's constraints into the repository's errors.
fn user_write_error(error: sqlx::Error) -> UserStoreError {
    if is_unique_violation(&error) {
        let on_email = error.as_database_error().is_some_and(|db| db.message().contains("email_normalized"));
        if on_email { UserStoreError::EmailTaken } else { UserStoreError::Store(StoreError::Conflict) }
    } else {
        UserStoreError::Store(StoreError::backend(error))
    }
}

impl AccountsStore for SqliteAccounts {
    type Transaction = SqliteAccountsTransaction;

    async fn begin(&self) -> Result<Self::Transaction, StoreError> {
        Ok(SqliteAccountsTransaction {
            transaction: self.database.begin_write().await?,
            outbox: self.outbox.clone(),
            relay: self.relay.clone(),
            events_written: 0,
        })
    }

    async fn credentials(&self, email: &EmailAddress) -> Result<Option<Credentials>, StoreError> {
        let row = sqlx::query("SELECT id, password_hash FROM users WHERE email_normalized = ?")
            .bind(email.normalized())
            .fetch_optional(self.database.reader())
            .await
            .map_err(StoreError::backend)?;
        row.map(|row| {
            Ok(Credentials {
                user_id: UserId::from_uuid(row.try_get("id").map_err(StoreError::backend)?),
                password_hash: PasswordHash::from_phc(row.try_get("password_hash").map_err(StoreError::backend)?),
            })
        })
        .transpose()
    }
}

impl AccountQueries for SqliteAccounts {
    async fn profile(&self, id: UserId) -> Result<Option<UserProfile>, StoreError> {
        let row = sqlx::query("SELECT email FROM users WHERE id = ?")
            .bind(id.as_uuid())
            .fetch_optional(self.database.reader())
            .await
            .map_err(StoreError::backend)?;
        row.map(|row| Ok(UserProfile { id, email: row.try_get("email").map_err(StoreError::backend)? })).transpose()
    }
}

impl OutboxProbe for SqliteAccounts {
    async fn outbox_events(&self) -> Vec<EventEnvelope> {
        SqliteOutbox::new(self.database.clone()).all_events().await.unwrap_or_default()
    }
}

/// A unit of work on accounts: one `BEGIN IMMEDIATE` transaction.
#[derive(Debug)]
pub struct SqliteAccountsTransaction {
    transaction: Transaction<'static, Sqlite>,
    outbox: OutboxFilter,
    relay: RelaySignal,
    events_written: usize,
}

impl SqliteAccountsTransaction {
    async fn append_events(&mut self, user: &mut User) -> Result<(), StoreError> {
        let events = user
            .take_events()
            .iter()
            .map(|event| event.to_envelope().map_err(StoreError::backend))
            .collect::<Result<Vec<_>, _>>()?;
        self.events_written += append(&mut self.transaction, &self.outbox, &events).await?;
        Ok(())
    }
}

impl AccountsTransaction for SqliteAccountsTransaction {
    async fn user(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT id, email, password_hash, version FROM users WHERE id = ?")
            .bind(id.as_uuid())
            .fetch_optional(&mut *self.transaction)
            .await
            .map_err(StoreError::backend)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn add(&mut self, user: &mut User) -> Result<(), UserStoreError> {
        sqlx::query(
            "INSERT INTO users (id, email, email_normalized, password_hash, version, created_at)
             VALUES (?, ?, ?, ?, 1, ?)",
        )
        .bind(user.id().as_uuid())
        .bind(user.email().as_str())
        .bind(user.email().normalized())
        .bind(user.password_hash().as_phc())
        .bind(OffsetDateTime::now_utc())
        .execute(&mut *self.transaction)
        .await
        .map_err(user_write_error)?;
        self.append_events(user).await?;
        user.mark_saved();
        Ok(())
    }

    async fn save(&mut self, user: &mut User) -> Result<(), UserStoreError> {
        let updated = sqlx::query(
            "UPDATE users SET email = ?, email_normalized = ?, password_hash = ?, version = version + 1
             WHERE id = ? AND version = ?",
        )
        .bind(user.email().as_str())
        .bind(user.email().normalized())
        .bind(user.password_hash().as_phc())
        .bind(user.id().as_uuid())
        .bind(user.version())
        .execute(&mut *self.transaction)
        .await
        .map_err(user_write_error)?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Conflict.into());
        }
        self.append_events(user).await?;
        user.mark_saved();
        Ok(())
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.transaction.commit().await.map_err(StoreError::backend)?;
        if self.events_written > 0 {
            self.relay.notify();
        }
        Ok(())
    }
}
