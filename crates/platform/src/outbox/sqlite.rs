//! The outbox on SQLite: appending inside a unit of work, and the relay's side.

use sqlx::{Row, SqliteConnection};
use taskdeck_kernel::{EventEnvelope, EventId, StoreError};
use time::OffsetDateTime;

use super::{OutboxFilter, OutboxStats, OutboxStore, PendingEvent};
use crate::sqlite::SqliteDatabase;

/// Appends events to the outbox on the unit of work's connection, so they commit or
/// roll back with the aggregate. Returns how many were written.
///
/// # Errors
/// `StoreError::Backend` on a storage failure.
pub async fn append(
    connection: &mut SqliteConnection,
    filter: &OutboxFilter,
    events: &[EventEnvelope],
) -> Result<usize, StoreError> {
    let mut written = 0;
    for event in events.iter().filter(|event| filter.keeps(&event.event_type)) {
        sqlx::query(
            "INSERT INTO outbox (event_id, event_type, aggregate_type, aggregate_id, occurred_at, payload)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(event.id.as_uuid())
        .bind(&event.event_type)
        .bind(&event.aggregate_type)
        .bind(&event.aggregate_id)
        .bind(event.occurred_at)
        .bind(event.payload.to_string())
        .execute(&mut *connection)
        .await
        .map_err(StoreError::backend)?;
        written += 1;
    }
    Ok(written)
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

    /// Every event still in the outbox, oldest first (pending and dead); for tests and
    /// the operator's view.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    pub async fn all_events(&self) -> Result<Vec<EventEnvelope>, StoreError> {
        let rows = sqlx::query(
            "SELECT sequence, attempts, event_id, event_type, aggregate_type, aggregate_id, occurred_at, payload
             FROM outbox ORDER BY sequence",
        )
        .fetch_all(self.database.reader())
        .await
        .map_err(StoreError::backend)?;
        rows.iter().map(|row| pending_event(row).map(|pending| pending.envelope)).collect()
    }
}

fn pending_event(row: &sqlx::sqlite::SqliteRow) -> Result<PendingEvent, StoreError> {
    let payload: String = row.try_get("payload").map_err(StoreError::backend)?;
    Ok(PendingEvent {
        sequence: row.try_get("sequence").map_err(StoreError::backend)?,
        attempts: row.try_get("attempts").map_err(StoreError::backend)?,
        envelope: EventEnvelope {
            id: EventId::from_uuid(row.try_get("event_id").map_err(StoreError::backend)?),
            event_type: row.try_get("event_type").map_err(StoreError::backend)?,
            aggregate_type: row.try_get("aggregate_type").map_err(StoreError::backend)?,
            aggregate_id: row.try_get("aggregate_id").map_err(StoreError::backend)?,
            occurred_at: row.try_get("occurred_at").map_err(StoreError::backend)?,
            payload: serde_json::from_str(&payload).map_err(StoreError::backend)?,
        },
    })
}

fn unix_millis(instant: OffsetDateTime) -> i64 {
    i64::try_from(instant.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

impl OutboxStore for SqliteOutbox {
    async fn next_batch(&self, limit: i64, now: OffsetDateTime) -> Result<Vec<PendingEvent>, StoreError> {
        // The oldest live event of each aggregate, if its retry time has come.
        let rows = sqlx::query(
            "SELECT o.sequence, o.attempts, o.event_id, o.event_type, o.aggregate_type, o.aggregate_id,
                    o.occurred_at, o.payload
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
        )
        .bind(unix_millis(now))
        .bind(limit)
        .fetch_all(self.database.reader())
        .await
        .map_err(StoreError::backend)?;
        rows.iter().map(pending_event).collect()
    }

    async fn delete_delivered(&self, sequences: &[i64]) -> Result<(), StoreError> {
        if sequences.is_empty() {
            return Ok(());
        }
        let mut transaction = self.database.begin_write().await?;
        for sequence in sequences {
            sqlx::query("DELETE FROM outbox WHERE sequence = ?")
                .bind(sequence)
                .execute(&mut *transaction)
                .await
                .map_err(StoreError::backend)?;
        }
        transaction.commit().await.map_err(StoreError::backend)
    }

    async fn record_failure(
        &self,
        sequence: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        let dead_at = match retry_at {
            Some(_) => None,
            None => Some(OffsetDateTime::now_utc()),
        };
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, available_at = ?, dead_at = ?
             WHERE sequence = ?",
        )
        .bind(error)
        .bind(retry_at.map_or(0, unix_millis))
        .bind(dead_at)
        .bind(sequence)
        .execute(self.database.writer())
        .await
        .map_err(StoreError::backend)?;
        Ok(())
    }

    async fn requeue_dead(&self) -> Result<u64, StoreError> {
        let requeued =
            sqlx::query("UPDATE outbox SET dead_at = NULL, attempts = 0, available_at = 0 WHERE dead_at IS NOT NULL")
                .execute(self.database.writer())
                .await
                .map_err(StoreError::backend)?;
        Ok(requeued.rows_affected())
    }

    async fn stats(&self) -> Result<OutboxStats, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) FILTER (WHERE dead_at IS NULL) AS pending,
                    COUNT(*) FILTER (WHERE dead_at IS NOT NULL) AS dead
             FROM outbox",
        )
        .fetch_one(self.database.reader())
        .await
        .map_err(StoreError::backend)?;
        Ok(OutboxStats {
            pending: row.try_get("pending").map_err(StoreError::backend)?,
            dead: row.try_get("dead").map_err(StoreError::backend)?,
        })
    }
}
