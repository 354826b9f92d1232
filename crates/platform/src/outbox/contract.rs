//! How the relay copes with what goes wrong, on every backend's outbox (feature
//! `testing`): handlers that panic or never finish, rows that are no event, a relay
//! that dies. Each check takes a fresh, empty, migrated database; backends run them
//! all with [`outbox_relay_contract!`](crate::outbox_relay_contract).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::json;
use taskdeck_kernel::{EventEnvelope, EventId, StoreError};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::time::Instant;

use super::{
    EventHandler, HandlerFuture, OutboxRow, OutboxStats, OutboxStore, OutboxWriter, Relay, RelayRun, RetryPolicy,
    supervise,
};
use crate::BoxFuture;

const EVENT_TYPE: &str = "projects.TaskAdded.v1";

/// How long a check waits for something that should happen promptly before failing.
const DEADLINE: Duration = Duration::from_secs(20);

/// An outbox the checks can also write to the way a unit of work does, and corrupt the
/// way only SQL can.
pub trait ContractOutbox: OutboxStore + Clone + 'static {
    /// Appends `events` in one committed transaction.
    fn commit<'a>(&'a self, events: &'a [EventEnvelope]) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Inserts, with SQL, a pending row of `aggregate_id` whose columns make no event
    /// (as a corrupted row, or one written by something else, would).
    fn insert_undecodable<'a>(&'a self, aggregate_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
}

fn event(aggregate_id: &str) -> EventEnvelope {
    EventEnvelope {
        trace_parent: None,
        id: EventId::generate(),
        event_type: EVENT_TYPE.to_owned(),
        aggregate_type: "project".to_owned(),
        aggregate_id: aggregate_id.to_owned(),
        occurred_at: OffsetDateTime::now_utc(),
        payload: json!({ "aggregate": aggregate_id }),
    }
}

/// Retries almost at once, so that checks can wait for the retry or for parking.
fn quick_retries(max_attempts: i64) -> RetryPolicy {
    RetryPolicy { max_attempts, base_delay: Duration::from_millis(20), max_delay: Duration::from_millis(40) }
}

/// What a handler does with the events of one aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Succeed,
    Panic,
    /// Panics on the first delivery only.
    PanicOnce,
    /// Never finishes the first delivery; succeeds afterwards.
    HangOnce,
}

/// A handler that records every delivery it is handed and behaves, per aggregate, as
/// it is told.
#[derive(Debug, Default)]
struct Scripted {
    behaviours: Mutex<HashMap<String, Behaviour>>,
    deliveries: Mutex<Vec<EventId>>,
}

impl Scripted {
    fn new(behaviours: &[(&str, Behaviour)]) -> Arc<Self> {
        let behaviours = behaviours.iter().map(|(aggregate, behaviour)| ((*aggregate).to_owned(), *behaviour));
        Arc::new(Self { behaviours: Mutex::new(behaviours.collect()), deliveries: Mutex::default() })
    }

    fn deliveries_of(&self, id: EventId) -> usize {
        self.deliveries.lock().unwrap_or_else(PoisonError::into_inner).iter().filter(|seen| **seen == id).count()
    }

    /// This delivery's behaviour; a "once" behaviour is spent by it.
    fn behaviour(&self, aggregate: &str) -> Behaviour {
        let mut behaviours = self.behaviours.lock().unwrap_or_else(PoisonError::into_inner);
        let behaviour = behaviours.get(aggregate).copied().unwrap_or(Behaviour::Succeed);
        if matches!(behaviour, Behaviour::PanicOnce | Behaviour::HangOnce) {
            behaviours.insert(aggregate.to_owned(), Behaviour::Succeed);
        }
        behaviour
    }
}

impl EventHandler for Scripted {
    fn name(&self) -> &'static str {
        "scripted"
    }

    fn event_types(&self) -> &'static [&'static str] {
        &[EVENT_TYPE]
    }

    fn handle<'a>(&'a self, event: &'a EventEnvelope) -> HandlerFuture<'a> {
        self.deliveries.lock().unwrap_or_else(PoisonError::into_inner).push(event.id);
        let behaviour = self.behaviour(&event.aggregate_id);
        Box::pin(async move {
            match behaviour {
                Behaviour::Succeed => Ok(()),
                Behaviour::Panic | Behaviour::PanicOnce => panic!("a bug in the handler of {}", event.aggregate_id),
                Behaviour::HangOnce => std::future::pending().await,
            }
        })
    }
}

fn relay<O: ContractOutbox>(outbox: &O, handler: &Arc<Scripted>) -> Relay<O> {
    let handlers: Vec<Arc<dyn EventHandler>> = vec![Arc::clone(handler) as Arc<dyn EventHandler>];
    Relay::new(outbox.clone(), &handlers, &OutboxWriter::new())
}

async fn stats<O: ContractOutbox>(outbox: &O) -> OutboxStats {
    outbox.stats().await.expect("stats are readable")
}

/// Polls `condition` until it holds, failing the check after the deadline.
async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + DEADLINE;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn a_panicking_handler_fails_its_delivery_and_the_rest_of_the_batch_is_delivered<O: ContractOutbox>(
    outbox: O,
) {
    let flaky = event("flaky");
    let broken = event("broken");
    let sound = event("sound");
    outbox.commit(&[flaky.clone(), broken.clone(), sound.clone()]).await.expect("committed");
    let handler = Scripted::new(&[("flaky", Behaviour::PanicOnce), ("broken", Behaviour::Panic)]);
    let relay = relay(&outbox, &handler).with_retry_policy(quick_retries(3));

    let first = relay.run_once().await.expect("a panic is no outbox failure");

    assert_eq!(first, RelayRun::Delivered { delivered: 1, failed: 2 });
    assert_eq!(stats(&outbox).await, OutboxStats { pending: 2, dead: 0 }, "both panics wait for a retry");
    eventually("the flaky event is delivered on retry and the broken one parked", || async {
        relay.run_once().await.expect("the outbox is reachable");
        stats(&outbox).await == OutboxStats { pending: 0, dead: 1 }
    })
    .await;
    assert_eq!(handler.deliveries_of(flaky.id), 2);
    assert_eq!(handler.deliveries_of(broken.id), 3, "tried max_attempts times, like a handler's error");
    assert_eq!(handler.deliveries_of(sound.id), 1);
}

pub async fn a_row_that_is_no_event_is_parked_dead_and_the_rest_of_the_batch_is_delivered<O: ContractOutbox>(
    outbox: O,
) {
    let before = event("p1");
    outbox.commit(std::slice::from_ref(&before)).await.expect("committed");
    outbox.insert_undecodable("p2").await.expect("inserted");
    let held_back = event("p2");
    let after = event("p3");
    outbox.commit(&[held_back.clone(), after.clone()]).await.expect("committed");
    let handler = Scripted::new(&[]);
    let relay = relay(&outbox, &handler);

    let first = relay.run_once().await.expect("one bad row does not fail the batch");

    assert_eq!(first, RelayRun::Delivered { delivered: 2, failed: 1 });
    assert_eq!((handler.deliveries_of(before.id), handler.deliveries_of(after.id)), (1, 1));
    assert_eq!(stats(&outbox).await, OutboxStats { pending: 1, dead: 1 }, "parked at once, not retried");
    assert_eq!(handler.deliveries_of(held_back.id), 0, "the aggregate's later event waited for it");
    assert_eq!(relay.run_once().await.expect("reachable"), RelayRun::Delivered { delivered: 1, failed: 0 });
    assert_eq!(handler.deliveries_of(held_back.id), 1, "and follows once it is parked");
    assert_eq!(relay.run_once().await.expect("reachable"), RelayRun::Idle, "the parked row is not read again");
    assert_eq!(stats(&outbox).await, OutboxStats { pending: 0, dead: 1 });
}

pub async fn a_pass_that_outlasts_its_timeout_is_given_up_and_the_relay_carries_on<O: ContractOutbox>(outbox: O) {
    let stuck = event("stuck");
    outbox.commit(std::slice::from_ref(&stuck)).await.expect("committed");
    let handler = Scripted::new(&[("stuck", Behaviour::HangOnce)]);
    // Long enough for any pass that does not hang; the lease of the contract's
    // PostgreSQL outbox is as long, so the stuck claim lapses about when the pass is
    // given up.
    let relay = relay(&outbox, &handler)
        .with_pass_timeout(Duration::from_secs(1))
        .with_poll_interval(Duration::from_millis(10));
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(async move { relay.run(stopped).await });

    eventually("the event is delivered again after the stuck pass", || async {
        stats(&outbox).await == OutboxStats { pending: 0, dead: 0 }
    })
    .await;
    assert_eq!(handler.deliveries_of(stuck.id), 2, "the hung delivery, then the one that succeeded");
    assert!(!running.is_finished(), "the relay is still running");
    let later = event("later");
    outbox.commit(std::slice::from_ref(&later)).await.expect("committed");
    eventually("the relay goes on delivering", || async { handler.deliveries_of(later.id) == 1 }).await;
    stop.send(true).expect("the relay listens");
    tokio::time::timeout(DEADLINE, running).await.expect("the relay stops").expect("no panic");
}

/// An outbox whose first read panics, as a bug in the relay's own code would.
#[derive(Debug, Clone)]
struct PanicsOnce<O> {
    outbox: O,
    panicked: Arc<AtomicBool>,
}

impl<O: ContractOutbox> OutboxStore for PanicsOnce<O> {
    async fn next_batch(&self, limit: i64, now: OffsetDateTime) -> Result<Vec<OutboxRow>, StoreError> {
        assert!(self.panicked.swap(true, Ordering::SeqCst), "the relay's first read of the outbox dies");
        self.outbox.next_batch(limit, now).await
    }

    async fn delete_delivered(&self, sequences: &[i64]) -> Result<(), StoreError> {
        self.outbox.delete_delivered(sequences).await
    }

    async fn record_failure(
        &self,
        sequence: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        self.outbox.record_failure(sequence, error, retry_at).await
    }

    async fn requeue_dead(&self) -> Result<u64, StoreError> {
        self.outbox.requeue_dead().await
    }

    async fn stats(&self) -> Result<OutboxStats, StoreError> {
        self.outbox.stats().await
    }
}

pub async fn a_supervised_relay_that_died_is_started_again_and_delivers<O: ContractOutbox>(outbox: O) {
    let waiting = event("p1");
    outbox.commit(std::slice::from_ref(&waiting)).await.expect("committed");
    let handler = Scripted::new(&[]);
    let handlers: Vec<Arc<dyn EventHandler>> = vec![Arc::clone(&handler) as Arc<dyn EventHandler>];
    let dying = PanicsOnce { outbox: outbox.clone(), panicked: Arc::default() };
    let relay = Arc::new(Relay::new(dying.clone(), &handlers, &OutboxWriter::new()));
    let (stop, stopped) = watch::channel(false);
    let watching = stopped.clone();
    let supervising = tokio::spawn(supervise("outbox relay", stopped, Duration::ZERO, move || {
        let (relay, shutdown) = (Arc::clone(&relay), watching.clone());
        async move { relay.run(shutdown).await }
    }));

    eventually("the restarted relay delivers", || async { handler.deliveries_of(waiting.id) == 1 }).await;
    assert!(dying.panicked.load(Ordering::SeqCst), "the first relay died");
    assert!(!supervising.is_finished());
    stop.send(true).expect("the supervisor listens");
    tokio::time::timeout(DEADLINE, supervising).await.expect("the relay stops").expect("no panic");
    assert_eq!(stats(&outbox).await, OutboxStats { pending: 0, dead: 0 });
}

/// Runs every check of the contract as a test, each on the store `$fresh_outbox()`
/// makes: an async function answering `Option<(outbox, guard)>`, `None` to skip (no
/// database server), the guard kept alive for the test.
#[macro_export]
macro_rules! outbox_relay_contract {
    ($fresh_outbox:path) => {
        $crate::outbox_relay_contract!(@checks $fresh_outbox;
            a_panicking_handler_fails_its_delivery_and_the_rest_of_the_batch_is_delivered,
            a_row_that_is_no_event_is_parked_dead_and_the_rest_of_the_batch_is_delivered,
            a_pass_that_outlasts_its_timeout_is_given_up_and_the_relay_carries_on,
            a_supervised_relay_that_died_is_started_again_and_delivers,
        );
    };
    (@checks $fresh_outbox:path; $($check:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some((outbox, _keep)) = $fresh_outbox().await else { return };
                $crate::outbox::contract::$check(outbox).await;
            }
        )+
    };
}
