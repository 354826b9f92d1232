//! Several `taskdeck serve` processes on one PostgreSQL database, and `serve` facing a
//! PostgreSQL server that is not there: not yet, never, or no longer.
//!
//! Instances started at once migrate once and agree on one generated signing key, so a
//! token of one is accepted by all; concurrent task creations spread over instances get
//! gap-free numbers; every instance runs a relay, yet each registration gets exactly
//! one starter project. These need `TASKDECK_TEST_POSTGRES_URL` and print SKIPPED
//! without it, except the unreachable-server test, which needs no server at all.

#![allow(clippy::print_stdout)] // the tests print their figures (run with --nocapture to see them)

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use taskdeck_testkit::Client;

use crate::support::{
    Launched, PASSWORD, Registrations, STARTER_PROJECT, Server, ServerClient, TestBackend, TestDatabase, admin_execute,
    eventually, project_names, run_to_exit, taskdeck,
};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

const INSTANCES: usize = 3;
/// Connections per instance (the default is 10). Three instances of two tests at a
/// time, next to the other suites sharing the server, stay well under PostgreSQL's
/// default `max_connections` of 100; a smaller pool only makes requests queue more.
const POOL_SIZE: &str = "5";

/// `taskdeck serve` on a free port and the test's database, with a small pool.
fn instance(database: &TestDatabase) -> Command {
    let mut command = database.serve();
    command.args(["--database-pool-size", POOL_SIZE]);
    command
}

/// Launches every instance before waiting for any, so they start at the same time:
/// they race to apply migrations and to generate the signing key.
fn start_instances(database: &TestDatabase) -> Vec<Server> {
    let launched: Vec<Launched> = (0..INSTANCES).map(|_| Server::launch(instance(database))).collect();
    launched.into_iter().map(Launched::listening).collect()
}

/// Every instance's log, for failure messages.
fn logs(servers: &[Server]) -> String {
    servers
        .iter()
        .enumerate()
        .map(|(index, server)| format!("--- instance {index}:\n{}\n", server.log.text()))
        .collect()
}

/// Stops every instance with SIGTERM and expects each to exit 0.
fn stop_all(servers: Vec<Server>) {
    for (index, server) in servers.into_iter().enumerate() {
        let (status, log) = server.terminate();
        assert_eq!(status.code(), Some(0), "instance {index} stopped with {status}:\n{}", log.text());
    }
}

/// Lines of any instance that report a failed delivery or a relay without its outbox.
fn relay_troubles(servers: &[Server]) -> Vec<String> {
    servers
        .iter()
        .flat_map(|server| server.log.lines())
        .filter(|line| line.contains("event delivery failed") || line.contains("relay cannot reach the outbox"))
        .collect()
}

const ROUNDS: usize = 3;

#[tokio::test(flavor = "multi_thread")]
async fn postgres_instances_started_at_once_on_an_empty_database_agree_on_one_key_and_accept_each_others_tokens() {
    for round in 1..=ROUNDS {
        // Empty: the instances race to apply the migrations too, not only for the key.
        let Some(database) = TestDatabase::empty(TestBackend::Postgres).await else { return };
        let servers = start_instances(&database);
        let apis: Vec<Client> = servers.iter().map(Server::client).collect();

        // A token issued by each instance (registered on the previous one)…
        let mut tokens = Vec::new();
        for (issuer, api) in apis.iter().enumerate() {
            let email = format!("round{round}.instance{issuer}@example.com");
            apis[(issuer + INSTANCES - 1) % INSTANCES].register(&email, PASSWORD).await.expect(201);
            tokens.push((issuer, email.clone(), api.token(&email, PASSWORD).await));
        }
        // …is accepted by every instance.
        for (issuer, email, token) in &tokens {
            for (index, api) in apis.iter().enumerate() {
                let me = api.get("/api/users/me", Some(token)).await;
                assert_eq!(
                    me.status.as_u16(),
                    200,
                    "round {round}: instance {index} refused the token issued by instance {issuer}: {me:?}\n{}",
                    logs(&servers)
                );
                assert_eq!(me.body["email"], email.as_str());
            }
        }

        let inspector = database.inspect().await;
        let keys = inspector.scalar("SELECT COUNT(*) FROM signing_keys").await;
        assert_eq!(keys, 1, "one stored signing key");
        let migrations = inspector.scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").await;
        let applied = inspector.scalar("SELECT COUNT(DISTINCT version) FROM _sqlx_migrations").await;
        assert_eq!(migrations, applied, "every migration applied once and successfully");
        drop(inspector);
        stop_all(servers);
        println!(
            "round {round}: {INSTANCES} instances started at once on an empty database; {applied} migrations \
             applied once, {keys} signing key stored, {} of {} cross-instance token checks passed",
            tokens.len() * INSTANCES,
            tokens.len() * INSTANCES
        );
    }
}

const TASKS: usize = 100;

#[tokio::test(flavor = "multi_thread")]
async fn postgres_one_hundred_task_creations_spread_over_three_instances_get_numbers_1_to_100() {
    let Some(database) = TestDatabase::new(TestBackend::Postgres).await else { return };
    let servers = start_instances(&database);
    let apis: Vec<Client> = servers.iter().map(Server::client).collect();
    let token = apis[0].newcomer("busy@example.com").await;
    let project = apis[1].post_json("/api/projects", Some(&token), &json!({"name": "Busy project"})).await.expect(201);
    let project = project.body["id"].as_i64().expect("project id");

    let mut requests = JoinSet::new();
    for index in 0..TASKS {
        let (api, token) = (apis[index % INSTANCES].clone(), token.clone());
        requests.spawn(async move {
            let path = format!("/api/projects/{project}/tasks");
            (
                index % INSTANCES,
                api.post_json(&path, Some(&token), &json!({"name": format!("Task number {index}")})).await,
            )
        });
    }
    let mut numbers = Vec::new();
    let mut per_instance = BTreeMap::new();
    while let Some(outcome) = requests.join_next().await {
        let (instance, reply) = outcome.expect("request task");
        assert_eq!(reply.status.as_u16(), 201, "instance {instance}: {reply:?}\n{}", logs(&servers));
        let number = reply.body["number"].as_i64().expect("number");
        assert_eq!(reply.header("location"), format!("/api/projects/{project}/tasks/{number}"));
        numbers.push(number);
        *per_instance.entry(instance).or_insert(0) += 1;
    }
    numbers.sort_unstable();
    let expected: Vec<i64> = (1..=100).collect();
    assert_eq!(numbers, expected, "numbers 1 to 100, each once");

    for (index, api) in apis.iter().enumerate() {
        let listed = api.get(&format!("/api/projects/{project}/tasks"), Some(&token)).await.expect(200).body;
        let listed: Vec<i64> = listed["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .map(|task| task["number"].as_i64().expect("number"))
            .collect();
        assert_eq!(listed, expected, "instance {index} lists tasks 1 to 100 in order");
    }
    let inspector = database.inspect().await;
    let stored = |query: &str| format!("{query} WHERE project_id = {project}");
    let rows = inspector.scalar(&stored("SELECT COUNT(*) FROM tasks")).await;
    let distinct = inspector.scalar(&stored("SELECT COUNT(DISTINCT number) FROM tasks")).await;
    let highest = inspector.scalar(&stored("SELECT MAX(number) FROM tasks")).await;
    let last = inspector.scalar(&format!("SELECT last_task_number FROM projects WHERE id = {project}")).await;
    let incomplete = inspector.scalar(&format!("SELECT incomplete_tasks FROM projects WHERE id = {project}")).await;
    assert_eq!(
        (rows, distinct, highest, last, incomplete),
        (100, 100, 100, 100, 100),
        "rows, distinct numbers, highest, last_task_number, incomplete_tasks"
    );
    drop(inspector);
    stop_all(servers);
    println!(
        "{TASKS} concurrent task creations over {INSTANCES} instances (per instance: {per_instance:?}): \
         all 201, numbers {}..={}, {rows} rows, {distinct} distinct numbers",
        numbers[0],
        numbers[numbers.len() - 1]
    );
}

const REGISTRATIONS: usize = 30;

#[tokio::test(flavor = "multi_thread")]
async fn postgres_registrations_spread_over_three_instances_each_running_a_relay_get_exactly_one_starter_project() {
    let Some(database) = TestDatabase::new(TestBackend::Postgres).await else { return };
    let servers = start_instances(&database);
    let apis: Vec<Client> = servers.iter().map(Server::client).collect();

    let mut registrations = JoinSet::new();
    for index in 0..REGISTRATIONS {
        let api = apis[index % INSTANCES].clone();
        registrations.spawn(async move {
            let email = format!("spread{index}@example.com");
            (index, email.clone(), api.register(&email, PASSWORD).await)
        });
    }
    let mut emails = Vec::new();
    while let Some(outcome) = registrations.join_next().await {
        let (index, email, reply) = outcome.expect("registration task");
        assert_eq!(reply.status.as_u16(), 201, "registration {index}: {reply:?}\n{}", logs(&servers));
        emails.push((index, email));
    }
    emails.sort();

    // Each user, seen from the two instances that did not register them.
    let started = Instant::now();
    for (index, email) in &emails {
        let token = apis[(index + 1) % INSTANCES].token(email, PASSWORD).await;
        let api = &apis[(index + 2) % INSTANCES];
        api.starter_project(&token).await;
        assert_eq!(project_names(&api.me(&token).await), [STARTER_PROJECT], "{email}");
    }
    let settled = eventually(Duration::from_secs(20), "the outbox to drain", || async {
        let now = Registrations::read(&database).await;
        now.settled().then_some(now)
    })
    .await;
    let settle_time = started.elapsed();
    assert_eq!(relay_troubles(&servers), Vec::<String>::new(), "\n{}", logs(&servers));
    stop_all(servers);

    // Stopped: nothing can change any more.
    let after = Registrations::read(&database).await;
    assert_eq!(after, settled, "nothing changed after the outbox drained");
    after.assert_exactly_one_starter_project_each();
    assert_eq!(after.users.len(), REGISTRATIONS, "{after:#?}");
    assert_eq!(after.starter_project_count(), i64::try_from(REGISTRATIONS).expect("count"));
    assert_eq!(after.inbox, i64::try_from(REGISTRATIONS).expect("count"), "one inbox mark per event");
    println!(
        "{REGISTRATIONS} registrations over {INSTANCES} instances, each running a relay: {} accounts found, \
         {} starter projects found (max per account {}), {} tasks, {} inbox marks, {} events left in the outbox; \
         all starter projects visible within {settle_time:.1?}",
        after.users.len(),
        after.starter_project_count(),
        after.starter_projects.values().max().copied().unwrap_or(0),
        after.tasks_per_project.iter().sum::<i64>(),
        after.inbox,
        after.outbox
    );
}

#[test]
fn serve_gives_up_on_an_unreachable_postgres_after_retrying_with_a_one_line_reason() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut command = taskdeck(dir.path());
    command.args(["serve", "--bind", "127.0.0.1:0", "--database-url", "postgres://postgres@127.0.0.1:1/x"]);
    command.args(["--database-connect-timeout", "2"]);
    let finished = run_to_exit(command);
    assert!(!finished.status.success(), "serve must not start: {finished:#?}");
    let lines = finished.stderr_lines();
    let reasons: Vec<&&str> = lines.iter().filter(|line| line.contains("unreachable")).collect();
    assert_eq!(reasons.len(), 1, "one line says the database is unreachable; stderr:\n{}", finished.stderr);
    assert!(reasons[0].contains("error") && reasons[0].contains("127.0.0.1:1/x"), "{}", reasons[0]);
    assert_eq!(lines.last(), reasons.first().copied(), "the reason is the last line:\n{}", finished.stderr);
    let retries = lines.iter().filter(|line| line.contains("not reachable yet")).count();
    assert!(retries >= 2, "it retried before giving up:\n{}", finished.stderr);
    assert!(!finished.stderr.contains("listening on"), "{}", finished.stderr);
}

/// `(before, HOST:PORT, after)` of a `postgres://USER@HOST[:PORT]/DB` URL, the port
/// defaulting to 5432.
fn split_host(url: &str) -> (String, String, String) {
    let authority_start = url.find("://").expect("a URL scheme") + 3;
    let path_start = authority_start + url[authority_start..].find('/').expect("a /DB in the URL");
    let host_start = url[authority_start..path_start].rfind('@').map_or(authority_start, |at| authority_start + at + 1);
    let host = &url[host_start..path_start];
    let host = if host.contains(':') { host.to_owned() } else { format!("{host}:5432") };
    (url[..host_start].to_owned(), host, url[path_start..].to_owned())
}

/// Forwards every connection accepted on `listener` to `upstream`, both ways.
async fn forward(listener: TcpListener, upstream: String) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else { return };
        let upstream = upstream.clone();
        tokio::spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_serve_started_before_its_database_is_reachable_comes_up_once_it_is() {
    let Some(database) = TestDatabase::new(TestBackend::Postgres).await else { return };
    let (before, upstream, after) = split_host(database.url());
    // A port that nothing listens on for now; the proxy takes it later.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port();
    let proxied_url = format!("{before}127.0.0.1:{port}{after}");
    let mut command = taskdeck(database.dir());
    command.args(["serve", "--bind", "127.0.0.1:0", "--database-url", &proxied_url]);
    command.args(["--database-connect-timeout", "20"]);
    let launched_at = Instant::now();
    let launched = Server::launch(command);

    tokio::time::sleep_until((launched_at + Duration::from_millis(1500)).into()).await;
    assert_eq!(launched.log.count("listening on"), 0, "no database yet:\n{}", launched.log.text());
    assert_eq!(launched.log.count("taskdeck: error"), 0, "still trying:\n{}", launched.log.text());
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap_or_else(|error| panic!("cannot take port {port} back for the proxy: {error}"));
    let proxy = tokio::spawn(forward(listener, upstream));

    // Blocking waits run off the runtime's workers, which the proxy needs.
    let server = tokio::task::spawn_blocking(move || launched.listening()).await.expect("wait for the server");
    let api = server.client();
    api.get("/ready", None).await.expect(200);
    let token = api.newcomer("late@example.com").await;
    api.starter_project(&token).await;
    let retries = server.log.count("not reachable yet");

    let (status, log) = tokio::task::spawn_blocking(move || server.terminate()).await.expect("stop the server");
    assert_eq!(status.code(), Some(0), "{status}:\n{}", log.text());
    proxy.abort();
    println!(
        "serve started 1.5 s before its database was reachable ({retries} retry warnings logged), came up once \
         the proxy listened, /ready 200, starter project delivered"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_ready_answers_503_while_the_database_is_gone_and_200_once_it_is_back() {
    let Some(database) = TestDatabase::new(TestBackend::Postgres).await else { return };
    let Some(admin_url) = taskdeck_testkit::postgres_test_url() else { return };
    let name = database.postgres_name().expect("a PostgreSQL database").to_owned();
    let server = database.start();
    let api = server.client();
    let ready = || async { api.get("/ready", None).await };
    ready().await.expect(200);

    admin_execute(&admin_url, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
    let gone = eventually(Duration::from_secs(30), "/ready to answer 503", || async {
        let reply = ready().await;
        (reply.status.as_u16() == 503).then_some(reply)
    })
    .await;
    assert_eq!(gone.header("content-type"), "application/problem+json", "{gone:?}");
    assert_eq!(gone.body["status"], 503, "{gone:?}");
    api.get("/health", None).await.expect(200);

    // It comes back as an operator restores it: created and migrated. Readiness
    // proves a write to one of its tables, so an empty database would not be ready.
    admin_execute(&admin_url, &format!("CREATE DATABASE {name}")).await;
    assert_eq!(ready().await.status.as_u16(), 503, "a database without its tables takes no write");
    let migrated = run_to_exit(database.command(&["migrate"]));
    assert!(migrated.status.success(), "{migrated:?}");
    eventually(Duration::from_secs(30), "/ready to answer 200 again", || async {
        (ready().await.status.as_u16() == 200).then_some(())
    })
    .await;
    let (status, log) = server.terminate();
    assert_eq!(status.code(), Some(0), "{status}:\n{}", log.text());
}
