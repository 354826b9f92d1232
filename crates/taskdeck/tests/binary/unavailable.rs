//! Storage that is there but cannot take work now is a passing condition: answered
//! 503 with `Retry-After`, never 500, and `/ready` says so until it passes.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{PASSWORD, Server, database_path};

#[tokio::test(flavor = "multi_thread")]
async fn a_write_lock_held_by_another_process_is_503_with_retry_after_and_not_ready() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Server::start(dir.path());
    let api = server.client();
    api.register("busy@example.com", PASSWORD).await.expect(201);
    let token = api.token("busy@example.com", PASSWORD).await;
    assert_eq!(api.get("/ready", None).await.status, StatusCode::OK);

    // Another process (a backup script, an operator's sqlite3 shell) takes the write
    // lock and keeps it past the server's busy timeout.
    let other = rusqlite::Connection::open(database_path(dir.path())).expect("open the database file");
    other.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");

    let refused = api.post_json("/api/projects", Some(&token), &json!({"name": "Waiting for the lock"})).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE, "{refused:?}");
    assert!(refused.content_type().starts_with("application/problem+json"), "{refused:?}");
    assert_eq!(refused.body["type"], "urn:taskdeck:problem:unavailable");
    let wait: u64 = refused.header("retry-after").parse().expect("whole seconds");
    assert!(wait >= 1, "{refused:?}");
    let not_ready = api.get("/ready", None).await;
    assert_eq!(not_ready.status, StatusCode::SERVICE_UNAVAILABLE, "{not_ready:?}");
    assert!(not_ready.headers.get("retry-after").is_some(), "{not_ready:?}");
    // Reads never wait for the writer.
    api.get("/api/projects", Some(&token)).await.expect(200);

    other.execute_batch("ROLLBACK").expect("release the write lock");
    drop(other);
    api.post_json("/api/projects", Some(&token), &json!({"name": "After the lock"})).await.expect(201);
    assert_eq!(api.get("/ready", None).await.status, StatusCode::OK);

    let (status, log) = server.terminate();
    assert_eq!(status.code(), Some(0));
    let text = log.text();
    assert!(!text.contains("internal error"), "a passing condition is no fault:\n{text}");
    assert!(!text.contains("cannot roll back"), "{text}");
    assert!(text.contains("answered 503"), "the 503 is explained in the log:\n{text}");
}
