//! The unit of work every context's PostgreSQL repository is built on: a READ
//! COMMITTED transaction, the outbox rows of the events the aggregates recorded (with
//! a NOTIFY that wakes every instance's relay at commit), and this instance's relay
//! woken at once.

use sqlx::{PgConnection, Postgres, Transaction};
use taskdeck_kernel::{EventId, IdempotencyClaim, RecordedAnswer, RecordedEvent, StoreError};
use taskdeck_platform::outbox::OutboxWriter;
use taskdeck_platform::sql;
use time::OffsetDateTime;

use crate::reads::ReadConnection;
use crate::{PostgresDatabase, idempotency, outbox};

/// A context's handle on the database: where its units of work begin and its reads
/// run. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    database: PostgresDatabase,
    outbox: OutboxWriter,
}

impl PostgresStore {
    #[must_use]
    pub fn new(database: PostgresDatabase, outbox: OutboxWriter) -> Self {
        Self { database, outbox }
    }

    /// Starts a unit of work. Dropping it without [`PostgresUnitOfWork::commit`] rolls
    /// everything back, events included.
    ///
    /// # Errors
    /// `StoreError::Backend` when no connection can be had.
    pub async fn begin(&self) -> Result<PostgresUnitOfWork, StoreError> {
        Ok(PostgresUnitOfWork {
            transaction: self.database.begin().await?,
            outbox: self.outbox.clone(),
            events_written: 0,
        })
    }

    /// A connection for one query of the read side; see [`PostgresDatabase::reader`].
    ///
    /// # Errors
    /// `StoreError::Backend` when no connection can be had in time.
    pub async fn reader(&self) -> Result<ReadConnection, StoreError> {
        self.database.reader().await
    }

    #[must_use]
    pub fn database(&self) -> &PostgresDatabase {
        &self.database
    }
}

/// One unit of work: the transaction, and how many events it wrote to the outbox.
#[derive(Debug)]
pub struct PostgresUnitOfWork {
    transaction: Transaction<'static, Postgres>,
    outbox: OutboxWriter,
    events_written: usize,
}

impl PostgresUnitOfWork {
    /// The connection, inside the transaction.
    pub fn connection(&mut self) -> &mut PgConnection {
        &mut self.transaction
    }

    /// Writes the events an aggregate recorded to the outbox, in this transaction
    /// (only those some handler subscribes to).
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    pub async fn record<E: RecordedEvent>(&mut self, events: &[E]) -> Result<(), StoreError> {
        let envelopes = self.outbox.envelopes(events)?;
        outbox::append(&mut self.transaction, &envelopes).await?;
        self.events_written += envelopes.len();
        Ok(())
    }

    /// Records in the inbox that `consumer` handled `event`, in this transaction, so a
    /// redelivery is recognised. Returns `false` when it was recorded before: the
    /// effect must then be skipped. A concurrent unit of work marking the same event
    /// waits on the primary key until this one ends, then inserts nothing: exactly one
    /// of them sees `true`.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    pub async fn mark_event_handled(&mut self, consumer: &str, event: EventId) -> Result<bool, StoreError> {
        let inserted = sqlx::query(sql::MARK_EVENT_HANDLED)
            .bind(consumer)
            .bind(event.as_uuid())
            .bind(OffsetDateTime::now_utc())
            .execute(&mut *self.transaction)
            .await
            .map_err(StoreError::backend)?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Writes the answer of an idempotent request in this transaction, beside the
    /// effect it describes.
    ///
    /// # Errors
    /// `StoreError::Conflict` when `claim` no longer holds its key; `Backend` on a
    /// storage failure.
    pub async fn record_answer(&mut self, claim: &IdempotencyClaim, answer: &RecordedAnswer) -> Result<(), StoreError> {
        idempotency::record_answer(&mut self.transaction, claim, answer).await
    }

    /// Makes every change durable at once. The NOTIFY queued with the events wakes the
    /// other instances' relays; this instance's is woken without a round trip.
    ///
    /// # Errors
    /// `StoreError::Backend` when the commit fails; nothing is stored then.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.transaction.commit().await.map_err(StoreError::backend)?;
        self.outbox.committed(self.events_written);
        Ok(())
    }
}
