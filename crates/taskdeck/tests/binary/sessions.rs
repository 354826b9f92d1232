//! Sessions across processes: a refresh token outlives a restart, and a session ended
//! on one instance is refused by another instance on the same PostgreSQL database
//! within two seconds, as the contract says.

use std::time::Duration;

use serde_json::json;
use taskdeck_testkit::Client;

use crate::support::{PASSWORD, ServerClient, TestBackend, TestDatabase, eventually, on_both_backends};

on_both_backends!(a_refresh_token_issued_before_a_restart_refreshes_after_it_and_rotates);

/// The contract's bound on how long another instance may still accept a revoked
/// session's tokens.
const REVOCATION_BOUND: Duration = Duration::from_secs(2);

async fn refresh(api: &Client, refresh_token: &str) -> taskdeck_testkit::Reply {
    api.post_json("/api/users/login", None, &json!({"refreshToken": refresh_token})).await
}

async fn a_refresh_token_issued_before_a_restart_refreshes_after_it_and_rotates(backend: TestBackend) {
    let Some(database) = TestDatabase::new(backend).await else { return };
    let first = database.start();
    let api = first.client();
    api.register("steady@example.com", PASSWORD).await.expect(201);
    let login = api.login_form("steady@example.com", PASSWORD).await.expect(200);
    let refresh_token = login.body["refresh_token"].as_str().expect("refresh token").to_owned();
    let (status, log) = first.terminate();
    assert!(status.success(), "{}", log.text());

    let second = database.start();
    let api = second.client();
    let refreshed = refresh(&api, &refresh_token).await.expect(200);
    let token = refreshed.body["access_token"].as_str().expect("access token");
    api.get("/api/users/me", Some(token)).await.expect(200);
    let replay = refresh(&api, &refresh_token).await.expect(401);
    assert_eq!(replay.body["error"], "invalid_grant");
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_a_session_ended_on_one_instance_is_refused_by_another_within_two_seconds() {
    let Some(database) = TestDatabase::new(TestBackend::Postgres).await else { return };
    let (one, other) = (database.start(), database.start());
    let (here, there) = (one.client(), other.client());
    let token = here.newcomer("roaming@example.com").await;
    // The other instance has seen the session live (and remembers it so).
    there.get("/api/users/me", Some(&token)).await.expect(200);
    there.get("/api/projects", Some(&token)).await.expect(200);

    here.request(axum::http::Method::POST, "/api/users/logout", Some(&token), None).await.expect(204);
    here.get("/api/users/me", Some(&token)).await.expect(401);

    eventually(REVOCATION_BOUND, "the other instance to refuse the ended session", || async {
        (there.get("/api/projects", Some(&token)).await.status.as_u16() == 401).then_some(())
    })
    .await;
    there.get("/api/users/me", Some(&token)).await.expect(401);
}
