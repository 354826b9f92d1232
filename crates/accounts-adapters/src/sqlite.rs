//! The accounts ports on SQLite.

use rusqlite::{OptionalExtension, Row};
use taskdeck_accounts::application::{
    AccountQueries, AccountsStore, AccountsTransaction, Credentials, UserProfile, UserStoreError,
};
use taskdeck_accounts::domain::{PasswordHash, User};
use taskdeck_kernel::testing::OutboxProbe;
use taskdeck_kernel::{EmailAddress, EventEnvelope, StoreError, UserId};
use taskdeck_platform::outbox::sqlite::{SqliteOutbox, append};
use taskdeck_platform::outbox::{OutboxFilter, RelaySignal};
use taskdeck_platform::sqlite::{CachedStatements, SqliteDatabase, Timestamp, WriteTransaction, is_unique_violation};
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

/// A `users` row as stored; turned into a `User` outside the driver's callback so
/// that a corrupt value is reported as such.
struct UserRow {
    id: uuid::Uuid,
    email: String,
    password_hash: String,
    version: i64,
}

impl UserRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get("id")?,
            email: row.get("email")?,
            password_hash: row.get("password_hash")?,
            version: row.get("version")?,
        })
    }

    fn into_user(self) -> Result<User, StoreError> {
        Ok(User::restore(
            UserId::from_uuid(self.id),
            EmailAddress::parse(&self.email).map_err(|_| corrupt("email"))?,
            PasswordHash::from_phc(self.password_hash),
            self.version,
        ))
    }
}

/// Translates the users table's constraints into the repository's errors.
fn user_write_error(error: rusqlite::Error) -> UserStoreError {
    if is_unique_violation(&error) {
        let on_email = error.to_string().contains("email_normalized");
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
        self.database.read(|connection| {
            connection
                .query_row_cached(
                    "SELECT id, password_hash FROM users WHERE email_normalized = ?",
                    [email.normalized()],
                    |row| {
                        Ok(Credentials {
                            user_id: UserId::from_uuid(row.get("id")?),
                            password_hash: PasswordHash::from_phc(row.get("password_hash")?),
                        })
                    },
                )
                .optional()
        })
    }
}

impl AccountQueries for SqliteAccounts {
    async fn profile(&self, id: UserId) -> Result<Option<UserProfile>, StoreError> {
        self.database.read(|connection| {
            connection
                .query_row_cached("SELECT email FROM users WHERE id = ?", [id.as_uuid()], |row| {
                    Ok(UserProfile { id, email: row.get("email")? })
                })
                .optional()
        })
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
    transaction: WriteTransaction,
    outbox: OutboxFilter,
    relay: RelaySignal,
    events_written: usize,
}

impl SqliteAccountsTransaction {
    fn append_events(&mut self, user: &mut User) -> Result<(), StoreError> {
        let events = user
            .take_events()
            .iter()
            .map(|event| event.to_envelope().map_err(StoreError::backend))
            .collect::<Result<Vec<_>, _>>()?;
        self.events_written += append(self.transaction.connection(), &self.outbox, &events)?;
        Ok(())
    }
}

impl AccountsTransaction for SqliteAccountsTransaction {
    async fn user(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = self
            .transaction
            .connection()
            .query_row_cached(
                "SELECT id, email, password_hash, version FROM users WHERE id = ?",
                [id.as_uuid()],
                UserRow::read,
            )
            .optional()
            .map_err(StoreError::backend)?;
        row.map(UserRow::into_user).transpose()
    }

    async fn add(&mut self, user: &mut User) -> Result<(), UserStoreError> {
        self.transaction
            .connection()
            .execute_cached(
                "INSERT INTO users (id, email, email_normalized, password_hash, version, created_at)
                 VALUES (?, ?, ?, ?, 1, ?)",
                (
                    user.id().as_uuid(),
                    user.email().as_str(),
                    user.email().normalized(),
                    user.password_hash().as_phc(),
                    Timestamp(OffsetDateTime::now_utc()),
                ),
            )
            .map_err(user_write_error)?;
        self.append_events(user)?;
        user.mark_saved();
        Ok(())
    }

    async fn save(&mut self, user: &mut User) -> Result<(), UserStoreError> {
        let updated = self
            .transaction
            .connection()
            .execute_cached(
                "UPDATE users SET email = ?, email_normalized = ?, password_hash = ?, version = version + 1
                 WHERE id = ? AND version = ?",
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
        self.append_events(user)?;
        user.mark_saved();
        Ok(())
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.transaction.commit()?;
        if self.events_written > 0 {
            self.relay.notify();
        }
        Ok(())
    }
}
