//! The admin listener of the real binary: `/metrics` in the Prometheus text format,
//! with every series of the contract, routes as templates, and `/health` and `/ready`.

use std::time::Duration;

use axum::http::StatusCode;
use taskdeck_testkit::Client;

use crate::support::{PASSWORD, Server, TestBackend, TestDatabase, eventually, on_both_backends, project_named};
use crate::support::{STARTER_DEADLINE, STARTER_PROJECT};

/// The admin listener's base URL, from its `admin listener at` log line.
fn admin_base(server: &Server) -> String {
    let line = server
        .log
        .wait_for(Duration::from_secs(5), |line| line.contains("admin listener at http://"))
        .unwrap_or_else(|| panic!("no admin listener was announced:\n{}", server.log.text()));
    let address = line.split("admin listener at http://").nth(1).and_then(|rest| rest.split_whitespace().next());
    format!("http://{}", address.expect("an address after `admin listener at`"))
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn the_admin_listener_serves_every_series_of_the_contract(backend: TestBackend) {
    let Some(database) = TestDatabase::new(backend).await else { return };
    let mut command = database.serve();
    command.args(["--admin-bind", "127.0.0.1:0"]);
    let server = Server::spawn(command);
    let admin = Client::at(&admin_base(&server));
    let api = server.client();

    let registered = api.register("metrics@example.com", PASSWORD).await.expect(201);
    assert!(registered.body["id"].is_string());
    let token = api.token("metrics@example.com", PASSWORD).await;
    let starter = eventually(STARTER_DEADLINE, "the starter project", || async {
        project_named(&api.get("/api/projects", Some(&token)).await.body, STARTER_PROJECT)
    })
    .await;
    api.get(&format!("/api/projects/{starter}"), Some(&token)).await.expect(200);
    api.get("/api/projects/424242", Some(&token)).await.expect(404);
    api.get("/api/projects/535353", Some(&token)).await.expect(404);
    api.get("/no/such/thing", None).await.expect(404);
    // Five failed logins close the account's window: the sixth attempt is throttled.
    for _ in 0..5 {
        api.login("metrics@example.com", "not the password").await.expect(401);
    }
    api.login("metrics@example.com", "not the password").await.expect(429);

    let scrape = admin.get("/metrics", None).await.expect(200);
    assert!(scrape.content_type().starts_with("text/plain; version=0.0.4"), "{scrape:?}");
    let text = &scrape.text;
    let counted = |series: &str| sample(text, series).unwrap_or_else(|| panic!("no {series} in:\n{text}"));

    assert_eq!(counted(r#"taskdeck_http_requests_total{route="/api/projects/{id}",method="GET",status="404"}"#), 2.0);
    assert_eq!(counted(r#"taskdeck_http_requests_total{route="/api/projects/{id}",method="GET",status="200"}"#), 1.0);
    assert_eq!(counted(r#"taskdeck_http_requests_total{route="/api/users",method="POST",status="201"}"#), 1.0);
    assert_eq!(counted(r#"taskdeck_http_requests_total{route="unmatched",method="GET",status="404"}"#), 1.0);
    for raw in ["424242", "535353", "/no/such/thing"] {
        assert!(!text.contains(raw), "a raw path became a label ({raw}):\n{text}");
    }
    let fastest =
        r#"taskdeck_http_request_duration_seconds_bucket{route="/api/projects/{id}",method="GET",le="0.0001"}"#;
    assert!(sample(text, fastest).is_some(), "sub-millisecond buckets:\n{text}");
    assert_eq!(
        counted(r#"taskdeck_http_request_duration_seconds_count{route="/api/projects/{id}",method="GET"}"#),
        3.0
    );
    // The scrape itself is not an API request, and no API request is in flight.
    assert_eq!(counted("taskdeck_http_requests_in_flight"), 0.0);
    assert_eq!(counted("taskdeck_outbox_dead"), 0.0);
    assert_eq!(counted(r#"taskdeck_throttled_total{reason="account"}"#), 1.0);
    assert!(
        counted(r#"taskdeck_relay_deliveries_total{handler="projects.starter_project",outcome="delivered"}"#) >= 1.0,
        "the starter project's delivery is counted"
    );
    for state in ["queued", "running"] {
        assert_eq!(counted(&format!(r#"taskdeck_password_hashes{{state="{state}"}}"#)), 0.0, "{state}");
    }
    assert!(counted("taskdeck_outbox_pending") >= 0.0);
    assert!(counted("taskdeck_outbox_oldest_pending_age_seconds") >= 0.0);
    let pools: &[&str] = match backend {
        TestBackend::Sqlite => &["writer", "readers"],
        TestBackend::Postgres => &["writes", "reads"],
    };
    for pool in pools {
        for state in ["idle", "in_use", "waiting"] {
            counted(&format!(r#"taskdeck_db_pool_connections{{pool="{pool}",state="{state}"}}"#));
        }
    }
    for help in ["taskdeck_http_requests_total", "taskdeck_http_request_duration_seconds", "taskdeck_outbox_pending"] {
        assert!(text.contains(&format!("# HELP {help} ")), "{help} is described:\n{text}");
    }

    assert_eq!(admin.get("/health", None).await.status, StatusCode::OK);
    assert_eq!(admin.get("/ready", None).await.status, StatusCode::OK);
    assert_eq!(api.get("/metrics", None).await.status, StatusCode::NOT_FOUND, "metrics stay off the API's listener");
}

on_both_backends!(the_admin_listener_serves_every_series_of_the_contract);
