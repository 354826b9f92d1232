//! A password-guessing script against the real binary: the failures an account may
//! have are counted in the database, so concurrent guesses (on PostgreSQL, spread over
//! two instances) get exactly the contract's five tries; and the per-address limit
//! reads the real socket's peer, or `X-Forwarded-For` behind a trusted proxy.

use axum::http::{Method, StatusCode};
use serde_json::json;
use taskdeck_testkit::{Client, JSON};

use tokio::task::JoinSet;

use crate::support::{PASSWORD, Server, ServerClient, TestBackend, TestDatabase, on_both_backends};

on_both_backends!(fifty_concurrent_wrong_passwords_get_five_tries_and_no_5xx);

const GUESSES: usize = 50;
/// Guesses in flight at once.
const CONCURRENCY: usize = 10;

async fn fifty_concurrent_wrong_passwords_get_five_tries_and_no_5xx(backend: TestBackend) {
    let Some(database) = TestDatabase::new(backend).await else { return };
    let instances = if backend == TestBackend::Postgres { 2 } else { 1 };
    let servers: Vec<Server> = (0..instances).map(|_| database.start()).collect();
    let clients: Vec<Client> = servers.iter().map(Server::client).collect();
    clients[0].register("target@example.com", PASSWORD).await.expect(201);

    let mut statuses = Vec::new();
    for round in 0..GUESSES / CONCURRENCY {
        let mut guesses = JoinSet::new();
        for guess in 0..CONCURRENCY {
            let client = clients[guess % instances].clone();
            let password = format!("guess number {round}-{guess}");
            guesses.spawn(async move { client.login("target@example.com", &password).await });
        }
        while let Some(reply) = guesses.join_next().await {
            let reply = reply.expect("a guess");
            if reply.status == StatusCode::TOO_MANY_REQUESTS {
                assert!(reply.headers.contains_key("retry-after"), "{reply:?}");
                assert_eq!(reply.body["type"], "urn:taskdeck:problem:too-many-failed-logins", "{reply:?}");
            }
            statuses.push(reply.status.as_u16());
        }
    }
    let count = |status: u16| statuses.iter().filter(|&&seen| seen == status).count();
    let logs: String = servers.iter().map(|server| server.log.text()).collect();
    assert!(statuses.iter().all(|&status| status < 500), "no 5xx: {statuses:?}\n{logs}");
    assert_eq!(count(401), 5, "exactly five guesses were checked: {statuses:?}");
    assert_eq!(count(429), GUESSES - 5, "{statuses:?}");
    for client in &clients {
        let right = client.login("target@example.com", PASSWORD).await;
        assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS, "the password too waits: {right:?}");
    }
    clients[instances - 1].newcomer("bystander@example.com").await;
    assert!(logs.contains("throttled a login"), "throttling is logged:\n{logs}");
    let refusals = logs.lines().filter(|line| line.contains("refused a login")).collect::<Vec<_>>();
    assert_eq!(refusals.len(), 5, "each checked guess is logged once:\n{logs}");
    assert!(refusals.iter().all(|line| line.contains("wrong password") && line.contains("127.0.0.1")), "{logs}");
    assert!(!logs.contains("guess number"), "no password is logged:\n{logs}");
    assert!(!logs.contains("target@example.com"), "nor the address:\n{logs}");
}

async fn login_forwarded_for(client: &Client, forwarded_for: &str) -> u16 {
    let body = json!({"email": "nobody@example.com", "password": "whatever it is"}).to_string().into_bytes();
    let mut request = Client::build(Method::POST, "/api/users/login", None, Some((JSON, body)));
    request.headers_mut().insert("x-forwarded-for", forwarded_for.parse().expect("a header value"));
    client.send(request).await.status.as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_login_rate_keys_on_the_socket_peer_or_on_the_client_a_trusted_proxy_names() {
    let Some(database) = TestDatabase::new(TestBackend::Sqlite).await else { return };
    let mut direct = database.serve();
    direct.env("TASKDECK_LOGIN_RATE", "3/0.001");
    let direct = Server::spawn(direct);
    let api = direct.client();
    api.register("first@example.com", PASSWORD).await.expect(201);
    api.login("first@example.com", PASSWORD).await.expect(200);
    // 127.0.0.1 is not trusted: what it forwards is ignored, its own bucket is empty now.
    assert_eq!(login_forwarded_for(&api, "203.0.113.1").await, 401);
    assert_eq!(login_forwarded_for(&api, "203.0.113.2").await, 429);
    assert_eq!(api.register("second@example.com", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
    drop(direct);

    let mut proxied = database.serve();
    proxied.args(["--login-rate", "1/0.001", "--trusted-proxies", "127.0.0.0/8, ::1"]);
    let proxied = Server::spawn(proxied);
    let api = proxied.client();
    assert_eq!(login_forwarded_for(&api, "203.0.113.1").await, 401);
    assert_eq!(login_forwarded_for(&api, "198.51.100.1, 203.0.113.1").await, 429);
    assert_eq!(login_forwarded_for(&api, "203.0.113.2").await, 401, "another client behind the proxy");
    assert_eq!(login_forwarded_for(&api, "garbage").await, 400);
}
