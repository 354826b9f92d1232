//! In-process harness for the HTTP tests: the real application router over a fresh
//! temporary database, driven with `tower::ServiceExt::oneshot`.
//!
//! The backend is SQLite, or PostgreSQL when `TASKDECK_TEST_BACKEND=postgres` (which
//! needs `TASKDECK_TEST_POSTGRES_URL`; each test gets a database of its own, dropped
//! afterwards). CI runs these tests once per backend.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use taskdeck::composition::{Application, Database, Settings, application};
use taskdeck_platform::outbox::RelayRun;
use taskdeck_platform::postgres::PostgresDatabase;
use taskdeck_platform::sqlite::SqliteDatabase;
use tower::ServiceExt;

pub const JSON: &str = "application/json";
pub const FORM: &str = "application/x-www-form-urlencoded";
pub const PROBLEM: &str = "application/problem+json";
pub const PASSWORD: &str = "correct horse battery";

/// The application under test, on its own database.
pub struct TestApp {
    pub app: Application,
}

/// An answer: status, headers, and the body as text and (when it is JSON) as a value.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    /// The parsed JSON body; `Value::Null` when the body is empty or not JSON.
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(&name).unwrap_or_else(|| panic!("no {name} header in {self:?}")).to_str().expect("ascii")
    }

    pub fn content_type(&self) -> &str {
        self.headers.get(header::CONTENT_TYPE).map_or("", |value| value.to_str().expect("ascii"))
    }
}

/// A registered, logged-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub token: String,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_settings(&Settings::default()).await
    }

    pub async fn with_settings(settings: &Settings) -> Self {
        let database = match std::env::var("TASKDECK_TEST_BACKEND").as_deref() {
            Ok("postgres") => {
                let url = std::env::var("TASKDECK_TEST_POSTGRES_URL")
                    .expect("TASKDECK_TEST_BACKEND=postgres needs TASKDECK_TEST_POSTGRES_URL");
                Database::Postgres(PostgresDatabase::temporary(&url).await.expect("temporary PostgreSQL database"))
            }
            Ok("sqlite") | Err(_) => Database::Sqlite(SqliteDatabase::temporary().await.expect("temporary database")),
            Ok(other) => panic!("unknown TASKDECK_TEST_BACKEND {other:?}: expected sqlite or postgres"),
        };
        let app = application(database, settings).await.expect("application");
        Self { app }
    }

    /// Sends one request. `body` is `(content type, bytes)`.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some((content_type, bytes)) => {
                builder.header(header::CONTENT_TYPE, content_type).body(Body::from(bytes)).expect("request")
            }
            None => builder.body(Body::empty()).expect("request"),
        };
        self.send(request).await
    }

    /// Sends a request built by the test, for headers the helpers do not cover.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.router.clone().oneshot(request).await.expect("the router is infallible");
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.expect("response body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    /// A `PUT` without a body (archive, complete, ...).
    pub async fn put(&self, path: &str, token: &str) -> Reply {
        self.request(Method::PUT, path, Some(token), None).await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.request(Method::POST, path, token, Some((JSON, body.to_string().into_bytes()))).await
    }

    pub async fn put_json(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.request(Method::PUT, path, token, Some((JSON, body.to_string().into_bytes()))).await
    }

    /// Runs the outbox relay until nothing is left to deliver.
    pub async fn deliver_events(&self) {
        while !matches!(self.app.relay.run_once().await.expect("relay"), RelayRun::Idle) {}
    }

    pub async fn register(&self, email: &str, password: &str) -> Reply {
        self.post_json("/api/users", None, &json!({"email": email, "password": password})).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post_json("/api/users/login", None, &json!({"email": email, "password": password})).await
    }

    /// Registers and logs in a user, and delivers the events (so the starter project
    /// exists).
    pub async fn user(&self, email: &str) -> User {
        let registered = self.register(email, PASSWORD).await;
        assert_eq!(registered.status, StatusCode::CREATED, "{registered:?}");
        self.deliver_events().await;
        let login = self.login(email, PASSWORD).await;
        assert_eq!(login.status, StatusCode::OK, "{login:?}");
        User {
            id: registered.body["id"].as_str().expect("user id").to_owned(),
            token: login.body["access_token"].as_str().expect("access token").to_owned(),
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
