//! The framework's own answers: health probes, unreadable bodies (400), unknown paths
//! (404), wrong methods (405) and oversized bodies (413), all as problem documents.

use crate::common::{FORM, JSON, PASSWORD, TestApp, assert_problem};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

// --- health --------------------------------------------------------------------------

#[tokio::test]
async fn the_health_probe_answers_ok() {
    let app = TestApp::new().await;

    let reply = app.get("/health", None).await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert!(reply.content_type().starts_with(JSON));
    assert_eq!(reply.body, json!({"status": "ok"}));
}

#[tokio::test]
async fn the_readiness_probe_answers_ok_while_the_database_answers() {
    let app = TestApp::new().await;

    let reply = app.get("/ready", None).await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body, json!({"status": "ok"}));
}

#[tokio::test]
async fn the_readiness_probe_answers_503_when_the_database_does_not_answer() {
    let app = TestApp::new().await;
    app.database.close().await;

    let reply = app.get("/ready", None).await;

    assert_problem(&reply, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.get("/health", None).await.status, StatusCode::OK, "the process itself is alive");
}

// --- 400 ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_body_that_is_not_json_is_a_bad_request_on_every_json_route() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let routes = [
        (Method::POST, "/api/users"),
        (Method::POST, "/api/users/login"),
        (Method::PUT, "/api/users/me"),
        (Method::POST, "/api/projects"),
        (Method::PUT, "/api/projects/1"),
        (Method::POST, "/api/projects/1/tasks"),
    ];

    for (method, path) in routes {
        for garbage in [&b"{\"name\": "[..], b"not json", b"", b"{\"name\": \"Home\",}"] {
            let reply = app.request(method.clone(), path, Some(&alice.token), Some((JSON, garbage.to_vec()))).await;
            assert_problem(&reply, StatusCode::BAD_REQUEST);
        }
    }
}

#[tokio::test]
async fn a_body_with_a_content_type_other_than_json_is_a_bad_request() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let body = json!({"name": "Household"}).to_string().into_bytes();

    for content_type in ["text/plain", FORM, "application/xml"] {
        let reply =
            app.request(Method::POST, "/api/projects", Some(&alice.token), Some((content_type, body.clone()))).await;
        assert_problem(&reply, StatusCode::BAD_REQUEST);
    }
    let registration = json!({"email": "bob@example.com", "password": PASSWORD}).to_string().into_bytes();
    let reply = app.request(Method::POST, "/api/users", None, Some(("text/plain", registration))).await;
    assert_problem(&reply, StatusCode::BAD_REQUEST);
    // nothing was created
    let list = app.get("/api/projects", Some(&alice.token)).await;
    assert_eq!(list.body["projects"].as_array().expect("projects").len(), 1);
}

#[tokio::test]
async fn a_json_body_without_a_content_type_is_a_bad_request() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let request = Request::post("/api/projects")
        .header(header::AUTHORIZATION, format!("Bearer {}", alice.token))
        .body(Body::from(json!({"name": "Household"}).to_string()))
        .expect("request");

    assert_problem(&app.send(request).await, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_json_content_type_with_a_charset_is_accepted() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    let body = json!({"name": "Household"}).to_string().into_bytes();
    let reply = app
        .request(Method::POST, "/api/projects", Some(&alice.token), Some(("application/json; charset=utf-8", body)))
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
}

// --- 404 ---------------------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_path_is_a_404_problem() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    for path in ["/nope", "/api", "/api/unknown", "/api/users/me/extra", "/api/projects/1/tasks/1/delete"] {
        assert_problem(&app.get(path, None).await, StatusCode::NOT_FOUND);
        assert_problem(&app.get(path, Some(&alice.token)).await, StatusCode::NOT_FOUND);
    }
    assert_problem(
        &app.request(Method::POST, "/nope", None, Some((JSON, b"{}".to_vec()))).await,
        StatusCode::NOT_FOUND,
    );
}

// --- 405 ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_known_path_with_a_wrong_method_is_a_405_problem_with_an_allow_header() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let cases: [(Method, &str, &[&str]); 10] = [
        (Method::GET, "/api/users", &["POST"]),
        (Method::GET, "/api/users/login", &["POST"]),
        (Method::PATCH, "/api/users/me", &["DELETE", "GET", "PUT"]),
        (Method::GET, "/api/users/logout", &["POST"]),
        (Method::PUT, "/api/users/me/sessions", &["GET"]),
        (Method::PATCH, "/api/projects", &["GET", "POST"]),
        (Method::POST, "/api/projects/1", &["DELETE", "GET", "PUT"]),
        (Method::GET, "/api/projects/1/archive", &["PUT"]),
        (Method::DELETE, "/api/projects/1/tasks/1", &["GET"]),
        (Method::POST, "/health", &["GET"]),
    ];

    for (method, path, allowed) in cases {
        let reply = app.request(method.clone(), path, Some(&alice.token), None).await;
        assert_problem(&reply, StatusCode::METHOD_NOT_ALLOWED);
        let mut allow: Vec<&str> = reply.header(header::ALLOW).split(',').map(str::trim).collect();
        allow.retain(|method| *method != "HEAD"); // GET routes also answer HEAD
        allow.sort_unstable();
        assert_eq!(allow, allowed, "{method} {path}");
    }
}

// --- 413 ---------------------------------------------------------------------------------

/// A syntactically valid JSON body of more than 64 KiB.
fn oversized_project() -> Vec<u8> {
    json!({"name": "Household", "padding": "x".repeat(65 * 1024)}).to_string().into_bytes()
}

#[tokio::test]
async fn a_body_over_64_kib_with_a_content_length_is_a_413_problem() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    for (path, content_type) in [("/api/projects", JSON), ("/api/users", JSON), ("/api/users/login", FORM)] {
        let body = oversized_project();
        let request = Request::post(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", alice.token))
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CONTENT_LENGTH, body.len())
            .body(Body::from(body))
            .expect("request");
        assert_problem(&app.send(request).await, StatusCode::PAYLOAD_TOO_LARGE);
    }
    let list = app.get("/api/projects", Some(&alice.token)).await;
    assert_eq!(list.body["projects"].as_array().expect("projects").len(), 1, "nothing was created");
}

#[tokio::test]
async fn a_streamed_body_over_64_kib_without_a_content_length_is_a_413_problem() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    for (path, content_type) in [("/api/projects", JSON), ("/api/users", JSON), ("/api/users/login", FORM)] {
        // A stream, so that not even the body's size hint tells its length.
        let body = Body::from_stream(Body::from(oversized_project()).into_data_stream());
        let request = Request::post(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", alice.token))
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .expect("request");
        assert!(request.headers().get(header::CONTENT_LENGTH).is_none());
        assert_problem(&app.send(request).await, StatusCode::PAYLOAD_TOO_LARGE);
    }
}

#[tokio::test]
async fn a_body_of_exactly_64_kib_is_accepted() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let padding = 64 * 1024 - json!({"name": "Household", "padding": ""}).to_string().len();
    let body = json!({"name": "Household", "padding": "x".repeat(padding)}).to_string();
    assert_eq!(body.len(), 64 * 1024);

    let reply = app.request(Method::POST, "/api/projects", Some(&alice.token), Some((JSON, body.into_bytes()))).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
}
