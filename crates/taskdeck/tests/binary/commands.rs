//! The one-shot subcommands of the real binary: `migrate`, `seed` and `outbox` (on
//! SQLite and on PostgreSQL) and `openapi`.

use std::path::Path;
use std::process::Command;

use crate::support::{Finished, TestBackend, TestDatabase, on_both_backends, project_names, run_to_exit, taskdeck};
use serde_json::Value;
use taskdeck_testkit::Client;

on_both_backends!(
    migrate_then_seed_twice_gives_the_demo_user_the_sample_projects_once,
    outbox_reports_pending_and_dead_events_and_requeues_the_dead_ones,
);

fn run(dir: &Path, args: &[&str]) -> Finished {
    let mut command = taskdeck(dir);
    command.args(args);
    succeeds(command)
}

fn succeeds(command: Command) -> Finished {
    let described = format!("{command:?}");
    let finished = run_to_exit(command);
    assert!(finished.status.success(), "{described} failed: {finished:#?}");
    finished
}

/// Task names of a project and whether each is completed.
async fn tasks(api: &Client, token: &str, project: i64) -> Vec<(String, bool)> {
    let body = api.get(&format!("/api/projects/{project}/tasks"), Some(token)).await.expect(200).body;
    body["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|task| (task["name"].as_str().expect("name").to_owned(), task["completedAt"].is_string()))
        .collect()
}

fn named(tasks: &[(&str, bool)]) -> Vec<(String, bool)> {
    tasks.iter().map(|(name, done)| ((*name).to_owned(), *done)).collect()
}

async fn migrate_then_seed_twice_gives_the_demo_user_the_sample_projects_once(backend: TestBackend) {
    let Some(database) = TestDatabase::empty(backend).await else { return };
    succeeds(database.command(&["migrate"]));
    if backend == TestBackend::Sqlite {
        assert!(database.dir().join("taskdeck.db").exists(), "migrate creates the database file");
    }
    let inspector = database.inspect().await;
    for table in ["users", "projects", "tasks", "outbox", "inbox", "settings"] {
        let rows = inspector.scalar(&format!("SELECT COUNT(*) FROM {table}")).await;
        assert_eq!(rows, 0, "migrate creates the empty table {table}");
    }
    succeeds(database.command(&["migrate"]));
    succeeds(database.command(&["seed"]));
    succeeds(database.command(&["seed"]));
    assert_eq!(inspector.scalar("SELECT COUNT(*) FROM users").await, 1, "one demo user");
    assert_eq!(inspector.scalar("SELECT COUNT(*) FROM outbox").await, 0, "seed delivered its event");
    drop(inspector);

    let server = database.start();
    let api = server.client();
    let token = api.token("test@email.com", "password").await;
    let me = api.me(&token).await;
    assert_eq!(
        project_names(&me),
        ["My first project", "Software Engineering", "Learn Domain Driven Design", "Household"],
        "ordered by id, the deleted `Clean the house` absent, nothing seeded twice"
    );
    let listed = api.get("/api/projects", Some(&token)).await.expect(200).body;
    assert_eq!(project_names(&listed), project_names(&me));

    let ids: Vec<i64> =
        me["projects"].as_array().expect("projects").iter().map(|p| p["id"].as_i64().expect("id")).collect();
    assert_eq!(
        tasks(&api, &token, ids[0]).await,
        named(&[("Sign up!", true), ("Watch the tutorial", false), ("Start using our awesome app", false)])
    );
    assert_eq!(tasks(&api, &token, ids[1]).await, named(&[("Learn Python", true)]));
    assert_eq!(
        tasks(&api, &token, ids[2]).await,
        named(&[
            ("Learn Clean Architecture", false),
            ("Learn Event Sourcing", false),
            ("Learn CQRS", false),
            ("Read Domain Driven Design book", false),
        ])
    );
    assert_eq!(tasks(&api, &token, ids[3]).await, named(&[("Do the shopping", false), ("Clean the house", false)]));

    // The deleted project was created right after Household: it answers 404.
    let deleted = ids[3] + 1;
    api.get(&format!("/api/projects/{deleted}"), Some(&token)).await.expect(404);
    api.get(&format!("/api/projects/{deleted}/tasks"), Some(&token)).await.expect(404);
}

/// `taskdeck outbox [--requeue-dead]`: what it printed on stdout, line by line.
fn outbox(database: &TestDatabase, requeue: bool) -> Vec<String> {
    let mut args = vec!["outbox"];
    if requeue {
        args.push("--requeue-dead");
    }
    succeeds(database.command(&args)).stdout.lines().map(str::to_owned).collect()
}

async fn outbox_reports_pending_and_dead_events_and_requeues_the_dead_ones(backend: TestBackend) {
    let Some(database) = TestDatabase::new(backend).await else { return };
    succeeds(database.command(&["migrate"]));
    assert_eq!(outbox(&database, false), ["pending 0", "dead 0"]);

    // One pending event and two the relay gave up on. No server runs, so nothing
    // delivers them; the event type has no handler anyway.
    let (id, now, payload) = match backend {
        TestBackend::Sqlite => ("randomblob(16)", "'2026-01-01T00:00:00Z'", "'{}'"),
        TestBackend::Postgres => ("gen_random_uuid()", "now()", "'{}'::jsonb"),
    };
    let inspector = database.inspect().await;
    let insert = |dead: bool| {
        let dead_at = if dead { now } else { "NULL" };
        let attempts = if dead { 8 } else { 0 };
        format!(
            "INSERT INTO outbox (event_id, event_type, aggregate_type, aggregate_id, occurred_at, payload, \
             attempts, last_error, dead_at) \
             VALUES ({id}, 'OutboxProbe', 'Probe', 'probe', {now}, {payload}, {attempts}, NULL, {dead_at})"
        )
    };
    for dead in [false, true, true] {
        assert_eq!(inspector.execute(&insert(dead)).await, 1);
    }

    assert_eq!(outbox(&database, false), ["pending 1", "dead 2"]);
    assert_eq!(outbox(&database, true), ["requeued 2", "pending 3", "dead 0"]);
    let fresh = "SELECT COUNT(*) FROM outbox WHERE dead_at IS NULL AND attempts = 0";
    assert_eq!(inspector.scalar(fresh).await, 3, "requeued events start afresh");
    assert_eq!(outbox(&database, false), ["pending 3", "dead 0"]);
    assert_eq!(outbox(&database, true), ["requeued 0", "pending 3", "dead 0"]);
    drop(inspector);
}

#[test]
fn openapi_prints_an_openapi_3_document_and_touches_no_database() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let finished = run(dir.path(), &["openapi"]);
    let document: Value = serde_json::from_str(&finished.stdout).expect("stdout is one JSON document");
    let version = document["openapi"].as_str().expect("an openapi field");
    assert!(version.starts_with("3."), "OpenAPI 3.x, not {version}");
    assert!(document["paths"]["/api/users"].is_object(), "it describes the API");
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
    assert!(left.is_empty(), "openapi created files: {left:?}");
}
