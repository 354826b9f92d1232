//! The outbox on SQLite: appending inside a unit of work, and the relay's side.

#[cfg(test)]
mod tests;

use rusqlite::{Connection, Row};
use taskdeck_kernel::{EventEnvelope, EventId, StoreError};
use taskdeck_platform::outbox::{OutboxRow, OutboxStats, OutboxStore, PendingEvent, UndecodableEvent};
use taskdeck_platform::sql;
use time::OffsetDateTime;

use crate::{CachedStatements, SqliteDatabase, Timestamp};

/// Appends events to the outbox on the unit of work's connection, so they commit or
/// roll back with the aggregate.
pub(crate) fn append(connection: &Connection, events: &[EventEnvelope]) -> Result<(), StoreError> {
    for event in events {
        connection
            .execute_cached(
                "INSERT INTO outbox (event_id, event_type, aggregate_type, aggregate_id, occurred_at, payload,
                                     trace_parent)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    event.id.as_uuid(),
                    &event.event_type,
                    &event.aggregate_type,
                    &event.aggregate_id,
                    Timestamp(event.occurred_at),
                    event.payload.to_string(),
                    &event.trace_parent,
                ),
            )
            .map_err(StoreError::backend)?;
    }
    Ok(())
}

/// The relay's view of the SQLite outbox.
#[derive(Debug, Clone)]
pub struct SqliteOutbox {
    database: SqliteDatabase,
}

impl SqliteOutbox {
    #[must_use]
    pub fn new(database: SqliteDatabase) -> Self {
        Self { database }
    }

    /// Every event still in the outbox, oldest first (pending and dead).
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    #[cfg(any(test, feature = "testing"))]
    pub async fn all_events(&self) -> Result<Vec<EventEnvelope>, StoreError> {
        let events = self.database.read(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT sequence, attempts, event_id, event_type, aggregate_type, aggregate_id, occurred_at, payload,
                        trace_parent
                 FROM outbox ORDER BY sequence",
            )?;
            statement.query_map([], pending_event)?.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(events.into_iter().map(|pending| pending.envelope).collect())
    }
}

fn pending_event(row: &Row<'_>) -> rusqlite::Result<PendingEvent> {
    let payload: String = row.get("payload")?;
    let Timestamp(occurred_at) = row.get("occurred_at")?;
    Ok(PendingEvent {
        sequence: row.get("sequence")?,
        attempts: row.get("attempts")?,
        envelope: EventEnvelope {
            id: EventId::from_uuid(row.get("event_id")?),
            event_type: row.get("event_type")?,
            aggregate_type: row.get("aggregate_type")?,
            aggregate_id: row.get("aggregate_id")?,
            occurred_at,
            payload: serde_json::from_str(&payload).map_err(|error| {
                rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(error))
            })?,
            trace_parent: row.get("trace_parent")?,
        },
    })
}

/// A row of a batch; its sequence is an integer primary key, so always readable.
fn outbox_row(row: &Row<'_>) -> rusqlite::Result<OutboxRow> {
    let sequence: i64 = row.get("sequence")?;
    Ok(match pending_event(row) {
        Ok(event) => OutboxRow::Event(event),
        Err(error) => OutboxRow::Undecodable(UndecodableEvent { sequence, reason: error.to_string() }),
    })
}

fn unix_millis(instant: OffsetDateTime) -> i64 {
    i64::try_from(instant.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

impl SqliteOutbox {
    /// When the oldest pending event occurred, if one is pending.
    ///
    /// # Errors
    /// `StoreError::Backend` when the outbox cannot be read.
    pub fn oldest_pending_at(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        self.database.read(|connection| {
            let mut statement = connection.prepare_cached(sql::OUTBOX_OLDEST_PENDING)?;
            let mut rows = statement.query([])?;
            rows.next()?.map(|row| row.get::<_, Timestamp>(0).map(|Timestamp(at)| at)).transpose()
        })
    }
}

impl OutboxStore for SqliteOutbox {
    async fn next_batch(&self, limit: i64, now: OffsetDateTime) -> Result<Vec<OutboxRow>, StoreError> {
        // The oldest live event of each aggregate, if its retry time has come.
        self.database.read(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT o.sequence, o.attempts, o.event_id, o.event_type, o.aggregate_type, o.aggregate_id,
                        o.occurred_at, o.payload, o.trace_parent
                 FROM outbox o
                 WHERE o.dead_at IS NULL
                   AND o.available_at <= ?
                   AND NOT EXISTS (
                       SELECT 1 FROM outbox earlier
                       WHERE earlier.aggregate_type = o.aggregate_type
                         AND earlier.aggregate_id = o.aggregate_id
                         AND earlier.sequence < o.sequence
                         AND earlier.dead_at IS NULL)
                 ORDER BY o.sequence
                 LIMIT ?",
            )?;
            // A row that is no event comes back as such, so that it does not stop the
            // others; only a failure to read the rows at all fails the batch.
            statement.query_map((unix_millis(now), limit), outbox_row)?.collect()
        })
    }

    async fn delete_delivered(&self, sequences: &[i64]) -> Result<(), StoreError> {
        if sequences.is_empty() {
            return Ok(());
        }
        self.database
            .write(|connection| {
                let mut statement = connection.prepare_cached("DELETE FROM outbox WHERE sequence = ?")?;
                for sequence in sequences {
                    statement.execute([sequence])?;
                }
                Ok(())
            })
            .await
    }

    async fn record_failure(
        &self,
        sequence: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        let dead_at = match retry_at {
            Some(_) => None,
            None => Some(Timestamp(OffsetDateTime::now_utc())),
        };
        self.database
            .write(|connection| {
                connection.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ?, available_at = ?, dead_at = ?
                     WHERE sequence = ?",
                    (error, retry_at.map_or(0, unix_millis), dead_at, sequence),
                )
            })
            .await?;
        Ok(())
    }

    async fn requeue_dead(&self) -> Result<u64, StoreError> {
        let requeued = self
            .database
            .write(|connection| {
                connection.execute(
                    "UPDATE outbox SET dead_at = NULL, attempts = 0, available_at = 0 WHERE dead_at IS NOT NULL",
                    [],
                )
            })
            .await?;
        Ok(u64::try_from(requeued).unwrap_or(u64::MAX))
    }

    async fn stats(&self) -> Result<OutboxStats, StoreError> {
        self.database.read(|connection| {
            connection
                .query_row(sql::OUTBOX_STATS, [], |row| Ok(OutboxStats { pending: row.get(0)?, dead: row.get(1)? }))
        })
    }
}
