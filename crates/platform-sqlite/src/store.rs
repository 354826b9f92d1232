//! The unit of work every context's SQLite repository is built on: a `BEGIN IMMEDIATE`
//! transaction on the writer connection, the outbox rows of the events the aggregates
//! recorded, and the relay woken once it has committed.

use rusqlite::Connection;
use taskdeck_kernel::{EventId, IdempotencyClaim, RecordedAnswer, RecordedEvent, StoreError};
use taskdeck_platform::outbox::OutboxWriter;
use taskdeck_platform::sql;
use time::OffsetDateTime;

use crate::database::{SqliteDatabase, WriteTransaction};
use crate::{CachedStatements, Timestamp, idempotency, outbox};

/// A context's handle on the database: where its units of work begin and its reads
/// run. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    database: SqliteDatabase,
    outbox: OutboxWriter,
}

impl SqliteStore {
    #[must_use]
    pub fn new(database: SqliteDatabase, outbox: OutboxWriter) -> Self {
        Self { database, outbox }
    }

    /// Starts a unit of work; see [`SqliteDatabase::begin_write`]. Dropping it without
    /// [`SqliteUnitOfWork::commit`] rolls everything back, events included.
    ///
    /// # Errors
    /// `StoreError::Backend` when the database is closed or stays locked by another
    /// process for longer than the busy timeout.
    pub async fn begin(&self) -> Result<SqliteUnitOfWork, StoreError> {
        Ok(SqliteUnitOfWork {
            transaction: self.database.begin_write().await?,
            outbox: self.outbox.clone(),
            events_written: 0,
        })
    }

    /// Runs a query of the read side; see [`SqliteDatabase::read`].
    ///
    /// # Errors
    /// `StoreError::Backend` when the query fails or the database is closed.
    pub fn read<T>(&self, query: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        self.database.read(query)
    }

    #[must_use]
    pub fn database(&self) -> &SqliteDatabase {
        &self.database
    }
}

/// One unit of work: the transaction, and how many events it wrote to the outbox.
#[derive(Debug)]
pub struct SqliteUnitOfWork {
    transaction: WriteTransaction,
    outbox: OutboxWriter,
    events_written: usize,
}

impl SqliteUnitOfWork {
    /// The connection, inside the transaction.
    #[must_use]
    pub fn connection(&self) -> &Connection {
        self.transaction.connection()
    }

    /// Writes the events an aggregate recorded to the outbox, in this transaction
    /// (only those some handler subscribes to).
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    pub fn record<E: RecordedEvent>(&mut self, events: &[E]) -> Result<(), StoreError> {
        let envelopes = self.outbox.envelopes(events)?;
        outbox::append(self.transaction.connection(), &envelopes)?;
        self.events_written += envelopes.len();
        Ok(())
    }

    /// Records in the inbox that `consumer` handled `event`, in this transaction, so a
    /// redelivery is recognised. Returns `false` when it was recorded before: the
    /// effect must then be skipped.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    pub fn mark_event_handled(&mut self, consumer: &str, event: EventId) -> Result<bool, StoreError> {
        let inserted = self
            .connection()
            .execute_cached(sql::MARK_EVENT_HANDLED, (consumer, event.as_uuid(), Timestamp(OffsetDateTime::now_utc())))
            .map_err(StoreError::backend)?;
        Ok(inserted == 1)
    }

    /// Writes the answer of an idempotent request in this transaction, beside the
    /// effect it describes.
    ///
    /// # Errors
    /// `StoreError::Conflict` when `claim` no longer holds its key; `Backend` on a
    /// storage failure.
    pub fn record_answer(&mut self, claim: &IdempotencyClaim, answer: &RecordedAnswer) -> Result<(), StoreError> {
        idempotency::record_answer(self.connection(), claim, answer)
    }

    /// Makes every change durable at once, then wakes the relay if events were written.
    ///
    /// # Errors
    /// `StoreError::Backend` when the commit fails; nothing is stored then.
    pub fn commit(self) -> Result<(), StoreError> {
        self.transaction.commit()?;
        self.outbox.committed(self.events_written);
        Ok(())
    }
}
