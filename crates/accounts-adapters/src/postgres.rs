//! The accounts ports on PostgreSQL: the user repository inside READ COMMITTED units
//! of work, the credentials lookup and the profile read model on the pool.

use std::time::Duration;

use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row, Transaction};
use taskdeck_accounts::application::{
    AccountQueries, AccountsStore, AccountsTransaction, Credentials, UserProfile, UserStoreError,
};
use taskdeck_accounts::domain::{PasswordHash, User};
use taskdeck_kernel::testing::OutboxProbe;
use taskdeck_kernel::{EmailAddress, EventEnvelope, StoreError, UserId};
use taskdeck_platform::outbox::postgres::{PostgresOutbox, append};
use taskdeck_platform::outbox::{OutboxFilter, RelaySignal};
use taskdeck_platform::postgres::{PostgresDatabase, unique_violation};
use time::OffsetDateTime;

/// The unique constraint that makes an address belong to one account only.
const EMAIL_CONSTRAINT: &str = "users_email_normalized_key";

/// The outbox probe only reads; the lease is never used.
const PROBE_LEASE: Duration = Duration::from_secs(30);

/// User accounts in the PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresAccounts {
    database: PostgresDatabase,
    outbox: OutboxFilter,
    relay: RelaySignal,
}

impl PostgresAccounts {
    #[must_use]
    pub fn new(database: PostgresDatabase, outbox: OutboxFilter, relay: RelaySignal) -> Self {
        Self { database, outbox, relay }
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::backend(std::io::Error::other(format!("stored user has an invalid {what}")))
}

fn user_from_row(row: &PgRow) -> Result<User, StoreError> {
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
    match unique_violation(&error) {
        Some(constraint) if constraint == EMAIL_CONSTRAINT => UserStoreError::EmailTaken,
        Some(_) => UserStoreError::Store(StoreError::Conflict),
        None => UserStoreError::Store(StoreError::backend(error)),
    }
}

impl AccountsStore for PostgresAccounts {
    type Transaction = PostgresAccountsTransaction;

    async fn begin(&self) -> Result<Self::Transaction, StoreError> {
        Ok(PostgresAccountsTransaction {
            transaction: self.database.begin().await?,
            outbox: self.outbox.clone(),
            relay: self.relay.clone(),
            events_written: 0,
        })
    }

    async fn credentials(&self, email: &EmailAddress) -> Result<Option<Credentials>, StoreError> {
        let mut connection = self.database.reader().await?;
        let row = sqlx::query("SELECT id, password_hash FROM users WHERE email_normalized = $1")
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
        let mut connection = self.database.reader().await?;
        let row = sqlx::query("SELECT email FROM users WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&mut *connection)
            .await
            .map_err(StoreError::backend)?;
        connection.release();
        row.map(|row| Ok(UserProfile { id, email: row.try_get("email").map_err(StoreError::backend)? })).transpose()
    }
}

impl OutboxProbe for PostgresAccounts {
    async fn outbox_events(&self) -> Vec<EventEnvelope> {
        PostgresOutbox::new(self.database.clone(), PROBE_LEASE).all_events().await.unwrap_or_default()
    }
}

/// A unit of work on accounts: one READ COMMITTED transaction. A stale save is caught
/// by the version in its `WHERE` clause.
#[derive(Debug)]
pub struct PostgresAccountsTransaction {
    transaction: Transaction<'static, Postgres>,
    outbox: OutboxFilter,
    relay: RelaySignal,
    events_written: usize,
}

impl PostgresAccountsTransaction {
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

impl AccountsTransaction for PostgresAccountsTransaction {
    async fn user(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT id, email, password_hash, version FROM users WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&mut *self.transaction)
            .await
            .map_err(StoreError::backend)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn add(&mut self, user: &mut User) -> Result<(), UserStoreError> {
        sqlx::query(
            "INSERT INTO users (id, email, email_normalized, password_hash, version, created_at)
             VALUES ($1, $2, $3, $4, 1, $5)",
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
            "UPDATE users SET email = $1, email_normalized = $2, password_hash = $3, version = version + 1
             WHERE id = $4 AND version = $5",
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
        // `append` already queued a NOTIFY for the other instances' relays; this wakes
        // the relay of this one without a round trip through the server.
        if self.events_written > 0 {
            self.relay.notify();
        }
        Ok(())
    }
}
