//! PostgreSQL losing every connection of the server in the middle of a mixed load:
//! the requests caught in it are answered 503 with `Retry-After` (never 500, none left
//! hanging), taskdeck serves normally again within 5 s of the database's return without
//! a restart, and no write it acknowledged is lost.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::task::JoinSet;

use crate::support::{PASSWORD, TestBackend, TestDatabase, admin_execute};

/// How long the connections keep being cut.
const OUTAGE: Duration = Duration::from_secs(3);
/// No answer may take longer than the request timeout (30 s) and some slack.
const LONGEST_ANSWER: Duration = Duration::from_secs(35);
const WORKERS: usize = 6;

#[derive(Debug, Default)]
struct Seen {
    created: Vec<i64>,
    unavailable: usize,
    answered: usize,
}

#[tokio::test(flavor = "multi_thread")]
async fn cut_postgres_connections_are_503_and_taskdeck_recovers_without_losing_a_write() {
    let Some(database) = TestDatabase::new(TestBackend::Postgres).await else { return };
    let Some(admin_url) = taskdeck_testkit::postgres_test_url() else { return };
    let name = database.postgres_name().expect("a PostgreSQL database").to_owned();
    let server = database.start();
    let api = server.client();
    api.register("faults@example.com", PASSWORD).await.expect(201);
    let token = api.token("faults@example.com", PASSWORD).await;

    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = JoinSet::new();
    for worker in 0..WORKERS {
        let (api, token, stop) = (api.clone(), token.clone(), Arc::clone(&stop));
        workers.spawn(async move {
            let mut seen = Seen::default();
            let mut round = 0;
            while !stop.load(Ordering::Relaxed) {
                round += 1;
                let started = Instant::now();
                let reply = if round % 2 == 0 {
                    api.post_json("/api/projects", Some(&token), &json!({"name": format!("Load {worker}-{round}")}))
                        .await
                } else {
                    api.get("/api/projects?limit=5", Some(&token)).await
                };
                let took = started.elapsed();
                assert!(took < LONGEST_ANSWER, "an answer took {took:?}: {reply:?}");
                seen.answered += 1;
                match reply.status.as_u16() {
                    201 => seen.created.push(reply.body["id"].as_i64().expect("a project id")),
                    200 => {}
                    503 => {
                        assert!(reply.content_type().starts_with("application/problem+json"), "{reply:?}");
                        assert!(reply.headers.get("retry-after").is_some(), "503 without Retry-After: {reply:?}");
                        seen.unavailable += 1;
                    }
                    _ => panic!("during the outage only 2xx or 503 may come back: {reply:?}"),
                }
            }
            seen
        });
    }

    // Let the load settle, then cut every connection of the server again and again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let outage_began = Instant::now();
    let cut = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    );
    while outage_began.elapsed() < OUTAGE {
        admin_execute(&admin_url, &cut).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let back = Instant::now();

    // Within 5 s of the database's return, every request succeeds again.
    let recovered = loop {
        let reads = api.get("/api/projects?limit=5", Some(&token)).await;
        let write = api.post_json("/api/projects", Some(&token), &json!({"name": "After the outage"})).await;
        if reads.status.as_u16() == 200 && write.status.as_u16() == 201 {
            break back.elapsed();
        }
        assert!(back.elapsed() < Duration::from_secs(5), "not serving 5 s after the outage: {reads:?} {write:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stop.store(true, Ordering::Relaxed);
    let mut created = BTreeSet::new();
    let (mut unavailable, mut answered) = (0, 0);
    while let Some(seen) = workers.join_next().await {
        let seen = seen.expect("a load worker");
        created.extend(seen.created);
        unavailable += seen.unavailable;
        answered += seen.answered;
    }
    assert!(unavailable > 0, "the outage was felt ({answered} answers, none 503): cut nothing?");

    // Every acknowledged project is there.
    let mut listed = BTreeSet::new();
    let mut next = Some("/api/projects?limit=100".to_owned());
    while let Some(path) = next {
        let page = api.get(&path, Some(&token)).await.expect(200);
        listed.extend(page.body["projects"].as_array().expect("projects").iter().filter_map(|p| p["id"].as_i64()));
        next = page.body["nextCursor"].as_str().map(|cursor| format!("/api/projects?limit=100&cursor={cursor}"));
    }
    let lost: Vec<&i64> = created.difference(&listed).collect();
    assert!(lost.is_empty(), "acknowledged projects lost: {lost:?}");
    let (status, log) = server.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
    let text = log.text();
    assert!(!text.contains("internal error"), "a lost connection is no fault of the request:\n{text}");
    assert!(recovered < Duration::from_secs(5));
}
