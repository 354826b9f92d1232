//! The real binary across restarts, stops and crashes, on SQLite and on PostgreSQL:
//! tokens and data survive a restart, an event written while no server ran is delivered
//! by the next one, a SIGTERM in the middle of a registration burst leaves every event
//! delivered whole or waiting, and a SIGKILL in the middle of one leaves every account
//! with exactly one starter project once a server runs again.

#![allow(clippy::print_stdout)] // the tests print their figures (run with --nocapture to see them)

use std::time::{Duration, Instant};

use crate::support::{
    PASSWORD, Registrations, STARTER_PROJECT, ServerClient, TestBackend, TestDatabase, eventually, on_both_backends,
    project_names,
};
use serde_json::json;
use taskdeck_accounts::application::{RegisterUser, erase_account, register_user};
use taskdeck_accounts::domain::PlainPassword;
use taskdeck_accounts_adapters::{AccountsBackend, Argon2Hasher};
use taskdeck_kernel::{EmailAddress, SystemClock, UserId};
use taskdeck_platform::outbox::OutboxWriter;
use taskdeck_platform_postgres::{PostgresDatabase, PostgresSettings};
use taskdeck_platform_sqlite::{SqliteDatabase, SqliteSettings};
use taskdeck_testkit::Client;
use tokio::task::JoinSet;

on_both_backends!(
    tokens_issued_before_a_restart_are_accepted_after_it_and_the_data_persists,
    a_registration_committed_while_no_server_ran_gets_its_starter_project_exactly_once_from_the_next_server,
    an_erasure_committed_while_no_server_ran_gets_its_projects_erased_exactly_once_by_the_next_server,
    a_sigterm_in_the_middle_of_a_registration_burst_leaves_every_event_delivered_whole_or_waiting,
    a_sigkill_in_the_middle_of_a_registration_burst_leaves_every_account_with_exactly_one_starter_project,
);

/// How long the outbox may take to drain after a restart. On PostgreSQL the events the
/// killed server had claimed stay reserved for the rest of its 30 s lease before the
/// new server may take them over; this leaves room for that and a loaded machine.
const SETTLE_DEADLINE: Duration = Duration::from_secs(75);

async fn tokens_issued_before_a_restart_are_accepted_after_it_and_the_data_persists(backend: TestBackend) {
    let Some(database) = TestDatabase::new(backend).await else { return };
    let first = database.start();
    let api = first.client();
    let token = api.newcomer("steady@example.com").await;
    api.starter_project(&token).await;
    let project = api.post_json("/api/projects", Some(&token), &json!({"name": "Survives restarts"})).await.expect(201);
    let project = project.body["id"].as_i64().expect("project id");
    api.post_json(&format!("/api/projects/{project}/tasks"), Some(&token), &json!({"name": "Still here"}))
        .await
        .expect(201);
    let (status, log) = first.terminate();
    assert!(status.success(), "the first server stopped with {status}:\n{}", log.text());

    let second = database.start();
    let api = second.client();
    let me = api.me(&token).await;
    assert_eq!(me["email"], "steady@example.com");
    assert_eq!(project_names(&me), [STARTER_PROJECT, "Survives restarts"]);
    let tasks = api.get(&format!("/api/projects/{project}/tasks"), Some(&token)).await.expect(200).body;
    assert_eq!(tasks["tasks"][0]["name"], "Still here");
    let fresh = api.token("steady@example.com", PASSWORD).await;
    api.get("/api/projects", Some(&fresh)).await.expect(200);
    assert!(
        api.get("/api/projects", Some("not-a-token")).await.expect(401).headers.contains_key("www-authenticate"),
        "a bad token is still refused after the restart"
    );
}

/// Registers through the application service on the backend's accounts store, as the
/// server would, but with nobody delivering the event.
async fn register_without_a_server(backend: &impl AccountsBackend, email: &str) -> UserId {
    let store = backend.accounts_store(&OutboxWriter::new());
    let hasher = Argon2Hasher::new(1).expect("hasher");
    let command = RegisterUser {
        email: EmailAddress::parse(email).expect("email"),
        password: PlainPassword::new(PASSWORD).expect("password"),
    };
    register_user(&store, &hasher, &SystemClock, command, None).await.expect("register without a server").id
}

/// Erases an account through the application service, as the server would, with
/// nobody delivering the event: the state a `kill -9` between the account's deletion and
/// the projects' erasure leaves behind.
async fn erase_without_a_server(backend: &impl AccountsBackend, user: UserId) {
    let store = backend.accounts_store(&OutboxWriter::new());
    let hasher = Argon2Hasher::new(1).expect("hasher");
    erase_account(&store, &hasher, &SystemClock, user, PASSWORD.to_owned()).await.expect("erase without a server");
}

async fn an_erasure_committed_while_no_server_ran_gets_its_projects_erased_exactly_once_by_the_next_server(
    backend: TestBackend,
) {
    let Some(database) = TestDatabase::new(backend).await else { return };
    let server = database.start();
    let api = server.client();
    let token = api.newcomer("leaving@example.com").await;
    let user: UserId = api.me(&token).await["id"].as_str().expect("id").parse().expect("a user id");
    api.starter_project(&token).await;
    let project = api.post_json("/api/projects", Some(&token), &json!({"name": "Left behind"})).await.expect(201);
    let project = project.body["id"].as_i64().expect("project id");
    api.post_json(&format!("/api/projects/{project}/tasks"), Some(&token), &json!({"name": "Forgotten"}))
        .await
        .expect(201);
    let (status, log) = server.terminate();
    assert!(status.success(), "{}", log.text());

    match backend {
        TestBackend::Sqlite => {
            let settings = SqliteSettings { path: crate::support::database_path(database.dir()), readers: 2 };
            let sqlite = SqliteDatabase::open(&settings).await.expect("open the database");
            erase_without_a_server(&sqlite, user).await;
            sqlite.close().await;
        }
        TestBackend::Postgres => {
            let settings = PostgresSettings::from_url(database.url()).expect("the test database's URL");
            let postgres = PostgresDatabase::connect(&settings).await.expect("connect");
            erase_without_a_server(&postgres, user).await;
            postgres.close().await;
        }
    }
    let inspector = database.inspect().await;
    assert_eq!(inspector.scalar("SELECT COUNT(*) FROM users").await, 0, "the account is gone at once");
    assert_eq!(inspector.scalar("SELECT COUNT(*) FROM projects").await, 2, "its projects wait for the event");
    assert_eq!(inspector.scalar("SELECT COUNT(*) FROM outbox").await, 1);

    let server = database.start();
    eventually(Duration::from_secs(10), "the projects of the erased account to be erased", || async {
        (inspector.scalar("SELECT COUNT(*) FROM projects").await == 0).then_some(())
    })
    .await;
    assert_eq!(inspector.scalar("SELECT COUNT(*) FROM tasks").await, 0);
    eventually(Duration::from_secs(5), "the delivered event to leave the outbox", || async {
        (inspector.scalar("SELECT COUNT(*) FROM outbox").await == 0).then_some(())
    })
    .await;
    let marks = "SELECT COUNT(*) FROM inbox WHERE consumer = 'projects.erase_projects_of_deleted_account'";
    assert_eq!(inspector.scalar(marks).await, 1, "handled once");
    server.client().get("/api/users/me", Some(&token)).await.expect(401);
    let (status, log) = server.terminate();
    assert!(status.success(), "{}", log.text());
}

async fn a_registration_committed_while_no_server_ran_gets_its_starter_project_exactly_once_from_the_next_server(
    backend: TestBackend,
) {
    let Some(database) = TestDatabase::new(backend).await else { return };
    // The same adapters the server wires, driven directly: the event is committed
    // to the outbox and nobody delivers it.
    let user = match backend {
        TestBackend::Sqlite => {
            let settings = SqliteSettings { path: crate::support::database_path(database.dir()), readers: 2 };
            let sqlite = SqliteDatabase::open(&settings).await.expect("open the database");
            let user = register_without_a_server(&sqlite, "offline@example.com").await;
            sqlite.close().await;
            user
        }
        TestBackend::Postgres => {
            let settings = PostgresSettings::from_url(database.url()).expect("the test database's URL");
            let postgres = PostgresDatabase::connect(&settings).await.expect("connect");
            let user = register_without_a_server(&postgres, "offline@example.com").await;
            postgres.close().await;
            user
        }
    };
    let inspector = database.inspect().await;
    assert_eq!(
        inspector.scalar("SELECT COUNT(*) FROM outbox").await,
        1,
        "the UserAccountCreated event waits in the outbox"
    );

    let server = database.start();
    let api = server.client();
    let token = api.token("offline@example.com", PASSWORD).await;
    let starter = api.starter_project(&token).await;
    let me = api.me(&token).await;
    assert_eq!(me["id"], user.to_string());
    assert_eq!(project_names(&me), [STARTER_PROJECT]);
    let tasks = api.get(&format!("/api/projects/{starter}/tasks"), Some(&token)).await.expect(200).body;
    assert_eq!(tasks["tasks"].as_array().map(Vec::len), Some(3), "{tasks}");

    eventually(Duration::from_secs(5), "the delivered event to leave the outbox", || async {
        (inspector.scalar("SELECT COUNT(*) FROM outbox").await == 0).then_some(())
    })
    .await;
    drop(inspector);
    let (status, log) = server.terminate();
    assert!(status.success(), "{status}:\n{}", log.text());

    // Once more, now that nothing is pending: still exactly one starter project.
    let server = database.start();
    let me = server.client().me(&token).await;
    assert_eq!(project_names(&me), [STARTER_PROJECT]);
    let stored = Registrations::read(&database).await;
    assert_eq!(stored.all_projects, 1, "{stored:#?}");
    assert_eq!(stored.inbox, 1, "one inbox mark for the one event: {stored:#?}");
}

const BURST: usize = 50;
/// The server is stopped once this many registrations have been answered.
const STOP_AFTER: usize = 10;

/// What became of a burst's registrations, as the clients saw it.
struct Burst {
    /// Emails answered 201.
    created: Vec<String>,
    /// Requests that got no answer (the server went away).
    dropped: usize,
    /// Answers received before the signal was sent.
    answered_before_signal: usize,
}

/// Fires `BURST` concurrent registrations and calls `stop` right after the
/// `STOP_AFTER`-th answer: close to the moment its event is being delivered.
async fn registration_burst(api: &Client, stop: impl FnOnce()) -> Burst {
    let (answers, mut answered) = tokio::sync::mpsc::unbounded_channel();
    let mut burst = JoinSet::new();
    for index in 0..BURST {
        let (api, answers) = (api.clone(), answers.clone());
        burst.spawn(async move {
            let email = format!("burst{index}@example.com");
            let status = api.try_register(&email, PASSWORD).await.map(|reply| reply.status.as_u16()).ok();
            let _ = answers.send(());
            (email, status)
        });
    }
    drop(answers);
    let mut answered_before_signal = 0;
    let first_answers = async {
        while answered_before_signal < STOP_AFTER && answered.recv().await.is_some() {
            answered_before_signal += 1;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), first_answers)
        .await
        .expect("the first registrations of the burst are answered within 60 s");
    stop();

    let mut created = Vec::new();
    let mut dropped = 0;
    while let Some(outcome) = burst.join_next().await {
        match outcome.expect("registration task") {
            (email, Some(201)) => created.push(email),
            (_, Some(status)) => panic!("a registration was answered {status}, not 201 or a dropped connection"),
            (_, None) => dropped += 1,
        }
    }
    Burst { created, dropped, answered_before_signal }
}

/// Restarts on the database, waits until every account has its starter project and the
/// outbox is empty, checks each answered registration through the API, and stops.
async fn restart_and_settle(database: &TestDatabase, created: &[String]) -> (Registrations, Duration) {
    let server = database.start();
    let started = Instant::now();
    let settled = eventually(SETTLE_DEADLINE, "every account's starter project after the restart", || async {
        let now = Registrations::read(database).await;
        now.settled().then_some(now)
    })
    .await;
    let settle_time = started.elapsed();
    let api = server.client();
    for email in created {
        let token = api.token(email, PASSWORD).await;
        let me = api.me(&token).await;
        assert_eq!(project_names(&me), [STARTER_PROJECT], "{email} has exactly one starter project");
    }
    let (status, log) = server.terminate();
    assert!(status.success(), "{status}:\n{}", log.text());
    let after = Registrations::read(database).await;
    assert_eq!(after.users, settled.users, "no account appeared or vanished after settling");
    (after, settle_time)
}

async fn a_sigterm_in_the_middle_of_a_registration_burst_leaves_every_event_delivered_whole_or_waiting(
    backend: TestBackend,
) {
    let Some(database) = TestDatabase::new(backend).await else { return };
    let server = database.start();
    let api = server.client();
    let burst = registration_burst(&api, || server.signal("TERM")).await;
    let (status, log) = server.finish();
    let text = log.text();
    assert_eq!(status.code(), Some(0), "SIGTERM ends taskdeck with status 0, not {status}:\n{text}");
    assert!(!text.contains("did not stop in time"), "the relay finished its pass within the grace period:\n{text}");
    let relay_stopped = log.lines().iter().position(|line| line.contains("outbox relay stopped"));
    let stopped = log.lines().iter().position(|line| line.ends_with(": stopped"));
    assert!(relay_stopped.is_some() && relay_stopped < stopped, "the relay stopped before the process did:\n{text}");

    // Stopped: every account's event was either delivered whole (one starter project
    // with its three tasks, event gone from the outbox) or still waits, untouched.
    let at_stop = Registrations::read(&database).await;
    let served = at_stop.starter_projects.len();
    assert!(at_stop.starter_projects.values().all(|&count| count == 1), "{at_stop:#?}");
    assert!(at_stop.tasks_per_project.iter().all(|&tasks| tasks == 3), "no half delivery: {at_stop:#?}");
    assert_eq!(
        i64::try_from(at_stop.users.len()).expect("count"),
        i64::try_from(served).expect("count") + at_stop.outbox,
        "each account is served or has its event waiting: {at_stop:#?}"
    );
    assert_eq!(at_stop.inbox, i64::try_from(served).expect("count"), "one inbox mark per delivery: {at_stop:#?}");
    assert!(at_stop.users.len() >= burst.created.len(), "every answered 201 is stored");

    let (after, _) = restart_and_settle(&database, &burst.created).await;
    after.assert_exactly_one_starter_project_each();
    println!(
        "[{backend:?}] SIGTERM burst: {BURST} registrations fired, {} answered before SIGTERM ({} with 201, \
         {} dropped); at exit: {} accounts, {served} starter projects, {} events waiting; after a restart: \
         {} accounts found, {} starter projects found",
        burst.answered_before_signal,
        burst.created.len(),
        burst.dropped,
        at_stop.users.len(),
        at_stop.outbox,
        after.users.len(),
        after.starter_project_count(),
    );
}

async fn a_sigkill_in_the_middle_of_a_registration_burst_leaves_every_account_with_exactly_one_starter_project(
    backend: TestBackend,
) {
    let Some(database) = TestDatabase::new(backend).await else { return };
    let server = database.start();
    let api = server.client();
    let mut server = Some(server);
    let burst = registration_burst(&api, || server.take().expect("the server").kill_hard()).await;

    let at_kill = Registrations::read(&database).await;
    assert!(at_kill.starter_projects.values().all(|&count| count == 1), "{at_kill:#?}");
    assert!(at_kill.tasks_per_project.iter().all(|&tasks| tasks == 3), "no half delivery: {at_kill:#?}");

    let (after, settle_time) = restart_and_settle(&database, &burst.created).await;
    after.assert_exactly_one_starter_project_each();
    assert!(after.users.len() >= burst.created.len(), "every answered 201 is stored");
    assert_eq!(after.inbox, i64::try_from(after.users.len()).expect("count"), "one inbox mark per account");
    println!(
        "[{backend:?}] kill -9 burst: {BURST} registrations fired, {} answered before SIGKILL ({} with 201, \
         {} dropped); in the database after the kill: {} accounts, {} starter projects, {} events pending; \
         after the restart (settled in {settle_time:.1?}): {} accounts found, {} starter projects found",
        burst.answered_before_signal,
        burst.created.len(),
        burst.dropped,
        at_kill.users.len(),
        at_kill.starter_project_count(),
        at_kill.outbox,
        after.users.len(),
        after.starter_project_count(),
    );
}
