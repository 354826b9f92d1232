//! `taskdeck backup PATH`: copies of a SQLite database taken while `serve` writes to
//! it, restored by starting a server on them; and the PostgreSQL answer.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use taskdeck_testkit::Client;
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use crate::support::{Finished, Server, ServerClient, TestBackend, TestDatabase, database_path, run_to_exit, taskdeck};

/// Projects acknowledged (201) so far: id → name.
type Acknowledged = Arc<Mutex<BTreeMap<i64, String>>>;

/// `taskdeck backup DESTINATION` of the database file `database`.
fn back_up(database: &Path, destination: &Path, extra: &[&str]) -> Finished {
    let mut command = taskdeck(destination.parent().expect("a directory"));
    let url = format!("sqlite://{}", database.display());
    command.args(["backup", "--database-url", &url]).arg(destination).args(extra);
    run_to_exit(command)
}

/// Every acknowledged project is there, by id and name, for the token of before.
async fn assert_restored(copy_dir: &Path, token: &str, acknowledged: &BTreeMap<i64, String>, which: &str) {
    let restored = Server::start(copy_dir);
    let api = restored.client();
    for (id, name) in acknowledged {
        let project = api.get(&format!("/api/projects/{id}"), Some(token)).await;
        assert_eq!(project.status, 200, "{which}: project {id} acknowledged before the backup is missing");
        assert_eq!(project.body["name"], name.as_str(), "{which}: project {id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_taken_while_serve_writes_hold_every_write_acknowledged_before_them() {
    let live = tempfile::tempdir().expect("dir");
    let server = Server::start(live.path());
    let api = server.client();
    let token = api.newcomer("backed-up@example.com").await;
    api.starter_project(&token).await;

    let acknowledged: Acknowledged = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = JoinSet::new();
    for writer in 0..4 {
        let (api, token, acknowledged, stop) =
            (Client::at(&server.base), token.clone(), Arc::clone(&acknowledged), Arc::clone(&stop));
        writers.spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let name = format!("writer {writer} project {n}");
                let created = api.post_json("/api/projects", Some(&token), &json!({ "name": name })).await.expect(201);
                acknowledged.lock().await.insert(created.body["id"].as_i64().expect("id"), name);
            }
        });
    }

    let mut during = Vec::new();
    for round in 0..3 {
        // Some writes between two backups, whatever the machine's speed.
        let wanted = (round + 1) * 100;
        while acknowledged.lock().await.len() < wanted {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let before = acknowledged.lock().await.clone();
        let copy = tempfile::tempdir().expect("dir");
        let (source, destination) = (database_path(live.path()), copy.path().join("taskdeck.db"));
        let finished = tokio::task::spawn_blocking(move || back_up(&source, &destination, &[])).await.expect("ran");
        assert!(finished.status.success(), "backup {round} under load: {finished:#?}");
        assert!(finished.stdout.starts_with("wrote "), "{finished:#?}");
        let after = acknowledged.lock().await.len();
        assert!(after > before.len(), "the writers went on while backup {round} ran");
        during.push((copy, before));
    }
    stop.store(true, Ordering::Relaxed);
    while let Some(writer) = writers.join_next().await {
        writer.expect("a writer");
    }
    let everything = acknowledged.lock().await.clone();
    let last = tempfile::tempdir().expect("dir");
    let finished = back_up(&database_path(live.path()), &last.path().join("taskdeck.db"), &[]);
    assert!(finished.status.success(), "the backup once writes stopped: {finished:#?}");
    drop(server);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(last.path().join("taskdeck.db")).expect("copy").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the copy holds the signing keys: {mode:o}");
    }
    for (round, (copy, before)) in during.iter().enumerate() {
        assert_restored(copy.path(), &token, before, &format!("backup {round} under load")).await;
    }
    assert_restored(last.path(), &token, &everything, "the last backup").await;
    println!("{} projects written during the backups, all in the last copy", everything.len());
}

#[tokio::test]
async fn a_backup_never_replaces_a_file_unless_forced() {
    let live = TestDatabase::new(TestBackend::Sqlite).await.expect("SQLite needs no server");
    let destination = live.dir().join("copy.db");
    std::fs::write(&destination, "yesterday's backup").expect("writes");

    let refused = back_up(&database_path(live.dir()), &destination, &[]);
    assert!(!refused.status.success(), "{refused:#?}");
    assert!(refused.stderr.contains("pass --force"), "{refused:#?}");
    assert_eq!(std::fs::read_to_string(&destination).expect("reads"), "yesterday's backup");

    let forced = back_up(&database_path(live.dir()), &destination, &["--force"]);
    assert!(forced.status.success(), "{forced:#?}");
    assert!(std::fs::read(&destination).expect("reads").starts_with(b"SQLite format 3\0"), "now a database");

    let missing = back_up(&live.dir().join("nowhere.db"), &live.dir().join("other.db"), &[]);
    assert!(!missing.status.success() && missing.stderr.contains("no SQLite database"), "{missing:#?}");
    assert!(!live.dir().join("nowhere.db").exists(), "a backup creates no database");
    assert!(!live.dir().join("other.db").exists(), "nor a copy of nothing");
}

#[test]
fn on_postgresql_backup_points_to_pg_dump_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let mut command = taskdeck(dir.path());
    // Refused before connecting: no server needs to listen there.
    command.args(["backup", "--database-url", "postgres://taskdeck@127.0.0.1:1/taskdeck", "copy.dump"]);
    let finished = run_to_exit(command);
    assert!(!finished.status.success(), "{finished:#?}");
    assert!(finished.stderr.contains("pg_dump --format=custom"), "{finished:#?}");
    assert!(std::fs::read_dir(dir.path()).expect("lists").next().is_none(), "nothing written");
}
