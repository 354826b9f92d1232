//! What every answer carries for operators and browsers: the request id, `nosniff`,
//! `no-store` on personal answers, the documentation's Content-Security-Policy, and
//! CORS only for the origins the operator lists.

use axum::http::{Method, StatusCode, header};
use serde_json::json;
use taskdeck::composition::Settings;
use taskdeck_testkit::Client;

use crate::common::{PASSWORD, TestApp, assert_problem};

const REQUEST_ID: &str = "x-request-id";

#[tokio::test]
async fn a_clients_request_id_is_kept_and_a_bad_one_replaced() {
    let app = TestApp::new().await;
    let mut request = Client::build(Method::GET, "/health", None, None);
    request.headers_mut().insert(REQUEST_ID, "support-ticket-4711".parse().expect("a valid value"));
    assert_eq!(app.send(request).await.header(REQUEST_ID), "support-ticket-4711");

    let mut request = Client::build(Method::GET, "/api/projects", None, None);
    request.headers_mut().insert(REQUEST_ID, "two words".parse().expect("a valid value"));
    let reply = app.send(request).await;
    assert_problem(&reply, StatusCode::UNAUTHORIZED);
    let replaced = reply.header(REQUEST_ID);
    assert!(uuid::Uuid::parse_str(replaced).is_ok(), "a fresh id, not the client's: {replaced}");
    assert_eq!(reply.body["requestId"], replaced);

    let first = app.get("/health", None).await;
    let second = app.get("/health", None).await;
    assert_ne!(first.header(REQUEST_ID), second.header(REQUEST_ID), "each request has its own id");
}

#[tokio::test]
async fn every_kind_of_answer_refuses_content_sniffing() {
    let app = TestApp::new().await;
    let user = app.user("sniff@example.com").await;
    let answers = [
        app.get("/health", None).await,
        app.get("/api/projects", Some(&user.token)).await,
        app.get("/api/projects/999", Some(&user.token)).await,
        app.get("/no/such/route", None).await,
        app.get("/openapi.json", None).await,
    ];
    for reply in answers {
        assert_eq!(reply.header("x-content-type-options"), "nosniff", "{reply:?}");
    }
}

#[tokio::test]
async fn answers_under_api_users_are_never_stored_by_caches() {
    let app = TestApp::new().await;
    let registered = app.register("cache@example.com", PASSWORD).await.expect(201);
    let login = app.login("cache@example.com", PASSWORD).await.expect(200);
    let token = login.body["access_token"].as_str().expect("a string").to_owned();
    let me = app.get("/api/users/me", Some(&token)).await.expect(200);
    let refused = app.get("/api/users/me", None).await.expect(401);
    let wrong = app.login("cache@example.com", "not the password").await.expect(401);
    for reply in [&registered, &login, &me, &refused, &wrong] {
        assert_eq!(reply.header(header::CACHE_CONTROL), "no-store", "{reply:?}");
    }
    let keys = app.get("/.well-known/jwks.json", None).await.expect(200);
    assert!(keys.headers.get(header::CACHE_CONTROL).is_none(), "the public keys may be cached: {keys:?}");
}

#[tokio::test]
async fn the_documentation_may_load_only_from_its_own_origin() {
    let app = TestApp::new().await;
    let page = app.get("/docs/", None).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    let policy = page.header(header::CONTENT_SECURITY_POLICY);
    assert!(policy.starts_with("default-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
}

async fn preflight(app: &TestApp, origin: &str) -> taskdeck_testkit::Reply {
    let mut request = Client::build(Method::OPTIONS, "/api/projects", None, None);
    let headers = request.headers_mut();
    headers.insert(header::ORIGIN, origin.parse().expect("a valid value"));
    headers.insert(header::ACCESS_CONTROL_REQUEST_METHOD, "POST".parse().expect("a valid value"));
    headers.insert(
        header::ACCESS_CONTROL_REQUEST_HEADERS,
        "authorization,content-type,idempotency-key".parse().expect("a valid value"),
    );
    app.send(request).await
}

#[tokio::test]
async fn without_listed_origins_no_cross_origin_access_is_granted() {
    let app = TestApp::new().await;
    let reply = preflight(&app, "https://app.example.com").await;
    assert!(reply.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(), "{reply:?}");
    let mut request = Client::build(Method::GET, "/health", None, None);
    request.headers_mut().insert(header::ORIGIN, "https://app.example.com".parse().expect("a valid value"));
    let reply = app.send(request).await;
    assert!(reply.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(), "{reply:?}");
}

#[tokio::test]
async fn listed_origins_and_only_they_may_call_the_api_from_a_browser() {
    let settings = Settings {
        cors_origins: "https://app.example.com, http://localhost:3000".parse().expect("a valid value"),
        ..Settings::default()
    };
    let app = TestApp::with_settings(&settings).await;

    let allowed = preflight(&app, "https://app.example.com").await;
    assert!(allowed.status.is_success(), "{allowed:?}");
    assert_eq!(allowed.header(header::ACCESS_CONTROL_ALLOW_ORIGIN), "https://app.example.com");
    assert!(allowed.header(header::ACCESS_CONTROL_ALLOW_METHODS).contains("POST"), "{allowed:?}");
    let allowed_headers = allowed.header(header::ACCESS_CONTROL_ALLOW_HEADERS).to_ascii_lowercase();
    for name in ["authorization", "content-type", "idempotency-key"] {
        assert!(allowed_headers.contains(name), "{allowed_headers}");
    }
    assert!(allowed.headers.get(REQUEST_ID).is_some(), "a preflight is logged and named too");

    let stranger = preflight(&app, "https://evil.example").await;
    assert!(stranger.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(), "{stranger:?}");

    let user = app.user("cors@example.com").await;
    let mut request = Client::build(
        Method::POST,
        "/api/projects",
        Some(&user.token),
        Some(("application/json", json!({"name": "From the browser"}).to_string().into_bytes())),
    );
    request.headers_mut().insert(header::ORIGIN, "http://localhost:3000".parse().expect("a valid value"));
    let created = app.send(request).await.expect(201);
    assert_eq!(created.header(header::ACCESS_CONTROL_ALLOW_ORIGIN), "http://localhost:3000");
    let exposed = created.header(header::ACCESS_CONTROL_EXPOSE_HEADERS).to_ascii_lowercase();
    for name in ["etag", "location", "x-request-id", "retry-after"] {
        assert!(exposed.contains(name), "{exposed}");
    }
}
