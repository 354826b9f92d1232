//! The process contract of `taskdeck serve`: graceful stop on SIGTERM and SIGINT,
//! in-flight requests answered during the stop, bad configuration refused with a
//! one-line reason, and configuration from environment variables with flags winning.

use std::net::TcpListener;
use std::time::Duration;

use crate::support::{PASSWORD, Server, database_url, run_to_exit, serve, taskdeck};
use serde_json::json;
use tokio::task::JoinSet;

fn stops_gracefully_on(signal: &str, announcement: &str) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Server::start(dir.path());
    server.signal(signal);
    let mut server = server;
    let status = server.wait_exit(crate::support::EXIT_DEADLINE);
    let log = server.log.text();
    assert_eq!(status.code(), Some(0), "SIG{signal} ends taskdeck with status 0, not {status}:\n{log}");
    assert!(log.contains(announcement), "the log names the signal ({announcement:?}):\n{log}");
    assert!(server.log.lines().last().is_some_and(|line| line.ends_with(": stopped")), "a last `stopped` line:\n{log}");
}

#[test]
fn sigterm_stops_the_server_with_status_0_and_a_stop_line() {
    stops_gracefully_on("TERM", "SIGTERM received");
}

#[test]
fn sigint_stops_the_server_with_status_0_and_a_stop_line() {
    stops_gracefully_on("INT", "Ctrl-C received");
}

const LOGINS: usize = 12;

#[tokio::test(flavor = "multi_thread")]
async fn requests_in_flight_when_sigterm_arrives_still_get_their_answers() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut command = serve(dir.path());
    // Each request logs `received` at debug as it comes in: proof a request is in.
    command.env("RUST_LOG", "info,taskdeck::request=debug");
    let server = Server::spawn(command);
    let api = server.client();
    // One account per login: more than five logins in flight for one account count as
    // failures until they succeed, and would be throttled.
    for index in 0..LOGINS {
        api.register(&format!("inflight{index}@example.com"), PASSWORD).await.expect(201);
    }

    // Each login runs a deliberately slow password hash, a few at a time.
    let mut logins = JoinSet::new();
    for index in 0..LOGINS {
        let api = api.clone();
        logins.spawn(async move { api.login_form(&format!("inflight{index}@example.com"), PASSWORD).await });
    }
    let started = |line: &str| line.contains("/api/users/login") && line.contains("received");
    crate::support::eventually(Duration::from_secs(30), "every login to reach the server", || async {
        (server.log.lines().iter().filter(|line| started(line)).count() >= LOGINS).then_some(())
    })
    .await;
    server.signal("TERM");

    while let Some(reply) = logins.join_next().await {
        let reply = reply.expect("login task").expect(200);
        assert!(reply.body["access_token"].is_string(), "{reply:?}");
    }
    let (status, log) = server.finish();
    let lines = log.lines();
    assert_eq!(status.code(), Some(0), "{status}:\n{}", log.text());
    let term = lines.iter().position(|line| line.contains("SIGTERM received")).expect("a SIGTERM line");
    let finished_after =
        lines[term..].iter().filter(|line| line.contains("/api/users/login") && line.contains("answered")).count();
    assert!(finished_after >= 1, "at least one login was still running at SIGTERM:\n{}", log.text());
}

/// Runs `serve` with the given arguments and expects a non-zero exit with exactly one
/// line of reason on stderr that contains `reason`.
fn refuses(args: &[&str], reason: &str) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut command = taskdeck(dir.path());
    command.arg("serve").args(args);
    let finished = run_to_exit(command);
    assert!(!finished.status.success(), "{args:?} must not start: {finished:?}");
    let lines = finished.stderr_lines();
    let reasons: Vec<&&str> = lines.iter().filter(|line| line.contains(reason)).collect();
    assert_eq!(reasons.len(), 1, "one line names the reason {reason:?} for {args:?}; stderr:\n{}", finished.stderr);
    assert!(reasons[0].contains("error"), "the line says it is an error: {}", reasons[0]);
    let others: Vec<&&str> = lines
        .iter()
        .filter(|line| !line.contains(reason) && !line.starts_with("For more information, try '--help'"))
        .collect();
    assert!(others.is_empty(), "nothing but the reason on stderr for {args:?}: {others:?}");
}

#[test]
fn an_unknown_database_scheme_is_refused_with_a_one_line_reason() {
    refuses(&["--bind", "127.0.0.1:0", "--database-url", "mysql://x"], "mysql://x");
}

#[test]
fn an_empty_sqlite_path_is_refused_with_a_one_line_reason() {
    refuses(&["--bind", "127.0.0.1:0", "--database-url", "sqlite://"], "malformed SQLite URL");
}

#[test]
fn a_database_in_a_missing_directory_is_refused_with_a_one_line_reason() {
    refuses(&["--bind", "127.0.0.1:0", "--database-url", "sqlite:///nonexistent/dir/x.db"], "/nonexistent/dir/x.db");
}

#[test]
fn a_port_in_use_is_refused_with_a_one_line_reason() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let taken = TcpListener::bind("127.0.0.1:0").expect("hold a port");
    let address = taken.local_addr().expect("address").to_string();
    let url = database_url(dir.path());
    refuses(&["--bind", &address, "--database-url", &url], &format!("cannot listen on {address}"));
    drop(taken);
}

#[test]
fn a_short_jwt_secret_is_refused_with_a_one_line_reason() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = database_url(dir.path());
    refuses(&["--bind", "127.0.0.1:0", "--database-url", &url, "--jwt-secret", "too short"], "at least 32 characters");
}

#[test]
fn a_missing_or_unusable_signing_key_file_or_one_next_to_a_secret_is_refused_with_a_one_line_reason() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = database_url(dir.path());
    let missing = dir.path().join("missing.pem").display().to_string();
    refuses(&["--bind", "127.0.0.1:0", "--database-url", &url, "--signing-key-file", &missing], "missing.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a key").expect("write");
    let garbage = garbage.display().to_string();
    refuses(&["--bind", "127.0.0.1:0", "--database-url", &url, "--signing-key-file", &garbage], "garbage.pem");
    let secret = "a configured secret of 32 bytes!!";
    let both =
        ["--bind", "127.0.0.1:0", "--database-url", &url, "--signing-key-file", &garbage, "--jwt-secret", secret];
    refuses(&both, "not both");
}

#[test]
fn a_zero_token_lifetime_is_refused_with_a_one_line_reason() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = database_url(dir.path());
    refuses(&["--bind", "127.0.0.1:0", "--database-url", &url, "--access-token-ttl", "0"], "--access-token-ttl");
}

#[test]
fn a_malformed_login_rate_or_trusted_proxy_list_is_refused_with_a_one_line_reason() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = database_url(dir.path());
    for rate in ["0/1", "20", "20/0", "twenty/1"] {
        refuses(&["--bind", "127.0.0.1:0", "--database-url", &url, "--login-rate", rate], "is not a rate");
    }
    let proxies = ["--bind", "127.0.0.1:0", "--database-url", &url, "--trusted-proxies", "10.0.0.0/8,proxy.internal"];
    refuses(&proxies, "`proxy.internal` is not an IP address or CIDR network");
    refuses(&["--bind", "127.0.0.1:0", "--database-url", &url, "--trusted-proxies", "10.0.0.0/40"], "10.0.0.0/40");
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

async fn expires_in(server: &Server, email: &str) -> u64 {
    let api = server.client();
    api.register(email, PASSWORD).await.expect(201);
    api.login_form(email, PASSWORD).await.expect(200).body["expires_in"].as_u64().expect("expires_in")
}

#[tokio::test(flavor = "multi_thread")]
async fn configuration_comes_from_environment_variables() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let port = free_port();
    let mut command = taskdeck(dir.path());
    command
        .arg("serve")
        .env("TASKDECK_BIND", format!("127.0.0.1:{port}"))
        .env("TASKDECK_DATABASE_URL", format!("sqlite://{}", dir.path().join("from-env.db").display()))
        .env("TASKDECK_ACCESS_TOKEN_TTL", "120")
        .env("TASKDECK_JWT_SECRET", "an environment secret of at least 32 characters");
    let server = Server::spawn(command);

    assert_eq!(server.address.port(), port, "TASKDECK_BIND chose the port");
    assert_eq!(expires_in(&server, "env@example.com").await, 120, "TASKDECK_ACCESS_TOKEN_TTL");
    assert!(dir.path().join("from-env.db").exists(), "TASKDECK_DATABASE_URL chose the file");
    assert!(!dir.path().join("taskdeck.db").exists(), "not the default file");
}

#[tokio::test(flavor = "multi_thread")]
async fn flags_win_over_environment_variables() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let taken = TcpListener::bind("127.0.0.1:0").expect("hold a port");
    let taken_address = taken.local_addr().expect("address");
    let mut command = taskdeck(dir.path());
    // Every variable holds a value that would stop the server or show in the answer.
    command
        .env("TASKDECK_BIND", taken_address.to_string())
        .env("TASKDECK_DATABASE_URL", "mysql://nowhere")
        .env("TASKDECK_ACCESS_TOKEN_TTL", "120")
        .env("TASKDECK_JWT_SECRET", "short")
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &database_url(dir.path())])
        .args(["--access-token-ttl", "300", "--jwt-secret", "a flag secret that is long enough to be used"]);
    let server = Server::spawn(command);

    assert_ne!(server.address, taken_address, "--bind won over TASKDECK_BIND");
    assert_eq!(expires_in(&server, "flags@example.com").await, 300, "--access-token-ttl won");
    assert!(dir.path().join("taskdeck.db").exists(), "--database-url won over TASKDECK_DATABASE_URL");
    let api = server.client();
    let token = api.token("flags@example.com", PASSWORD).await;
    api.post_json("/api/projects", Some(&token), &json!({"name": "Flags win"})).await.expect(201);
    drop(taken);
}

#[test]
fn with_json_logs_a_bad_configuration_is_reported_as_one_json_line() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut command = taskdeck(dir.path());
    command.args(["--log-format", "json", "serve", "--bind", "127.0.0.1:0", "--database-url", "mysql://x"]);
    let finished = run_to_exit(command);
    assert!(!finished.status.success(), "{finished:?}");
    let lines = finished.stderr_lines();
    assert_eq!(lines.len(), 1, "one line on stderr: {}", finished.stderr);
    let event: serde_json::Value = serde_json::from_str(lines[0]).expect("a JSON log event");
    assert_eq!(event["level"], "ERROR", "{event}");
    assert!(event["message"].as_str().is_some_and(|message| message.contains("mysql://x")), "{event}");
}
