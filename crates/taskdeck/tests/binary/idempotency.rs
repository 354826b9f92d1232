//! Idempotency keys of the real binary: the recorded answer outlives a restart and a
//! `kill -9` right after the commit, and on PostgreSQL two instances answering 50
//! parallel repeats of one creation create exactly one task.

#![allow(clippy::print_stdout)] // the two-instance test prints its tally (run with --nocapture)

use axum::http::{HeaderValue, Method, StatusCode, header};
use serde_json::json;
use taskdeck_testkit::{Client, Reply};
use tokio::task::JoinSet;

use crate::support::{Server, ServerClient, TestBackend, TestDatabase, on_both_backends};

on_both_backends!(
    a_replay_after_a_restart_returns_the_stored_answer,
    a_replay_after_a_kill_right_after_the_commit_finds_the_key,
);

const TASK: &str = "Created exactly once";

async fn add_task_with_key(api: &Client, token: &str, project: i64, key: &'static str) -> Reply {
    let body = serde_json::to_vec(&json!({"name": TASK})).expect("JSON");
    let path = format!("/api/projects/{project}/tasks");
    let mut request = Client::build(Method::POST, &path, Some(token), Some(("application/json", body)));
    request.headers_mut().insert("Idempotency-Key", HeaderValue::from_static(key));
    api.send(request).await
}

async fn tasks_named(api: &Client, token: &str, project: i64) -> usize {
    let tasks = api.get(&format!("/api/projects/{project}/tasks?limit=500"), Some(token)).await.expect(200);
    tasks.body["tasks"].as_array().expect("tasks").iter().filter(|task| task["name"] == TASK).count()
}

fn assert_same_answer(replay: &Reply, first: &Reply) {
    assert_eq!(replay.status, StatusCode::CREATED, "{replay:?}");
    assert_eq!(replay.text, first.text, "the body, byte for byte");
    assert_eq!(replay.headers.get(header::LOCATION), first.headers.get(header::LOCATION));
    assert_eq!(replay.headers.get(header::ETAG), first.headers.get(header::ETAG));
    assert_eq!(replay.header("idempotent-replayed"), "true");
}

/// Creates a task with a key on a fresh server, stops the server with `stop`, starts
/// it again on the same database and repeats the request.
async fn replay_across(backend: TestBackend, stop: impl FnOnce(Server)) {
    let Some(database) = TestDatabase::new(backend).await else { return };
    let server = database.start();
    let api = server.client();
    let token = api.newcomer("restart@example.com").await;
    let project = api.starter_project(&token).await;

    let first = add_task_with_key(&api, &token, project, "survives-restarts").await.expect(201);
    stop(server);
    let server = database.start();
    let api = server.client();
    let replay = add_task_with_key(&api, &token, project, "survives-restarts").await;

    assert_same_answer(&replay, &first);
    assert_eq!(tasks_named(&api, &token, project).await, 1);
    let (status, log) = server.terminate();
    assert!(status.success(), "{}", log.text());
}

async fn a_replay_after_a_restart_returns_the_stored_answer(backend: TestBackend) {
    replay_across(backend, |server| {
        let (status, log) = server.terminate();
        assert!(status.success(), "{}", log.text());
    })
    .await;
}

async fn a_replay_after_a_kill_right_after_the_commit_finds_the_key(backend: TestBackend) {
    // The 201 leaves only after the commit; SIGKILL the moment it arrives.
    replay_across(backend, Server::kill_hard).await;
}

const REPEATS: usize = 50;

#[tokio::test(flavor = "multi_thread")]
async fn fifty_parallel_repeats_over_two_postgres_instances_create_exactly_one_task() {
    let Some(database) = TestDatabase::new(TestBackend::Postgres).await else { return };
    let instances =
        [Server::launch(database.serve()), Server::launch(database.serve())].map(|launched| launched.listening());
    let apis: Vec<Client> = instances.iter().map(Server::client).collect();
    let token = apis[0].newcomer("twoinstances@example.com").await;
    let project = apis[0].starter_project(&token).await;

    let mut repeats = JoinSet::new();
    for n in 0..REPEATS {
        let (api, token) = (apis[n % apis.len()].clone(), token.clone());
        repeats.spawn(async move { add_task_with_key(&api, &token, project, "one-key-two-instances").await });
    }
    let replies = repeats.join_all().await;

    let created: Vec<&Reply> = replies.iter().filter(|reply| reply.status == StatusCode::CREATED).collect();
    let in_progress = replies.iter().filter(|reply| reply.status == StatusCode::CONFLICT).count();
    assert_eq!(created.len() + in_progress, REPEATS, "only 201 and 409: {replies:#?}");
    assert!(created.iter().all(|reply| reply.text == created[0].text), "one answer for all");
    assert_eq!(created.iter().filter(|reply| reply.headers.get("idempotent-replayed").is_none()).count(), 1);
    for reply in replies.iter().filter(|reply| reply.status == StatusCode::CONFLICT) {
        assert_eq!(reply.body["type"], "urn:taskdeck:problem:idempotency-key-in-use", "{reply:?}");
    }
    assert_eq!(tasks_named(&apis[1], &token, project).await, 1, "exactly one task");
    let late = add_task_with_key(&apis[1], &token, project, "one-key-two-instances").await;
    assert_eq!(late.status, StatusCode::CREATED);
    assert_eq!(late.text, created[0].text);
    println!(
        "two instances, {REPEATS} parallel repeats of one key: {} answered 201 (1 created, {} replayed), {in_progress} answered 409",
        created.len(),
        created.len() - 1
    );
    for server in instances {
        let (status, log) = server.terminate();
        assert!(status.success(), "{}", log.text());
    }
}
