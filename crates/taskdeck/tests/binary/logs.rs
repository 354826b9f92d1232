//! What the real binary logs: every request's line with its id, client, route, status
//! and duration; the trace of a request carried on to the work its events cause; and,
//! at the most verbose level, no password, token or key of a whole session.

use std::time::Duration;

use axum::http::Method;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use taskdeck_testkit::Client;

use crate::support::{PASSWORD, STARTER_DEADLINE, STARTER_PROJECT, Server, TestBackend, TestDatabase};
use crate::support::{eventually, on_both_backends, project_named};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test(flavor = "multi_thread")]
async fn a_request_is_logged_with_its_id_and_its_trace_reaches_the_starter_project() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Server::start(dir.path());
    let api = server.client();
    let mut request = Client::build(
        Method::POST,
        "/api/users",
        None,
        Some((
            "application/json",
            json!({"email": "traced@example.com", "password": PASSWORD}).to_string().into_bytes(),
        )),
    );
    request.headers_mut().insert("x-request-id", "signup-7".parse().expect("a header value"));
    request.headers_mut().insert("traceparent", TRACEPARENT.parse().expect("a header value"));
    api.send(request).await.expect(201);

    let answered = server
        .log
        .wait_for(Duration::from_secs(5), |line| line.contains("answered") && line.contains("signup-7"))
        .unwrap_or_else(|| panic!("no line for the request:\n{}", server.log.text()));
    for part in [
        r#"request_id="signup-7""#,
        &format!(r#"trace_id="{TRACE_ID}""#),
        r#"client="127.0.0.1""#,
        r#"route="/api/users""#,
        "status=201",
        "duration_ms=",
    ] {
        assert!(answered.contains(part), "{part} is missing from {answered}");
    }
    let created = server
        .log
        .wait_for(STARTER_DEADLINE, |line| line.contains("created the starter project"))
        .unwrap_or_else(|| panic!("the starter project's creation is not logged:\n{}", server.log.text()));
    assert!(created.contains(&format!(r#"trace_id="{TRACE_ID}""#)), "the registration's trace: {created}");

    let token = api.token("traced@example.com", PASSWORD).await;
    let reply = api.get("/api/projects/777", Some(&token)).await.expect(404);
    let id = reply.body["requestId"].as_str().expect("a requestId").to_owned();
    let line = server
        .log
        .wait_for(Duration::from_secs(5), |line| line.contains("answered") && line.contains("status=404"))
        .expect("the 404's line");
    assert!(line.contains(&id), "the problem's requestId {id} finds its line: {line}");
    assert!(!line.contains("trace_id"), "no trace was sent with this one: {line}");
}

async fn a_whole_session_logged_at_trace_level_leaks_no_secret(backend: TestBackend) {
    let Some(database) = TestDatabase::new(backend).await else { return };
    let mut command = database.serve();
    command.env("RUST_LOG", "trace").args(["--log-format", "json"]);
    let server = Server::spawn(command);
    let api = server.client();
    const NEW_PASSWORD: &str = "a brand new secret phrase";

    api.register("secret@example.com", PASSWORD).await.expect(201);
    let login = api.login_form("secret@example.com", PASSWORD).await.expect(200);
    let access = login.body["access_token"].as_str().expect("access token").to_owned();
    let refresh = login.body["refresh_token"].as_str().expect("refresh token").to_owned();
    let refreshed = api.post_json("/api/users/login", None, &json!({"refreshToken": refresh})).await.expect(200);
    let second_access = refreshed.body["access_token"].as_str().expect("access token").to_owned();
    let second_refresh = refreshed.body["refresh_token"].as_str().expect("refresh token").to_owned();
    api.put_json(
        "/api/users/me/password",
        Some(&second_access),
        &json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}),
    )
    .await
    .expect(204);
    api.login("secret@example.com", "a wrong password guess").await.expect(401);
    eventually(STARTER_DEADLINE, "the starter project", || async {
        project_named(&api.get("/api/projects", Some(&second_access)).await.body, STARTER_PROJECT)
    })
    .await;

    let inspector = database.inspect().await;
    let key_hex = match backend {
        TestBackend::Sqlite => "SELECT lower(hex(private_key)) FROM signing_keys ORDER BY generation LIMIT 1",
        TestBackend::Postgres => "SELECT encode(private_key, 'hex') FROM signing_keys ORDER BY generation LIMIT 1",
    };
    let key_hex = inspector.text(key_hex).await;
    let key: Vec<u8> =
        (0..key_hex.len()).step_by(2).map(|at| u8::from_str_radix(&key_hex[at..at + 2], 16).expect("hex")).collect();
    assert_eq!(key.len(), 32, "an Ed25519 seed");
    let password_hash = inspector.text("SELECT password_hash FROM users LIMIT 1").await;
    let (status, log) = server.terminate();
    assert_eq!(status.code(), Some(0));
    let text = log.text();
    assert!(log.count(r#""message":"answered""#) >= 6, "every request is logged:\n{text}");
    assert!(log.count(r#""level":"DEBUG""#) >= 6, "the verbose levels are on:\n{text}");
    for line in log.lines() {
        let parsed: Result<Value, _> = serde_json::from_str(&line);
        assert!(parsed.is_ok(), "every line is JSON: {line}");
    }
    let secrets = [
        ("the password", PASSWORD.to_owned()),
        ("the new password", NEW_PASSWORD.to_owned()),
        ("the wrong password", "a wrong password guess".to_owned()),
        ("an access token", access.clone()),
        ("an access token's signature", access.rsplit('.').next().unwrap_or_default().to_owned()),
        ("the refreshed access token", second_access),
        ("a refresh token", refresh),
        ("the rotated refresh token", second_refresh),
        ("the signing key in hex", key_hex.clone()),
        ("the signing key in upper-case hex", key_hex.to_ascii_uppercase()),
        ("the signing key in base64", STANDARD.encode(&key)),
        ("the signing key in base64url", URL_SAFE_NO_PAD.encode(&key)),
        ("the password hash", password_hash),
    ];
    for (what, secret) in secrets {
        assert!(secret.len() >= 8, "{what} is a real secret: {secret:?}");
        assert!(!text.contains(&secret), "the log holds {what}");
    }
}

on_both_backends!(a_whole_session_logged_at_trace_level_leaks_no_secret);
