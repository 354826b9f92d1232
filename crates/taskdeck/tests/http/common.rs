//! In-process harness for the HTTP tests: the real application router over a fresh
//! temporary database, driven with `tower::ServiceExt::oneshot`.
//!
//! The backend is SQLite, or PostgreSQL when `TASKDECK_TEST_BACKEND=postgres` (which
//! needs `TASKDECK_TEST_POSTGRES_URL`; each test gets a database of its own, dropped
//! afterwards). CI runs these tests once per backend. Requests go through
//! `taskdeck_testkit::Client`, the same client the real-binary tests use.

use std::ops::Deref;
use std::sync::Arc;

use axum::http::{StatusCode, header};
use serde_json::{Value, json};
use taskdeck::backends::{Installation, open};
use taskdeck::composition::{Application, Settings};
use taskdeck::config::DatabaseConfig;
use taskdeck_platform::outbox::RelayRun;
use taskdeck_testkit::{Client, TestDatabase};

pub use taskdeck_testkit::Reply;

pub const JSON: &str = "application/json";
pub const FORM: &str = "application/x-www-form-urlencoded";
pub const PROBLEM: &str = "application/problem+json";
pub const PASSWORD: &str = "correct horse battery";

/// The application under test, on its own database, opened and composed the way the
/// binary does it. It dereferences to its [`Client`].
pub struct TestApp {
    pub app: Application,
    pub database: Arc<dyn Installation>,
    client: Client,
    _database: TestDatabase,
}

impl Deref for TestApp {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

/// A registered, logged-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub token: String,
    pub refresh_token: String,
    /// The session of the login (the access token's `sid`).
    pub session: String,
}

/// The claims of a JWT, read without checking anything.
pub fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_settings(&Settings::default()).await
    }

    pub async fn with_settings(settings: &Settings) -> Self {
        let test_database = TestDatabase::selected().await.expect("TASKDECK_TEST_BACKEND=postgres needs a server");
        let config = DatabaseConfig::from_url(test_database.url()).expect("a test database URL");
        let database = open(&config).await.expect("the test database opens and migrates");
        let app = database.compose(settings).await.expect("application");
        let client = Client::in_process(app.router.clone());
        Self { app, database, client, _database: test_database }
    }

    /// Runs the outbox relay until nothing is left to deliver.
    pub async fn deliver_events(&self) {
        while !matches!(self.app.deliver_events().await.expect("relay"), RelayRun::Idle) {}
    }

    /// Registers and logs in a user, and delivers the events (so the starter project
    /// exists).
    pub async fn user(&self, email: &str) -> User {
        let registered = self.register(email, PASSWORD).await;
        assert_eq!(registered.status, StatusCode::CREATED, "{registered:?}");
        self.deliver_events().await;
        let login = self.login(email, PASSWORD).await;
        assert_eq!(login.status, StatusCode::OK, "{login:?}");
        let token = login.body["access_token"].as_str().expect("access token").to_owned();
        User {
            id: registered.body["id"].as_str().expect("user id").to_owned(),
            session: claims(&token)["sid"].as_str().expect("a sid claim").to_owned(),
            refresh_token: login.body["refresh_token"].as_str().expect("refresh token").to_owned(),
            token,
        }
    }

    /// Creates a project and returns its id.
    pub async fn project(&self, user: &User, name: &str, limit: Option<i64>) -> i64 {
        let reply = self
            .post_json(
                "/api/projects",
                Some(&user.token),
                &json!({"name": name, "maximumNumberOfIncompleteTasks": limit}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.body["id"].as_i64().expect("project id")
    }

    /// Adds a task and returns its number.
    pub async fn task(&self, user: &User, project: i64, name: &str) -> i64 {
        let reply =
            self.post_json(&format!("/api/projects/{project}/tasks"), Some(&user.token), &json!({"name": name})).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.body["number"].as_i64().expect("task number")
    }
}

/// Asserts an RFC 9457 problem document of the given status.
#[track_caller]
pub fn assert_problem(reply: &Reply, status: StatusCode) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert!(reply.content_type().starts_with(PROBLEM), "not a problem document: {reply:?}");
    let body = &reply.body;
    assert!(body["type"].as_str().is_some_and(|t| !t.is_empty()), "no type: {reply:?}");
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()), "no title: {reply:?}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "no detail: {reply:?}");
    assert_eq!(body["status"], json!(status.as_u16()), "{reply:?}");
    assert_eq!(body["requestId"], reply.header("x-request-id"), "the problem names its request: {reply:?}");
}

/// A problem document less its `requestId`, which differs from one request to the next:
/// for comparing the answers of two requests.
pub fn without_request_id(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(members) = body.as_object_mut() {
        members.remove("requestId");
    }
    body
}

/// Asserts a 422 problem naming exactly these fields.
#[track_caller]
pub fn assert_invalid_fields(reply: &Reply, fields: &[&str]) {
    assert_problem(reply, StatusCode::UNPROCESSABLE_ENTITY);
    let named: Vec<&str> = reply.body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors: {reply:?}"))
        .iter()
        .map(|error| {
            assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "no message: {reply:?}");
            error["field"].as_str().expect("field")
        })
        .collect();
    assert_eq!(named, fields, "{reply:?}");
}

/// Asserts a 401 problem that challenges for a bearer token.
#[track_caller]
pub fn assert_unauthorized(reply: &Reply) {
    assert_problem(reply, StatusCode::UNAUTHORIZED);
    assert!(reply.header(header::WWW_AUTHENTICATE).starts_with("Bearer"), "{reply:?}");
}

/// Asserts an RFC 3339 UTC timestamp ending in `Z`.
#[track_caller]
pub fn assert_timestamp(value: &Value) {
    let text = value.as_str().unwrap_or_else(|| panic!("not a timestamp: {value}"));
    assert!(text.ends_with('Z'), "not UTC with Z: {text}");
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|error| panic!("not RFC 3339: {text}: {error}"));
}

/// The keys of a JSON object, sorted.
pub fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value.as_object().expect("an object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}
