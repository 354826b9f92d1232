//! The outbox on PostgreSQL, shared by every instance's relay.
//!
//! A relay claims a batch for a lease (`FOR UPDATE SKIP LOCKED`, so relays never wait
//! for each other nor take the same rows); a relay that dies holding a claim loses it
//! when the lease expires. Appending events sends a `NOTIFY` that wakes the relays of
//! every instance when the transaction commits.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgRow};
use sqlx::{PgConnection, Row};
use taskdeck_kernel::{EventEnvelope, EventId, StoreError};
use time::OffsetDateTime;
use tokio::sync::watch;

use taskdeck_platform::outbox::{
    DEFAULT_PASS_TIMEOUT, OutboxRow, OutboxStats, OutboxStore, PendingEvent, RelaySignal, UndecodableEvent,
};
use taskdeck_platform::sql;

use crate::PostgresDatabase;

#[cfg(test)]
mod tests;

/// The channel on which commits that wrote events notify the relays.
pub const NOTIFY_CHANNEL: &str = "taskdeck_outbox";

/// How long a relay keeps the events it claimed before another instance may take them
/// over (a relay that died holds nothing longer than this). At least the relay's pass
/// timeout, so that no pass still delivers what another relay may have claimed.
pub const DEFAULT_LEASE: Duration = DEFAULT_PASS_TIMEOUT;

/// `occurred_at` where the `time` crate can hold it (years 1 to 9999), NULL elsewhere:
/// PostgreSQL's range is wider (and has infinities), and decoding a timestamp beyond
/// `time`'s range panics instead of failing.
macro_rules! occurred_at {
    () => {
        "CASE WHEN outbox.occurred_at >= '0001-01-01 00:00:00+00' AND outbox.occurred_at < '10000-01-01 00:00:00+00'
              THEN outbox.occurred_at END AS occurred_at"
    };
}

/// Appends events on the unit of work's connection; they commit or roll back with the
/// aggregate, and so does the notification.
pub(crate) async fn append(connection: &mut PgConnection, events: &[EventEnvelope]) -> Result<(), StoreError> {
    for event in events {
        sqlx::query(
            "INSERT INTO outbox (event_id, event_type, aggregate_type, aggregate_id, occurred_at, payload, trace_parent)
             VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)",
        )
        .bind(event.id.as_uuid())
        .bind(&event.event_type)
        .bind(&event.aggregate_type)
        .bind(&event.aggregate_id)
        .bind(event.occurred_at)
        .bind(event.payload.to_string())
        .bind(&event.trace_parent)
        .execute(&mut *connection)
        .await
        .map_err(StoreError::backend)?;
    }
    if !events.is_empty() {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(NOTIFY_CHANNEL)
            .execute(&mut *connection)
            .await
            .map_err(StoreError::backend)?;
    }
    Ok(())
}

/// The relay's view of the PostgreSQL outbox.
#[derive(Debug, Clone)]
pub struct PostgresOutbox {
    database: PostgresDatabase,
    lease: Duration,
}

impl PostgresOutbox {
    /// `lease`: how long a claimed batch stays reserved for the claiming relay.
    #[must_use]
    pub fn new(database: PostgresDatabase, lease: Duration) -> Self {
        Self { database, lease }
    }

    /// Every event still in the outbox, oldest first (pending and dead).
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    #[cfg(any(test, feature = "testing"))]
    pub async fn all_events(&self) -> Result<Vec<EventEnvelope>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT sequence, attempts, event_id, event_type, aggregate_type, aggregate_id, ",
            occurred_at!(),
            ", payload::text AS payload, trace_parent FROM outbox ORDER BY sequence"
        ))
        .fetch_all(self.database.pool())
        .await
        .map_err(StoreError::backend)?;
        rows.iter().map(|row| pending_event(row).map(|pending| pending.envelope).map_err(StoreError::Backend)).collect()
    }
}

/// Why a row is no event.
type DecodeError = Box<dyn std::error::Error + Send + Sync>;

fn pending_event(row: &PgRow) -> Result<PendingEvent, DecodeError> {
    let attempts: i32 = row.try_get("attempts")?;
    let payload: String = row.try_get("payload")?;
    let occurred_at: Option<OffsetDateTime> = row.try_get("occurred_at")?;
    Ok(PendingEvent {
        sequence: row.try_get("sequence")?,
        attempts: i64::from(attempts),
        envelope: EventEnvelope {
            id: EventId::from_uuid(row.try_get("event_id")?),
            event_type: row.try_get("event_type")?,
            aggregate_type: row.try_get("aggregate_type")?,
            aggregate_id: row.try_get("aggregate_id")?,
            occurred_at: occurred_at.ok_or("occurred_at is not within the years 1 to 9999")?,
            payload: serde_json::from_str(&payload)?,
            trace_parent: row.try_get("trace_parent")?,
        },
    })
}

/// A row of a batch: the event, or why it is none.
fn outbox_row(row: &PgRow) -> Result<OutboxRow, StoreError> {
    let sequence: i64 = row.try_get("sequence").map_err(StoreError::backend)?;
    Ok(match pending_event(row) {
        Ok(event) => OutboxRow::Event(event),
        Err(error) => OutboxRow::Undecodable(UndecodableEvent { sequence, reason: error.to_string() }),
    })
}

impl OutboxStore for PostgresOutbox {
    /// Claims the batch for the lease. Times come from the database's clock, shared by
    /// every instance, rather than from `_now`.
    async fn next_batch(&self, limit: i64, _now: OffsetDateTime) -> Result<Vec<OutboxRow>, StoreError> {
        // Claiming again is harmless: a claim is one statement that only ever takes
        // rows whose lease has run out, so a pass given up at any point (even with the
        // statement committed unseen) leaves at worst rows locked until their lease
        // ends, then delivered again.
        let rows = sqlx::query(concat!(
            "WITH claimable AS (
                 SELECT o.sequence FROM outbox o
                 WHERE o.dead_at IS NULL
                   AND o.available_at <= now()
                   AND (o.locked_until IS NULL OR o.locked_until < now())
                   AND NOT EXISTS (
                       SELECT 1 FROM outbox earlier
                       WHERE earlier.aggregate_type = o.aggregate_type
                         AND earlier.aggregate_id = o.aggregate_id
                         AND earlier.sequence < o.sequence
                         AND earlier.dead_at IS NULL)
                 ORDER BY o.sequence
                 LIMIT $1
                 FOR UPDATE SKIP LOCKED)
             UPDATE outbox SET locked_until = now() + make_interval(secs => $2)
             FROM claimable WHERE outbox.sequence = claimable.sequence
             RETURNING outbox.sequence, outbox.attempts, outbox.event_id, outbox.event_type,
                       outbox.aggregate_type, outbox.aggregate_id, ",
            occurred_at!(),
            ", outbox.payload::text AS payload, outbox.trace_parent"
        ))
        .bind(limit)
        .bind(self.lease.as_secs_f64())
        .fetch_all(self.database.pool())
        .await
        .map_err(StoreError::backend)?;
        let mut batch = rows.iter().map(outbox_row).collect::<Result<Vec<_>, _>>()?;
        batch.sort_by_key(OutboxRow::sequence);
        Ok(batch)
    }

    async fn delete_delivered(&self, sequences: &[i64]) -> Result<(), StoreError> {
        if sequences.is_empty() {
            return Ok(());
        }
        sqlx::query("DELETE FROM outbox WHERE sequence = ANY($1)")
            .bind(sequences)
            .execute(self.database.pool())
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }

    async fn record_failure(
        &self,
        sequence: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox
             SET attempts = attempts + 1, last_error = $2, locked_until = NULL,
                 available_at = COALESCE($3, available_at),
                 dead_at = CASE WHEN $3 IS NULL THEN now() END
             WHERE sequence = $1",
        )
        .bind(sequence)
        .bind(error)
        .bind(retry_at)
        .execute(self.database.pool())
        .await
        .map_err(StoreError::backend)?;
        Ok(())
    }

    async fn stats(&self) -> Result<OutboxStats, StoreError> {
        let row = sqlx::query(sql::OUTBOX_STATS).fetch_one(self.database.pool()).await.map_err(StoreError::backend)?;
        Ok(OutboxStats {
            pending: row.try_get("pending").map_err(StoreError::backend)?,
            dead: row.try_get("dead").map_err(StoreError::backend)?,
        })
    }

    async fn requeue_dead(&self) -> Result<u64, StoreError> {
        let requeued = sqlx::query(
            "UPDATE outbox SET dead_at = NULL, attempts = 0, available_at = '-infinity', locked_until = NULL
             WHERE dead_at IS NOT NULL",
        )
        .execute(self.database.pool())
        .await
        .map_err(StoreError::backend)?;
        Ok(requeued.rows_affected())
    }
}

/// Wakes the local relay whenever any instance commits events, until `shutdown`.
/// Reconnects with backoff if the listening connection drops; the relay's own poll
/// covers the gap.
pub(crate) async fn forward_notifications(
    database: PostgresDatabase,
    signal: RelaySignal,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut pause = Duration::from_millis(200);
    while !*shutdown.borrow() {
        let listener = async {
            let mut listener = PgListener::connect_with(database.pool()).await?;
            listener.listen(NOTIFY_CHANNEL).await?;
            loop {
                listener.recv().await?;
                signal.notify();
            }
            #[allow(unreachable_code)]
            Ok::<(), sqlx::Error>(())
        };
        tokio::select! {
            outcome = listener => {
                if let Err(error) = outcome {
                    tracing::warn!(%error, retry_in = ?pause, "lost the outbox notification channel");
                }
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    _ = shutdown.changed() => {}
                }
                pause = (pause * 2).min(Duration::from_secs(10));
            }
            _ = shutdown.changed() => {}
        }
    }
}
