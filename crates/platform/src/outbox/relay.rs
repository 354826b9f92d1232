//! The relay: delivers outbox events to their handlers, retrying failures with
//! exponential backoff and parking events that keep failing. A handler that panics has
//! failed its delivery like one that answered an error; a row that is no event is
//! parked at once; a pass that takes too long is given up and the next one starts.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use taskdeck_kernel::{EventEnvelope, StoreError};
use time::OffsetDateTime;
use tokio::sync::watch;

use super::{EventHandler, OutboxRow, OutboxStore, OutboxWriter, PendingEvent, RelaySignal, UndecodableEvent};
use crate::metrics::RELAY_DELIVERIES;
use crate::trace::TraceParent;
use tracing::Instrument;

/// The handler label of rows parked because they could not be read as events.
const UNDECODABLE: &str = "undecodable";

/// Passes the relay makes at shutdown to deliver what is already due.
const DRAIN_PASSES: usize = 10;

/// The longest one pass of the background relay may take, its handlers included. A
/// pass is a few milliseconds of work per event, so one that takes this long is stuck
/// (a database that does not answer, a handler that waits forever); it is given up and
/// the next pass starts. Its events are delivered again by a later pass: the handlers
/// tolerate redelivery. On PostgreSQL the claim lease is at least this long, so a pass
/// never delivers events whose claim another relay may have taken over.
pub const DEFAULT_PASS_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest an idle relay waits between two looks at the outbox.
const MAX_IDLE_PAUSE: Duration = Duration::from_secs(5);

/// How failed deliveries are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Deliveries tried before the event is parked as dead.
    pub max_attempts: i64,
    /// Wait after the first failure; doubled after each further one.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 10, base_delay: Duration::from_millis(500), max_delay: Duration::from_secs(300) }
    }
}

impl RetryPolicy {
    /// When to try again after `attempts` failures, or `None` to give up. The delay is
    /// drawn between half and all of the exponential step, so that events failing
    /// together do not retry together.
    #[must_use]
    pub fn next_attempt(&self, attempts: i64, now: OffsetDateTime, jitter: f64) -> Option<OffsetDateTime> {
        if attempts >= self.max_attempts {
            return None;
        }
        let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let step = self.base_delay.saturating_mul(2_u32.saturating_pow(exponent)).min(self.max_delay);
        let delay = step.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0));
        Some(now + delay)
    }
}

/// What one pass of the relay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayRun {
    /// Nothing was deliverable.
    Idle,
    Delivered {
        delivered: usize,
        failed: usize,
    },
}

/// Delivers outbox events to the handlers subscribed to their type.
pub struct Relay<O> {
    outbox: O,
    handlers: HashMap<&'static str, Vec<Arc<dyn EventHandler>>>,
    retry: RetryPolicy,
    signal: RelaySignal,
    poll_interval: Duration,
    pass_timeout: Duration,
    batch_size: i64,
}

impl<O> std::fmt::Debug for Relay<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("event_types", &self.handlers.keys().collect::<Vec<_>>())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl<O: OutboxStore> Relay<O> {
    /// A relay from `outbox` to `handlers`. It subscribes `writer` to the handlers'
    /// event types (so units of work keep only those) and waits on its signal.
    #[must_use]
    pub fn new(outbox: O, handlers: &[Arc<dyn EventHandler>], writer: &OutboxWriter) -> Self {
        writer.subscribe(handlers);
        let mut by_type: HashMap<&'static str, Vec<Arc<dyn EventHandler>>> = HashMap::new();
        for handler in handlers {
            for event_type in handler.event_types() {
                by_type.entry(event_type).or_default().push(Arc::clone(handler));
            }
        }
        Self {
            outbox,
            handlers: by_type,
            retry: RetryPolicy::default(),
            signal: writer.signal().clone(),
            poll_interval: Duration::from_millis(250),
            pass_timeout: DEFAULT_PASS_TIMEOUT,
            batch_size: 100,
        }
    }

    #[must_use]
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    #[must_use]
    pub fn with_poll_interval(mut self, poll_interval: Duration) -> Self {
        self.poll_interval = poll_interval;
        self
    }

    /// How long one pass of [`Relay::run`] may take before it is given up.
    #[must_use]
    pub fn with_pass_timeout(mut self, pass_timeout: Duration) -> Self {
        self.pass_timeout = pass_timeout;
        self
    }

    /// Delivers one batch of deliverable events. Not bounded in time: the background
    /// relay bounds each pass (see [`Relay::with_pass_timeout`]).
    ///
    /// # Errors
    /// `StoreError` when the outbox cannot be read or updated; handler failures are
    /// recorded on the event instead, and rows that are no event are parked.
    pub async fn run_once(&self) -> Result<RelayRun, StoreError> {
        let batch = self.outbox.next_batch(self.batch_size, OffsetDateTime::now_utc()).await?;
        if batch.is_empty() {
            return Ok(RelayRun::Idle);
        }
        let mut delivered = Vec::with_capacity(batch.len());
        let mut failed = 0;
        for row in &batch {
            match row {
                OutboxRow::Event(event) => match self.deliver(event).await {
                    Ok(()) => delivered.push(event.sequence),
                    Err((handler, error)) => {
                        failed += 1;
                        self.record_failure(event, handler, &error).await?;
                    }
                },
                OutboxRow::Undecodable(row) => {
                    failed += 1;
                    self.park_undecodable(row).await?;
                }
            }
        }
        self.outbox.delete_delivered(&delivered).await?;
        Ok(RelayRun::Delivered { delivered: delivered.len(), failed })
    }

    /// Hands the event to each of its handlers in turn; the first that fails is named
    /// with its error.
    async fn deliver(&self, event: &PendingEvent) -> Result<(), (&'static str, String)> {
        let Some(handlers) = self.handlers.get(event.envelope.event_type.as_str()) else {
            return Ok(());
        };
        // Whatever the handlers log carries the event and the trace of the request
        // that recorded it.
        let envelope = &event.envelope;
        let trace = envelope.trace_parent.as_deref().and_then(TraceParent::parse);
        let span = tracing::info_span!(
            "event",
            event_id = %envelope.id.as_uuid(),
            event_type = envelope.event_type.as_str(),
            trace_id = trace.as_ref().map(TraceParent::trace_id),
        );
        for handler in handlers {
            let name = handler.name();
            handle_catching_panics(handler.as_ref(), envelope)
                .instrument(span.clone())
                .await
                .map_err(|error| (name, format!("{name}: {error}")))?;
            metrics::counter!(RELAY_DELIVERIES, "handler" => name, "outcome" => "delivered").increment(1);
        }
        Ok(())
    }

    async fn park_undecodable(&self, row: &UndecodableEvent) -> Result<(), StoreError> {
        tracing::error!(
            sequence = row.sequence,
            reason = %row.reason,
            "an outbox row cannot be read as an event; parked as dead"
        );
        metrics::counter!(RELAY_DELIVERIES, "handler" => UNDECODABLE, "outcome" => "dead").increment(1);
        self.outbox.record_failure(row.sequence, &format!("undecodable: {}", row.reason), None).await
    }

    async fn record_failure(&self, event: &PendingEvent, handler: &'static str, error: &str) -> Result<(), StoreError> {
        let attempts = event.attempts + 1;
        let retry_at = self.retry.next_attempt(attempts, OffsetDateTime::now_utc(), jitter());
        let outcome = if retry_at.is_some() { "failed" } else { "dead" };
        metrics::counter!(RELAY_DELIVERIES, "handler" => handler, "outcome" => outcome).increment(1);
        match retry_at {
            Some(at) => tracing::warn!(
                event_id = %event.envelope.id.as_uuid(),
                event_type = %event.envelope.event_type,
                attempts,
                retry_at = %at,
                error,
                "event delivery failed; will retry"
            ),
            None => tracing::error!(
                event_id = %event.envelope.id.as_uuid(),
                event_type = %event.envelope.event_type,
                attempts,
                error,
                "event delivery failed too often; parked as dead"
            ),
        }
        self.outbox.record_failure(event.sequence, error, retry_at).await
    }

    /// Delivers until `shutdown` turns true or its sender is dropped. A pass that has
    /// started always finishes, so no delivery is cut in half; between passes the relay
    /// sleeps until woken by a commit, the poll interval, or shutdown.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        // An idle relay polls less and less often (commits wake it anyway), so an
        // instance with nothing to deliver does not keep the database busy.
        let mut idle_pause = self.poll_interval;
        while !*shutdown.borrow() {
            let pause = match self.bounded_pass().await {
                None => self.poll_interval,
                Some(Ok(RelayRun::Delivered { .. })) => {
                    failures = 0;
                    idle_pause = self.poll_interval;
                    continue;
                }
                Some(Ok(RelayRun::Idle)) => {
                    failures = 0;
                    let pause = idle_pause;
                    idle_pause = (idle_pause * 2).min(MAX_IDLE_PAUSE.max(self.poll_interval));
                    pause
                }
                Some(Err(error)) => {
                    failures = failures.saturating_add(1);
                    tracing::error!(%error, failures, "the outbox relay cannot reach the outbox");
                    Duration::from_millis(200)
                        .saturating_mul(2_u32.saturating_pow(failures.min(8)))
                        .min(Duration::from_secs(30))
                }
            };
            tokio::select! {
                () = self.signal.notified() => idle_pause = self.poll_interval,
                () = tokio::time::sleep(pause) => {}
                changed = shutdown.changed() => {
                    // With the sender gone, `changed` would return at once forever and
                    // the loop would spin; nobody can ask for shutdown any more, so stop.
                    if changed.is_err() {
                        tracing::warn!("the outbox relay's shutdown channel closed");
                        break;
                    }
                }
            }
        }
        self.drain().await;
        tracing::info!("outbox relay stopped");
    }
}

impl<O: OutboxStore> Relay<O> {
    /// One pass, given up after the pass timeout (`None`). Giving up is safe: events
    /// already delivered but not yet deleted are delivered again later, and a claim
    /// (PostgreSQL) lapses with its lease.
    async fn bounded_pass(&self) -> Option<Result<RelayRun, StoreError>> {
        let pass = tokio::time::timeout(self.pass_timeout, self.run_once()).await;
        if pass.is_err() {
            tracing::warn!(
                timeout_ms = self.pass_timeout.as_millis(),
                "an outbox relay pass took too long and was given up; starting the next one"
            );
        }
        pass.ok()
    }

    /// Delivers what the last requests before shutdown committed, so a clean stop
    /// leaves nothing waiting; bounded, because a stop must not take forever.
    async fn drain(&self) {
        for _ in 0..DRAIN_PASSES {
            match self.bounded_pass().await {
                Some(Ok(RelayRun::Delivered { .. })) => {}
                Some(Ok(RelayRun::Idle)) | None => return,
                Some(Err(error)) => {
                    tracing::warn!(%error, "the outbox relay could not drain before stopping");
                    return;
                }
            }
        }
    }
}

/// Runs `handler` on `event`, a panic included: a panicking handler has failed its
/// delivery, to be retried and parked like any other failure, instead of taking the
/// relay down with it.
async fn handle_catching_panics(handler: &dyn EventHandler, event: &EventEnvelope) -> Result<(), String> {
    let handling = catch_unwind(AssertUnwindSafe(|| handler.handle(event))).map_err(panicked)?;
    match CatchPanic(handling).await {
        Ok(outcome) => outcome.map_err(|error| error.to_string()),
        Err(panic) => Err(panicked(panic)),
    }
}

/// A future whose panic while polled is its output instead of unwinding the caller.
struct CatchPanic<F>(F);

impl<F: Future + Unpin> Future for CatchPanic<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(context))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// What a panic said, for the log and the event's `last_error`.
pub(super) fn panicked(panic: Box<dyn Any + Send>) -> String {
    let message = panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned());
    format!("panicked: {message}")
}

/// A number in [0, 1) for backoff jitter; falls back to the middle if the system's
/// randomness is unavailable.
fn jitter() -> f64 {
    getrandom::u32().map_or(0.5, |bits| f64::from(bits) / (f64::from(u32::MAX) + 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 10:15:00 UTC);

    fn policy() -> RetryPolicy {
        RetryPolicy { max_attempts: 5, base_delay: Duration::from_secs(1), max_delay: Duration::from_secs(10) }
    }

    #[test]
    fn the_delay_doubles_with_each_failure_up_to_the_cap() {
        let delays: Vec<_> =
            (1..=5).map(|attempts| policy().next_attempt(attempts, NOW, 1.0).map(|at| at - NOW)).collect();
        assert_eq!(
            delays,
            vec![
                Some(time::Duration::seconds(1)),
                Some(time::Duration::seconds(2)),
                Some(time::Duration::seconds(4)),
                Some(time::Duration::seconds(8)),
                None
            ]
        );
    }

    #[test]
    fn the_delay_never_exceeds_the_cap() {
        let policy = RetryPolicy { max_attempts: 100, ..policy() };
        assert_eq!(policy.next_attempt(60, NOW, 1.0).map(|at| at - NOW), Some(time::Duration::seconds(10)));
    }

    #[test]
    fn jitter_shortens_the_delay_to_at_most_half() {
        assert_eq!(policy().next_attempt(2, NOW, 0.0).map(|at| at - NOW), Some(time::Duration::seconds(1)));
        let random = jitter();
        assert!((0.0..1.0).contains(&random));
    }

    #[test]
    fn an_event_is_parked_after_the_last_attempt() {
        assert_eq!(policy().next_attempt(5, NOW, 0.5), None);
    }
}
