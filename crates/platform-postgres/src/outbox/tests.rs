//! The outbox and its relays on PostgreSQL, where every instance runs a relay: claims
//! that exclude each other, leases that expire when a relay dies, order per aggregate,
//! parking and re-queueing, and wake-ups through LISTEN/NOTIFY. Each test runs on a
//! fresh database; without `TASKDECK_TEST_POSTGRES_URL` they say SKIPPED.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use taskdeck_kernel::{EventEnvelope, EventId};
use taskdeck_platform::outbox::{EventHandler, HandlerFuture, OutboxStore, OutboxWriter, Relay, RelayRun, RetryPolicy};

use super::{PostgresOutbox, append, forward_notifications};
use crate::PostgresDatabase;
use crate::testing::{Temporary, temporary};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::time::Instant;

const EVENT_TYPE: &str = "projects.TaskAdded.v1";
const DEADLINE: Duration = Duration::from_secs(15);

async fn fresh_database() -> Option<Temporary> {
    temporary().await
}

fn event(aggregate_id: &str, n: usize) -> EventEnvelope {
    EventEnvelope {
        trace_parent: None,
        id: EventId::generate(),
        event_type: EVENT_TYPE.to_owned(),
        aggregate_type: "project".to_owned(),
        aggregate_id: aggregate_id.to_owned(),
        occurred_at: OffsetDateTime::now_utc(),
        payload: json!({ "aggregate": aggregate_id, "n": n }),
    }
}

async fn commit(database: &PostgresDatabase, events: &[EventEnvelope]) {
    let mut transaction = database.begin().await.expect("begin");
    append(&mut transaction, events).await.expect("append");
    transaction.commit().await.expect("commit");
}

/// Records deliveries, in the order they happen, across relays.
#[derive(Debug, Default)]
struct Journal {
    delivered: Mutex<Vec<(String, u64)>>,
    fail: bool,
}

impl EventHandler for Journal {
    fn name(&self) -> &'static str {
        "journal"
    }

    fn event_types(&self) -> &'static [&'static str] {
        &[EVENT_TYPE]
    }

    fn handle<'a>(&'a self, event: &'a EventEnvelope) -> HandlerFuture<'a> {
        Box::pin(async move {
            let n = event.payload["n"].as_u64().unwrap_or_default();
            self.delivered.lock().expect("not poisoned").push((event.aggregate_id.clone(), n));
            if self.fail {
                return Err("refused on purpose".into());
            }
            Ok(())
        })
    }
}

fn relay(database: &PostgresDatabase, journal: &Arc<Journal>, lease: Duration) -> Relay<PostgresOutbox> {
    let handlers: Vec<Arc<dyn EventHandler>> = vec![Arc::clone(journal) as Arc<dyn EventHandler>];
    Relay::new(PostgresOutbox::new(database.clone(), lease), &handlers, &OutboxWriter::new())
}

#[tokio::test]
async fn a_claimed_event_is_invisible_to_other_relays_until_its_lease_expires() {
    let Some(database) = fresh_database().await else { return };
    commit(&database, &[event("1", 1)]).await;
    let dying_relay = PostgresOutbox::new(database.clone(), Duration::from_secs(2));
    let claimed = dying_relay.next_batch(10, OffsetDateTime::now_utc()).await.expect("claim");
    assert_eq!(claimed.len(), 1, "the first relay claims the event, then dies without delivering it");

    let journal = Arc::new(Journal::default());
    let survivor = relay(&database, &journal, Duration::from_secs(30));
    assert_eq!(survivor.run_once().await.expect("run"), RelayRun::Idle, "the claim holds while its lease runs");

    let started = Instant::now();
    loop {
        if let RelayRun::Delivered { delivered: 1, .. } = survivor.run_once().await.expect("run") {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "the expired lease was never taken over");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(journal.delivered.lock().expect("not poisoned").len(), 1);
    assert_eq!(survivor.run_once().await.expect("run"), RelayRun::Idle, "delivered events are deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_relays_deliver_every_event_exactly_once_and_each_aggregate_in_order() {
    let Some(database) = fresh_database().await else { return };
    for round in 0..10 {
        let events: Vec<EventEnvelope> = (0..20).map(|aggregate| event(&aggregate.to_string(), round)).collect();
        commit(&database, &events).await;
    }
    let journal = Arc::new(Journal::default());
    let relays: Vec<_> = (0..3).map(|_| relay(&database, &journal, Duration::from_secs(30))).collect();

    let mut workers = tokio::task::JoinSet::new();
    for relay in relays {
        workers.spawn(async move {
            let started = Instant::now();
            let mut idle_in_a_row = 0;
            while idle_in_a_row < 5 {
                match relay.run_once().await.expect("run") {
                    RelayRun::Idle => {
                        idle_in_a_row += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    RelayRun::Delivered { .. } => idle_in_a_row = 0,
                }
                assert!(started.elapsed() < DEADLINE, "the relays did not drain the outbox");
            }
        });
    }
    while let Some(outcome) = workers.join_next().await {
        outcome.expect("relay worker");
    }

    let delivered = journal.delivered.lock().expect("not poisoned").clone();
    assert_eq!(delivered.len(), 200, "each of the 200 events delivered exactly once");
    for aggregate in 0..20 {
        let order: Vec<u64> =
            delivered.iter().filter(|(id, _)| *id == aggregate.to_string()).map(|(_, n)| *n).collect();
        assert_eq!(order, (0..10).collect::<Vec<_>>(), "aggregate {aggregate} out of order");
    }
    let stats = PostgresOutbox::new(database.clone(), Duration::from_secs(30)).stats().await.expect("stats");
    assert_eq!((stats.pending, stats.dead), (0, 0));
}

#[tokio::test]
async fn a_failing_event_is_retried_then_parked_and_can_be_requeued() {
    let Some(database) = fresh_database().await else { return };
    commit(&database, &[event("7", 1)]).await;
    let journal = Arc::new(Journal { fail: true, ..Journal::default() });
    let retry =
        RetryPolicy { max_attempts: 3, base_delay: Duration::from_millis(50), max_delay: Duration::from_millis(100) };
    let relay = relay(&database, &journal, Duration::from_secs(30)).with_retry_policy(retry);
    let outbox = PostgresOutbox::new(database.clone(), Duration::from_secs(30));

    let started = Instant::now();
    while outbox.stats().await.expect("stats").dead == 0 {
        relay.run_once().await.expect("run");
        assert!(started.elapsed() < DEADLINE, "the event was never parked");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(journal.delivered.lock().expect("not poisoned").len(), 3, "tried exactly max_attempts times");
    assert_eq!(relay.run_once().await.expect("run"), RelayRun::Idle, "a parked event is not delivered");

    assert_eq!(outbox.requeue_dead().await.expect("requeue"), 1);
    let stats = outbox.stats().await.expect("stats");
    assert_eq!((stats.pending, stats.dead), (1, 0));
    assert!(
        matches!(relay.run_once().await.expect("run"), RelayRun::Delivered { .. }),
        "re-queued events are tried again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_on_another_connection_wakes_an_idle_relay_through_notify() {
    let Some(database) = fresh_database().await else { return };
    let journal = Arc::new(Journal::default());
    let writer = OutboxWriter::new();
    let handlers: Vec<Arc<dyn EventHandler>> = vec![Arc::clone(&journal) as Arc<dyn EventHandler>];
    // A poll so slow that only the notification can explain a prompt delivery.
    let relay = Relay::new(PostgresOutbox::new(database.clone(), Duration::from_secs(30)), &handlers, &writer)
        .with_poll_interval(Duration::from_secs(60));
    let (stop, stopped) = watch::channel(false);
    let listener = tokio::spawn(forward_notifications(database.clone(), writer.signal().clone(), stopped.clone()));
    let running = tokio::spawn(async move { relay.run(stopped).await });
    // Let the relay go idle and the listener subscribe.
    tokio::time::sleep(Duration::from_millis(500)).await;

    commit(&database, &[event("9", 1)]).await;

    let started = Instant::now();
    while journal.delivered.lock().expect("not poisoned").is_empty() {
        assert!(started.elapsed() < DEADLINE, "the relay was not woken by the commit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).expect("stop");
    running.await.expect("relay stops");
    listener.await.expect("listener stops");
}

/// The relay's contract with what goes wrong, shared with SQLite.
mod relay_contract {
    use std::time::Duration;

    use taskdeck_kernel::{EventEnvelope, StoreError};
    use taskdeck_platform::BoxFuture;
    use taskdeck_platform::outbox::contract::ContractOutbox;

    use super::super::{PostgresOutbox, append};
    use crate::testing::{Temporary, temporary};

    impl ContractOutbox for PostgresOutbox {
        fn commit<'a>(&'a self, events: &'a [EventEnvelope]) -> BoxFuture<'a, Result<(), StoreError>> {
            Box::pin(async move {
                let mut transaction = self.database.begin().await?;
                append(&mut transaction, events).await?;
                transaction.commit().await.map_err(StoreError::backend)
            })
        }

        /// A payload is `jsonb`, so always JSON: the time it occurred is what no event
        /// can have.
        fn insert_undecodable<'a>(&'a self, aggregate_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO outbox (event_id, event_type, aggregate_type, aggregate_id, occurred_at, payload)
                     VALUES (gen_random_uuid(), 'projects.TaskAdded.v1', 'project', $1, 'infinity', '{}')",
                )
                .bind(aggregate_id)
                .execute(self.database.pool())
                .await
                .map(drop)
                .map_err(StoreError::backend)
            })
        }
    }

    /// The lease is the pass timeout the contract gives its relay, so that a claim of a
    /// pass given up lapses about when the next pass starts.
    async fn fresh_outbox() -> Option<(PostgresOutbox, Temporary)> {
        let database = temporary().await?;
        Some((PostgresOutbox::new((*database).clone(), Duration::from_secs(1)), database))
    }

    taskdeck_platform::outbox_relay_contract!(fresh_outbox);
}
