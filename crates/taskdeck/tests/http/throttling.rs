//! Throttling: failed logins per account (kept in the database), logins and
//! registrations per client address (`--login-rate`), where the client address comes
//! from (`--trusted-proxies`), and the requests shed when the password hashing queue
//! is full.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;
use taskdeck::composition::Settings;
use taskdeck_testkit::Client;

use crate::common::{JSON, PASSWORD, Reply, TestApp, assert_problem};

const WRONG: &str = "not the password";

fn settings(login_rate: Option<&str>, trusted_proxies: &str) -> Settings {
    Settings {
        login_rate: login_rate.map(|rate| rate.parse().expect("a rate")),
        trusted_proxies: trusted_proxies.parse().expect("trusted proxies"),
        ..Settings::default()
    }
}

/// A JSON request to `path` from the socket peer `peer`, with an optional
/// `X-Forwarded-For`.
fn from(peer: &str, forwarded_for: Option<&str>, path: &str, body: &serde_json::Value) -> Request<axum::body::Body> {
    let mut request = Client::build(Method::POST, path, None, Some((JSON, body.to_string().into_bytes())));
    let peer = SocketAddr::new(peer.parse().expect("a peer address"), 40_000);
    request.extensions_mut().insert(ConnectInfo(peer));
    if let Some(forwarded_for) = forwarded_for {
        request.headers_mut().insert("x-forwarded-for", forwarded_for.parse().expect("a header value"));
    }
    request
}

async fn login_from(app: &TestApp, peer: &str, forwarded_for: Option<&str>, email: &str, password: &str) -> Reply {
    app.send(from(peer, forwarded_for, "/api/users/login", &json!({"email": email, "password": password}))).await
}

async fn register_from(app: &TestApp, peer: &str, forwarded_for: Option<&str>, email: &str) -> Reply {
    app.send(from(peer, forwarded_for, "/api/users", &json!({"email": email, "password": PASSWORD}))).await
}

/// Asserts a 429 problem document of type `slug` and returns its `Retry-After`.
#[track_caller]
fn assert_throttled(reply: &Reply, slug: &str) -> u64 {
    assert_problem(reply, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.body["type"], json!(format!("urn:taskdeck:problem:{slug}")), "{reply:?}");
    let retry_after: u64 = reply.header(header::RETRY_AFTER).parse().expect("Retry-After in whole seconds");
    assert!(retry_after >= 1, "{reply:?}");
    retry_after
}

#[tokio::test]
async fn after_five_failed_logins_the_account_answers_429_even_to_its_password() {
    let app = TestApp::new().await;
    app.register("victim@example.com", PASSWORD).await.expect(201);
    app.register("bystander@example.com", PASSWORD).await.expect(201);
    for attempt in 1..=5 {
        let reply = app.login("victim@example.com", WRONG).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {attempt}: {reply:?}");
    }
    let throttled = app.login("victim@example.com", WRONG).await;
    let retry_after = assert_throttled(&throttled, "too-many-failed-logins");
    assert!(retry_after <= 15 * 60, "at most the 15-minute window: {retry_after}");
    assert_throttled(&app.login("victim@example.com", PASSWORD).await, "too-many-failed-logins");
    assert_throttled(&app.login_form("VICTIM@Example.com ", PASSWORD).await, "too-many-failed-logins");
    // The account is not locked for other purposes, nor is anyone else's.
    app.login("bystander@example.com", PASSWORD).await.expect(200);
}

#[tokio::test]
async fn failed_logins_in_every_spelling_of_an_address_count_against_one_throttle() {
    let app = TestApp::new().await;
    app.register("jos\u{e9}@example.com", PASSWORD).await.expect(201);
    for spelling in [
        "jos\u{e9}@example.com",
        "jose\u{301}@example.com",
        "JOS\u{c9}@example.com",
        "ｊｏｓ\u{e9}@example.com",
        "JOSE\u{301}@EXAMPLE.COM",
    ] {
        app.login(spelling, WRONG).await.expect(401);
    }
    assert_throttled(&app.login("ＪＯＳ\u{c9}@example.com", PASSWORD).await, "too-many-failed-logins");
}

#[tokio::test]
async fn an_unknown_email_is_throttled_exactly_like_a_registered_one() {
    let app = TestApp::new().await;
    app.register("known@example.com", PASSWORD).await.expect(201);
    for _ in 0..5 {
        app.login("known@example.com", WRONG).await.expect(401);
        app.login("unknown@example.com", WRONG).await.expect(401);
    }
    let known = app.login("known@example.com", WRONG).await;
    let unknown = app.login("unknown@example.com", WRONG).await;
    assert_throttled(&known, "too-many-failed-logins");
    assert_throttled(&unknown, "too-many-failed-logins");
    assert_eq!(
        crate::common::without_request_id(&known.body),
        crate::common::without_request_id(&unknown.body),
        "the answers reveal nothing about the account"
    );
    assert_eq!(known.content_type(), unknown.content_type());
}

#[tokio::test]
async fn a_successful_login_neither_counts_as_a_failure_nor_forgives_the_earlier_ones() {
    let app = TestApp::new().await;
    app.register("forgetful@example.com", PASSWORD).await.expect(201);
    for _ in 0..4 {
        app.login("forgetful@example.com", WRONG).await.expect(401);
    }
    app.login("forgetful@example.com", PASSWORD).await.expect(200);
    app.login("forgetful@example.com", PASSWORD).await.expect(200);
    app.login("forgetful@example.com", WRONG).await.expect(401);
    assert_throttled(&app.login("forgetful@example.com", PASSWORD).await, "too-many-failed-logins");
}

#[tokio::test]
async fn without_a_login_rate_an_address_may_log_in_and_register_at_will() {
    let app = TestApp::new().await;
    for index in 0..30 {
        register_from(&app, "198.51.100.7", None, &format!("user{index}@example.com")).await.expect(201);
    }
    for index in 0..30 {
        login_from(&app, "198.51.100.7", None, &format!("user{index}@example.com"), PASSWORD).await.expect(200);
    }
}

#[tokio::test]
async fn the_login_rate_limits_logins_and_registrations_of_one_address_together() {
    // Three at once, then one every 1000 s: nothing refills during the test.
    let app = TestApp::with_settings(&settings(Some("3/0.001"), "")).await;
    register_from(&app, "198.51.100.7", None, "first@example.com").await.expect(201);
    login_from(&app, "198.51.100.7", None, "first@example.com", PASSWORD).await.expect(200);
    login_from(&app, "198.51.100.7", None, "first@example.com", WRONG).await.expect(401);

    let login = login_from(&app, "198.51.100.7", None, "first@example.com", PASSWORD).await;
    let retry_after = assert_throttled(&login, "rate-limited");
    assert!((900..=1000).contains(&retry_after), "the next request refills in about 1000 s: {retry_after}");
    assert_throttled(&register_from(&app, "198.51.100.7", None, "second@example.com").await, "rate-limited");

    // Another address has a bucket of its own; the refused registration left no account.
    register_from(&app, "198.51.100.8", None, "second@example.com").await.expect(201);
    login_from(&app, "2001:db8::8", None, "first@example.com", PASSWORD).await.expect(200);
}

#[tokio::test]
async fn the_login_rate_counts_refreshes_too() {
    let app = TestApp::with_settings(&settings(Some("2/0.001"), "")).await;
    register_from(&app, "198.51.100.7", None, "refresher@example.com").await.expect(201);
    let login = login_from(&app, "198.51.100.7", None, "refresher@example.com", PASSWORD).await.expect(200);
    let refresh = json!({"refreshToken": login.body["refresh_token"]});
    let reply = app.send(from("198.51.100.7", None, "/api/users/login", &refresh)).await;
    assert_throttled(&reply, "rate-limited");
    app.send(from("198.51.100.9", None, "/api/users/login", &refresh)).await.expect(200);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket() {
    let app = TestApp::with_settings(&settings(Some("2/0.001"), "10.0.0.0/8")).await;
    register_from(&app, "10.0.0.2", Some("203.0.113.5"), "proxied@example.com").await.expect(201);
    // A client may put anything left of its own address; the proxy appends that address.
    login_from(&app, "10.0.0.2", Some("192.0.2.1, 203.0.113.5"), "proxied@example.com", PASSWORD).await.expect(200);
    let third = login_from(&app, "10.0.0.2", Some("192.0.2.2, 203.0.113.5, 10.9.9.9"), "proxied@example.com", PASSWORD);
    assert_throttled(&third.await, "rate-limited");
    login_from(&app, "10.0.0.2", Some("203.0.113.6"), "proxied@example.com", PASSWORD).await.expect(200);
}

#[tokio::test]
async fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
    let app = TestApp::with_settings(&settings(Some("2/0.001"), "10.0.0.0/8")).await;
    register_from(&app, "198.51.100.7", Some("203.0.113.1"), "direct@example.com").await.expect(201);
    login_from(&app, "198.51.100.7", Some("203.0.113.2"), "direct@example.com", PASSWORD).await.expect(200);
    let spoofed = login_from(&app, "198.51.100.7", Some("203.0.113.3"), "direct@example.com", PASSWORD).await;
    assert_throttled(&spoofed, "rate-limited");
    // Garbage from a peer that is not trusted is never read.
    login_from(&app, "198.51.100.8", Some("<script>"), "direct@example.com", PASSWORD).await.expect(200);
}

#[tokio::test]
async fn garbage_where_a_trusted_proxy_names_the_client_is_a_400_that_changes_nothing() {
    let app = TestApp::with_settings(&settings(Some("1/0.001"), "10.0.0.0/8")).await;
    for garbage in ["not-an-address", "203.0.113.5, ", "999.0.0.1", "203.0.113.5 203.0.113.6", "unknown"] {
        let register = register_from(&app, "10.0.0.2", Some(garbage), "garbage@example.com").await;
        assert_problem(&register, StatusCode::BAD_REQUEST);
        assert_eq!(register.body["type"], json!("urn:taskdeck:problem:malformed-forwarded-for"), "{register:?}");
        let login = login_from(&app, "10.0.0.2", Some(garbage), "garbage@example.com", PASSWORD).await;
        assert_problem(&login, StatusCode::BAD_REQUEST);
    }
    let long = format!("{}, x", "1".repeat(8 * 1024));
    let reply = register_from(&app, "10.0.0.2", Some(&long), "garbage@example.com").await;
    assert_problem(&reply, StatusCode::BAD_REQUEST);
    assert!(reply.text.len() < 1024, "the answer does not echo the header: {} bytes", reply.text.len());
    // No account was made and no bucket was charged: the one request allowed succeeds.
    register_from(&app, "10.0.0.2", Some("203.0.113.5"), "garbage@example.com").await.expect(201);
}

/// Asserts the answer of a full password hashing queue: a 503 problem document with
/// `Retry-After`.
#[track_caller]
fn assert_shed(reply: &Reply) {
    assert_problem(reply, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.body["type"], json!("urn:taskdeck:problem:password-hashing-overloaded"), "{reply:?}");
    let retry_after: u64 = reply.header(header::RETRY_AFTER).parse().expect("Retry-After in seconds");
    assert!(retry_after >= 1, "{reply:?}");
}

#[tokio::test]
async fn every_request_that_hashes_a_password_answers_503_with_retry_after_when_the_hashing_queue_is_full() {
    let app = TestApp::new().await;
    let bob = app.user("bob@example.com").await;
    // A second instance on the same database whose hashing queue holds nothing: every
    // hash it is asked for finds the queue full.
    let full = Settings { hashing_queue: Some(0), ..Settings::default() };
    let overloaded = Client::in_process(app.database.compose(&full).await.expect("application").router);

    assert_shed(&overloaded.login("bob@example.com", PASSWORD).await);
    assert_shed(&overloaded.login("nobody@example.com", PASSWORD).await);
    assert_shed(&overloaded.register("alice@example.com", PASSWORD).await);
    let change = json!({"currentPassword": PASSWORD, "newPassword": "another password"});
    assert_shed(&overloaded.put_json("/api/users/me/password", Some(&bob.token), &change).await);
    let erase = Client::build(
        Method::DELETE,
        "/api/users/me",
        Some(&bob.token),
        Some((JSON, json!({"password": PASSWORD}).to_string().into_bytes())),
    );
    assert_shed(&overloaded.send(erase).await);

    // Nothing was done, and shed logins are no failed logins: after more of them than
    // the throttle allows failures, the right password still signs in.
    app.login("alice@example.com", PASSWORD).await.expect(401);
    app.get("/api/users/me", Some(&bob.token)).await.expect(200);
    for _ in 0..5 {
        assert_shed(&overloaded.login("bob@example.com", WRONG).await);
    }
    app.login("bob@example.com", PASSWORD).await.expect(200);
}
