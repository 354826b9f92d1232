//! The outbox and its relay against a real, temporary SQLite database: what gets
//! written, what is delivered to whom and in which order, how failures are retried and
//! parked, and how the background relay wakes up and stops.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use taskdeck_kernel::{EventEnvelope, EventId};
use taskdeck_platform::outbox::{
    EventHandler, HandlerFuture, OutboxStats, OutboxStore, OutboxWriter, Relay, RelayRun, RetryPolicy,
};

use super::{SqliteOutbox, append};
use crate::testing::{Temporary, temporary};
use crate::{SqliteDatabase, SqliteStore};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::time::Instant;

const PROJECT_CREATED: &str = "projects.ProjectCreated.v1";
const TASK_ADDED: &str = "projects.TaskAdded.v1";
const UNSUBSCRIBED: &str = "projects.ProjectRenamed.v1";

/// How long a test waits for something that should happen promptly before failing.
const DEADLINE: Duration = Duration::from_secs(10);

/// Retries quickly enough for tests, and slowly enough that a run right after a
/// failure certainly finds the event not yet due (the first delay is at least 1s).
fn patient_retries() -> RetryPolicy {
    RetryPolicy { max_attempts: 10, base_delay: Duration::from_secs(2), max_delay: Duration::from_secs(2) }
}

/// Retries almost at once, for tests that wait for the retry or for parking.
fn quick_retries(max_attempts: i64) -> RetryPolicy {
    RetryPolicy { max_attempts, base_delay: Duration::from_millis(20), max_delay: Duration::from_millis(40) }
}

fn event(event_type: &str, aggregate_id: &str) -> EventEnvelope {
    EventEnvelope {
        trace_parent: None,
        id: EventId::generate(),
        event_type: event_type.to_owned(),
        aggregate_type: "project".to_owned(),
        aggregate_id: aggregate_id.to_owned(),
        occurred_at: OffsetDateTime::now_utc(),
        payload: json!({ "aggregate": aggregate_id, "type": event_type }),
    }
}

/// Appends `events` in one committed write transaction, as a unit of work does.
async fn commit(database: &SqliteDatabase, events: &[EventEnvelope]) -> usize {
    let transaction = database.begin_write().await.expect("a write transaction starts");
    append(transaction.connection(), events).expect("events are appended");
    transaction.commit().expect("the transaction commits");
    events.len()
}

/// A handler that records what it receives and fails, on purpose, for chosen events.
#[derive(Debug)]
struct Recorder {
    name: &'static str,
    event_types: &'static [&'static str],
    received: Mutex<Vec<EventEnvelope>>,
    failing: Mutex<HashSet<EventId>>,
    fail_everything: bool,
}

impl Recorder {
    fn new(name: &'static str, event_types: &'static [&'static str]) -> Arc<Self> {
        Self::build(name, event_types, false)
    }

    fn always_failing(name: &'static str, event_types: &'static [&'static str]) -> Arc<Self> {
        Self::build(name, event_types, true)
    }

    fn build(name: &'static str, event_types: &'static [&'static str], fail_everything: bool) -> Arc<Self> {
        Arc::new(Self { name, event_types, received: Mutex::default(), failing: Mutex::default(), fail_everything })
    }

    fn fail_on(&self, id: EventId) {
        self.failing.lock().expect("not poisoned").insert(id);
    }

    fn stop_failing_on(&self, id: EventId) {
        self.failing.lock().expect("not poisoned").remove(&id);
    }

    fn received(&self) -> Vec<EventEnvelope> {
        self.received.lock().expect("not poisoned").clone()
    }

    fn received_ids(&self) -> Vec<EventId> {
        self.received().iter().map(|event| event.id).collect()
    }
}

impl EventHandler for Recorder {
    fn name(&self) -> &'static str {
        self.name
    }

    fn event_types(&self) -> &'static [&'static str] {
        self.event_types
    }

    fn handle<'a>(&'a self, event: &'a EventEnvelope) -> HandlerFuture<'a> {
        Box::pin(async move {
            self.received.lock().expect("not poisoned").push(event.clone());
            if self.fail_everything || self.failing.lock().expect("not poisoned").contains(&event.id) {
                return Err(format!("{} refuses {}", self.name, event.event_type).into());
            }
            Ok(())
        })
    }
}

fn handlers(recorders: &[&Arc<Recorder>]) -> Vec<Arc<dyn EventHandler>> {
    recorders.iter().map(|recorder| Arc::clone(*recorder) as Arc<dyn EventHandler>).collect()
}

fn relay(database: &SqliteDatabase, recorders: &[&Arc<Recorder>], retry: RetryPolicy) -> Relay<SqliteOutbox> {
    Relay::new(SqliteOutbox::new(database.clone()), &handlers(recorders), &OutboxWriter::new()).with_retry_policy(retry)
}

async fn stats(database: &SqliteDatabase) -> OutboxStats {
    SqliteOutbox::new(database.clone()).stats().await.expect("stats are readable")
}

/// Runs the relay until a pass finds nothing deliverable; returns the passes that did something.
async fn drain(relay: &Relay<SqliteOutbox>) -> Vec<RelayRun> {
    let mut runs = Vec::new();
    loop {
        match relay.run_once().await.expect("the outbox is reachable") {
            RelayRun::Idle => return runs,
            run => runs.push(run),
        }
        assert!(runs.len() < 100, "the relay never went idle: {runs:?}");
    }
}

/// Polls `condition` until it holds, failing the test after the deadline.
async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + DEADLINE;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The attempts and retry time (unix milliseconds) the outbox holds for an event.
async fn delivery_state(database: &SqliteDatabase, id: EventId) -> (i64, i64, Option<String>) {
    database
        .read(|connection| {
            connection.query_row(
                "SELECT attempts, available_at, last_error FROM outbox WHERE event_id = ?",
                [id.as_uuid()],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
        })
        .expect("the event is still in the outbox")
}

fn unix_millis(instant: OffsetDateTime) -> i64 {
    i64::try_from(instant.unix_timestamp_nanos() / 1_000_000).expect("in range")
}

async fn temporary_database() -> Temporary {
    temporary().await
}

#[tokio::test]
async fn a_run_over_an_empty_outbox_is_idle() {
    let database = temporary_database().await;
    let recorder = Recorder::new("recorder", &[PROJECT_CREATED]);
    let relay = relay(&database, &[&recorder], patient_retries());

    assert_eq!(relay.run_once().await.expect("the outbox is reachable"), RelayRun::Idle);
    assert!(recorder.received().is_empty());
    assert_eq!(stats(&database).await, OutboxStats { pending: 0, dead: 0 });
}

#[tokio::test]
async fn appended_events_wait_in_the_outbox_unchanged_until_the_relay_runs() {
    let database = temporary_database().await;
    let events = [event(PROJECT_CREATED, "p1"), event(TASK_ADDED, "p1")];

    assert_eq!(commit(&database, &events).await, 2);

    assert_eq!(SqliteOutbox::new(database.clone()).all_events().await.expect("readable"), events);
    assert_eq!(stats(&database).await, OutboxStats { pending: 2, dead: 0 });
}

#[tokio::test]
async fn events_are_delivered_to_the_handlers_subscribed_to_their_type_and_then_deleted() {
    let database = temporary_database().await;
    let creations = Recorder::new("creations", &[PROJECT_CREATED]);
    let tasks = Recorder::new("tasks", &[TASK_ADDED]);
    let everything = Recorder::new("everything", &[PROJECT_CREATED, TASK_ADDED]);
    let relay = relay(&database, &[&creations, &tasks, &everything], patient_retries());
    let created = event(PROJECT_CREATED, "p1");
    let added = event(TASK_ADDED, "p2");
    commit(&database, &[created.clone(), added.clone()]).await;

    let runs = drain(&relay).await;

    assert_eq!(runs, vec![RelayRun::Delivered { delivered: 2, failed: 0 }]);
    assert_eq!(creations.received(), vec![created.clone()]);
    assert_eq!(tasks.received(), vec![added.clone()]);
    assert_eq!(everything.received(), vec![created, added]);
    assert_eq!(stats(&database).await, OutboxStats { pending: 0, dead: 0 });
    assert!(SqliteOutbox::new(database.clone()).all_events().await.expect("readable").is_empty());
}

#[tokio::test]
async fn events_nobody_subscribes_to_are_deleted_without_a_handler() {
    let database = temporary_database().await;
    let recorder = Recorder::new("recorder", &[PROJECT_CREATED]);
    let relay = relay(&database, &[&recorder], patient_retries());
    commit(&database, &[event(UNSUBSCRIBED, "p1")]).await;

    assert_eq!(drain(&relay).await, vec![RelayRun::Delivered { delivered: 1, failed: 0 }]);

    assert!(recorder.received().is_empty());
    assert_eq!(stats(&database).await, OutboxStats { pending: 0, dead: 0 });
}

#[tokio::test]
async fn once_a_relay_is_built_units_of_work_write_only_the_event_types_its_handlers_want() {
    let database = temporary_database().await;
    let writer = OutboxWriter::new();
    let store = SqliteStore::new(database.clone(), writer.clone());
    let recorder = Recorder::new("recorder", &[PROJECT_CREATED]);
    let _relay = Relay::new(SqliteOutbox::new(database.clone()), &handlers(&[&recorder]), &writer);
    let kept = event(PROJECT_CREATED, "p1");

    let mut unit_of_work = store.begin().await.expect("begin");
    unit_of_work.record(&[event(UNSUBSCRIBED, "p1"), kept.clone(), event(TASK_ADDED, "p1")]).expect("recorded");
    unit_of_work.commit().expect("committed");

    assert_eq!(SqliteOutbox::new(database.clone()).all_events().await.expect("readable"), vec![kept]);
}

#[tokio::test]
async fn a_unit_of_work_that_wrote_events_wakes_the_relay_at_commit_and_one_that_did_not_stays_quiet() {
    let database = temporary_database().await;
    let writer = OutboxWriter::new();
    let store = SqliteStore::new(database.clone(), writer.clone());

    let quiet = store.begin().await.expect("begin");
    quiet.commit().expect("committed");
    let woken = tokio::time::timeout(Duration::from_millis(50), writer.signal().notified()).await;
    assert!(woken.is_err(), "nothing to deliver, nobody woken");

    let mut unit_of_work = store.begin().await.expect("begin");
    unit_of_work.record(&[event(PROJECT_CREATED, "p1")]).expect("recorded");
    unit_of_work.commit().expect("committed");
    tokio::time::timeout(DEADLINE, writer.signal().notified()).await.expect("the relay is woken");
}

#[tokio::test]
async fn a_rolled_back_transaction_leaves_nothing_in_the_outbox() {
    let database = temporary_database().await;
    let events = [event(PROJECT_CREATED, "p1")];

    let rolled_back = database.begin_write().await.expect("a write transaction starts");
    append(rolled_back.connection(), &events).expect("appended");
    rolled_back.rollback().expect("rolled back");
    // A unit of work that returns early drops its transaction, which also rolls back.
    let dropped = database.begin_write().await.expect("a write transaction starts");
    append(dropped.connection(), &[event(TASK_ADDED, "p2")]).expect("appended");
    drop(dropped);

    assert_eq!(stats(&database).await, OutboxStats { pending: 0, dead: 0 });
    assert!(SqliteOutbox::new(database.clone()).all_events().await.expect("readable").is_empty());
    // The write lock was released: the next unit of work can still write.
    assert_eq!(commit(&database, &events).await, 1);
}

#[tokio::test]
async fn a_failed_delivery_keeps_the_event_with_one_more_attempt_and_a_later_retry_time() {
    let database = temporary_database().await;
    let recorder = Recorder::new("flaky", &[PROJECT_CREATED]);
    let relay = relay(&database, &[&recorder], patient_retries());
    let created = event(PROJECT_CREATED, "p1");
    recorder.fail_on(created.id);
    commit(&database, std::slice::from_ref(&created)).await;

    let before = unix_millis(OffsetDateTime::now_utc());
    assert_eq!(relay.run_once().await.expect("reachable"), RelayRun::Delivered { delivered: 0, failed: 1 });

    let (attempts, available_at, last_error) = delivery_state(&database, created.id).await;
    assert_eq!(attempts, 1);
    assert!(available_at > before, "the retry time {available_at} should be after {before}");
    assert!(last_error.is_some_and(|error| error.contains("flaky")), "the error names the handler");
    assert_eq!(stats(&database).await, OutboxStats { pending: 1, dead: 0 });
    assert_eq!(relay.run_once().await.expect("reachable"), RelayRun::Idle, "not due yet");
    assert_eq!(recorder.received().len(), 1);
}

#[tokio::test]
async fn a_failed_event_is_delivered_again_once_its_retry_time_has_passed() {
    let database = temporary_database().await;
    let recorder = Recorder::new("flaky", &[PROJECT_CREATED]);
    let relay = relay(&database, &[&recorder], quick_retries(5));
    let created = event(PROJECT_CREATED, "p1");
    recorder.fail_on(created.id);
    commit(&database, std::slice::from_ref(&created)).await;
    assert_eq!(relay.run_once().await.expect("reachable"), RelayRun::Delivered { delivered: 0, failed: 1 });
    recorder.stop_failing_on(created.id);

    eventually("the retry is delivered", || async {
        relay.run_once().await.expect("reachable") == RelayRun::Delivered { delivered: 1, failed: 0 }
    })
    .await;

    assert_eq!(recorder.received_ids(), vec![created.id, created.id]);
    assert_eq!(stats(&database).await, OutboxStats { pending: 0, dead: 0 });
}

#[tokio::test]
async fn an_event_failing_max_attempts_times_is_parked_as_dead_and_no_longer_delivered() {
    let database = temporary_database().await;
    let recorder = Recorder::always_failing("broken", &[PROJECT_CREATED]);
    let relay = relay(&database, &[&recorder], quick_retries(3));
    let created = event(PROJECT_CREATED, "p1");
    commit(&database, std::slice::from_ref(&created)).await;

    eventually("the event is parked", || async {
        relay.run_once().await.expect("reachable");
        stats(&database).await.dead == 1
    })
    .await;

    assert_eq!(stats(&database).await, OutboxStats { pending: 0, dead: 1 });
    assert_eq!(recorder.received_ids(), vec![created.id; 3], "delivered exactly max_attempts times");
    // Well past any retry time, the parked event is still not delivered.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(relay.run_once().await.expect("reachable"), RelayRun::Idle);
    assert_eq!(recorder.received().len(), 3);
    let outbox = SqliteOutbox::new(database.clone());
    assert_eq!(outbox.next_batch(10, OffsetDateTime::now_utc() + time::Duration::days(1)).await.expect("readable"), []);
    assert_eq!(outbox.all_events().await.expect("readable"), vec![created], "kept for an operator");
}

#[tokio::test]
async fn the_events_of_one_aggregate_are_delivered_in_the_order_they_were_appended() {
    let database = temporary_database().await;
    let recorder = Recorder::new("recorder", &[PROJECT_CREATED, TASK_ADDED]);
    let relay = relay(&database, &[&recorder], patient_retries());
    let first = event(PROJECT_CREATED, "p1");
    let second = event(TASK_ADDED, "p1");
    let third = event(TASK_ADDED, "p1");
    let other = event(PROJECT_CREATED, "p2");
    commit(&database, &[first.clone(), other.clone(), second.clone()]).await;
    commit(&database, std::slice::from_ref(&third)).await;

    drain(&relay).await;

    let p1: Vec<EventId> =
        recorder.received().iter().filter(|event| event.aggregate_id == "p1").map(|event| event.id).collect();
    assert_eq!(p1, vec![first.id, second.id, third.id]);
    assert!(recorder.received_ids().contains(&other.id));
    assert_eq!(stats(&database).await, OutboxStats { pending: 0, dead: 0 });
}

#[tokio::test]
async fn a_failing_event_holds_back_later_events_of_its_aggregate_but_not_of_others() {
    let database = temporary_database().await;
    let recorder = Recorder::new("recorder", &[PROJECT_CREATED, TASK_ADDED]);
    let relay = relay(&database, &[&recorder], quick_retries(100));
    let stuck = event(PROJECT_CREATED, "p1");
    let held_back = event(TASK_ADDED, "p1");
    let other_first = event(PROJECT_CREATED, "p2");
    let other_second = event(TASK_ADDED, "p2");
    recorder.fail_on(stuck.id);
    commit(&database, &[stuck.clone(), other_first.clone(), held_back.clone(), other_second.clone()]).await;

    eventually("the stuck event is retried while the other aggregate is delivered", || async {
        relay.run_once().await.expect("reachable");
        let received = recorder.received_ids();
        received.iter().filter(|id| **id == stuck.id).count() >= 3
            && received.contains(&other_first.id)
            && received.contains(&other_second.id)
    })
    .await;

    assert!(!recorder.received_ids().contains(&held_back.id), "the later p1 event overtook the failing one");
    assert_eq!(stats(&database).await, OutboxStats { pending: 2, dead: 0 });

    recorder.stop_failing_on(stuck.id);
    eventually("p1 catches up", || async {
        relay.run_once().await.expect("reachable");
        stats(&database).await.pending == 0
    })
    .await;
    let p1: Vec<EventId> = recorder
        .received()
        .iter()
        .filter(|event| event.aggregate_id == "p1")
        .map(|event| event.id)
        .filter(|id| *id != stuck.id)
        .collect();
    assert_eq!(p1, vec![held_back.id]);
    assert_eq!(recorder.received_ids().last(), Some(&held_back.id), "delivered only after the stuck event");
}

#[tokio::test]
async fn the_running_relay_delivers_promptly_when_signalled_and_stops_on_shutdown() {
    let database = temporary_database().await;
    let recorder = Recorder::new("recorder", &[PROJECT_CREATED]);
    let writer = OutboxWriter::new();
    // Polling alone would take a minute: only the signal can make delivery prompt.
    let relay = Relay::new(SqliteOutbox::new(database.clone()), &handlers(&[&recorder]), &writer)
        .with_retry_policy(patient_retries())
        .with_poll_interval(Duration::from_secs(60));
    let (shutdown, shutdown_receiver) = watch::channel(false);
    let running = tokio::spawn(async move { relay.run(shutdown_receiver).await });

    for aggregate in ["p1", "p2"] {
        let created = event(PROJECT_CREATED, aggregate);
        commit(&database, std::slice::from_ref(&created)).await;
        writer.signal().notify();
        eventually("the relay delivers the signalled event", || {
            let delivered = recorder.received_ids().contains(&created.id);
            async move { delivered }
        })
        .await;
    }

    shutdown.send(true).expect("the relay is listening");
    tokio::time::timeout(DEADLINE, running)
        .await
        .expect("the relay stops within the deadline")
        .expect("the relay task did not panic");
    assert_eq!(stats(&database).await, OutboxStats { pending: 0, dead: 0 });
}

#[tokio::test]
async fn the_running_relay_stops_when_the_shutdown_sender_is_gone() {
    let database = temporary_database().await;
    let relay = Relay::new(SqliteOutbox::new(database.clone()), &[], &OutboxWriter::new())
        .with_poll_interval(Duration::from_secs(60));
    let (shutdown, shutdown_receiver) = watch::channel(false);
    let running = tokio::spawn(async move { relay.run(shutdown_receiver).await });

    drop(shutdown);

    tokio::time::timeout(DEADLINE, running)
        .await
        .expect("the relay stops instead of spinning on a closed channel")
        .expect("the relay task did not panic");
}

/// A handler that blocks until released, to catch the relay mid-delivery.
#[derive(Debug)]
struct Gate {
    entered: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

impl EventHandler for Gate {
    fn name(&self) -> &'static str {
        "gate"
    }

    fn event_types(&self) -> &'static [&'static str] {
        &[PROJECT_CREATED]
    }

    fn handle<'a>(&'a self, _event: &'a EventEnvelope) -> HandlerFuture<'a> {
        Box::pin(async move {
            self.entered.notify_one();
            self.release.notified().await;
            Ok(())
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_the_delivery_in_flight_finish_before_the_relay_stops() {
    let database = temporary().await;
    commit(&database, &[event(PROJECT_CREATED, "1")]).await;
    let gate = Arc::new(Gate { entered: tokio::sync::Notify::new(), release: tokio::sync::Notify::new() });
    let handlers: Vec<Arc<dyn EventHandler>> = vec![Arc::clone(&gate) as Arc<dyn EventHandler>];
    let relay = Relay::new(SqliteOutbox::new(database.clone()), &handlers, &OutboxWriter::new());
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(async move { relay.run(stopped).await });

    tokio::time::timeout(DEADLINE, gate.entered.notified()).await.expect("the delivery starts");
    stop.send(true).expect("ask the relay to stop");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!running.is_finished(), "the relay waits for the delivery in flight");
    gate.release.notify_one();
    tokio::time::timeout(DEADLINE, running).await.expect("the relay stops").expect("no panic");

    let stats = SqliteOutbox::new(database.clone()).stats().await.expect("stats");
    assert_eq!(stats.pending, 0, "the finished delivery was recorded before stopping");
}

/// The relay's contract with what goes wrong, shared with PostgreSQL.
mod relay_contract {
    use taskdeck_kernel::{EventEnvelope, StoreError};
    use taskdeck_platform::BoxFuture;
    use taskdeck_platform::outbox::contract::ContractOutbox;
    use time::OffsetDateTime;

    use super::super::{SqliteOutbox, append};
    use crate::Timestamp;
    use crate::testing::{Temporary, temporary};

    impl ContractOutbox for SqliteOutbox {
        fn commit<'a>(&'a self, events: &'a [EventEnvelope]) -> BoxFuture<'a, Result<(), StoreError>> {
            Box::pin(async move {
                let transaction = self.database.begin_write().await?;
                append(transaction.connection(), events)?;
                transaction.commit()
            })
        }

        /// A payload that is not JSON.
        fn insert_undecodable<'a>(&'a self, aggregate_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
            Box::pin(async move {
                self.database
                    .write(|connection| {
                        connection.execute(
                            "INSERT INTO outbox (event_id, event_type, aggregate_type, aggregate_id, occurred_at, payload)
                             VALUES (randomblob(16), 'projects.TaskAdded.v1', 'project', ?, ?, '{\"truncated\": ')",
                            (aggregate_id, Timestamp(OffsetDateTime::now_utc())),
                        )
                    })
                    .await
                    .map(drop)
            })
        }
    }

    async fn fresh_outbox() -> Option<(SqliteOutbox, Temporary)> {
        let database = temporary().await;
        Some((SqliteOutbox::new((*database).clone()), database))
    }

    taskdeck_platform::outbox_relay_contract!(fresh_outbox);
}
