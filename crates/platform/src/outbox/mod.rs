//! The transactional outbox and its relay.
//!
//! Aggregates' events are written to the `outbox` table in the same transaction as the
//! aggregate, by each backend's unit of work, through an [`OutboxWriter`]. The
//! [`Relay`], a background task of the server, reads them in order and hands each to
//! the handlers subscribed to its type, deleting it once all succeeded. Delivery is at
//! least once; handlers make the effect happen once by recording the event id in their
//! own transaction (the inbox).

#[cfg(feature = "testing")]
pub mod contract;
mod delivery;
mod relay;
mod supervisor;
mod writer;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use taskdeck_kernel::{EventEnvelope, StoreError};
use time::OffsetDateTime;
use tokio::sync::Notify;

pub use delivery::{BackgroundRelay, DeliverEvents};
pub use relay::{DEFAULT_PASS_TIMEOUT, Relay, RelayRun, RetryPolicy};
pub use supervisor::{RESTART_BACKOFF, supervise};
pub use writer::OutboxWriter;

/// What a handler returns when it could not handle the event this time.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// A boxed future, so handlers of different types can share one registry.
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send + 'a>>;

/// Reacts to events of some types. Must tolerate redelivery of the same event.
pub trait EventHandler: Send + Sync + 'static {
    /// A stable name, for logs.
    fn name(&self) -> &'static str;
    /// The event types this handler wants.
    fn event_types(&self) -> &'static [&'static str];
    /// Handles one event. An error makes the relay try again later.
    fn handle<'a>(&'a self, event: &'a EventEnvelope) -> HandlerFuture<'a>;
}

/// Wakes the relay as soon as a transaction that wrote events has committed, so
/// delivery does not wait for the next poll.
#[derive(Debug, Clone, Default)]
pub struct RelaySignal(Arc<Notify>);

impl RelaySignal {
    /// Tells the relay that new events are committed.
    pub fn notify(&self) {
        self.0.notify_one();
    }

    /// Waits until `notify` is called (a notification sent while nobody waited is kept).
    pub async fn notified(&self) {
        self.0.notified().await;
    }
}

/// An event waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingEvent {
    pub sequence: i64,
    pub attempts: i64,
    pub envelope: EventEnvelope,
}

/// A row of the outbox that is no event: its columns cannot be read as one (a
/// corrupted row, or one written by something else). It can never be delivered, so
/// the relay parks it at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndecodableEvent {
    pub sequence: i64,
    /// What could not be read, for the log and the row's `last_error`.
    pub reason: String,
}

/// A row of a batch: an event to deliver, or one that cannot be read.
#[derive(Debug, Clone, PartialEq)]
pub enum OutboxRow {
    Event(PendingEvent),
    Undecodable(UndecodableEvent),
}

impl OutboxRow {
    /// The row's place in the outbox.
    #[must_use]
    pub fn sequence(&self) -> i64 {
        match self {
            Self::Event(event) => event.sequence,
            Self::Undecodable(row) => row.sequence,
        }
    }
}

/// Counts of what the outbox holds, for operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    pub pending: i64,
    pub dead: i64,
}

/// Where the relay reads events and records their fate.
pub trait OutboxStore: Send + Sync + 'static {
    /// Up to `limit` deliverable events, oldest first: for each aggregate, only its
    /// oldest pending event, and only once its retry time has come. Each row is read on
    /// its own: one that is no event comes back as `Undecodable`, and the others are
    /// delivered all the same.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn next_batch(
        &self,
        limit: i64,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<OutboxRow>, StoreError>> + Send;

    /// Removes delivered events.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure (they will be delivered again).
    fn delete_delivered(&self, sequences: &[i64]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records a failed delivery; `retry_at = None` parks the event as dead.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn record_failure(
        &self,
        sequence: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives every dead event a fresh start: pending again, attempts reset. Returns
    /// how many were re-queued.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn requeue_dead(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// How many events are pending and dead.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn stats(&self) -> impl Future<Output = Result<OutboxStats, StoreError>> + Send;
}
