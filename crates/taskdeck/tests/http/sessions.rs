//! Sessions: the refresh-token grant with rotation and reuse detection, logout, the
//! session list, ending one session, and what every route does with the tokens of an
//! ended session.

use crate::common::{
    FORM, JSON, PASSWORD, Reply, TestApp, User, assert_invalid_fields, assert_problem, assert_unauthorized, claims,
    keys,
};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

async fn refresh_with_form(app: &TestApp, refresh_token: &str) -> Reply {
    let form = format!("grant_type=refresh_token&refresh_token={refresh_token}");
    app.request(Method::POST, "/api/users/login", None, Some((FORM, form.into_bytes()))).await
}

async fn refresh_with_json(app: &TestApp, refresh_token: &str) -> Reply {
    app.post_json("/api/users/login", None, &json!({"refreshToken": refresh_token})).await
}

/// Logs `email` in (registered already) with a `User-Agent`.
async fn login_as(app: &TestApp, email: &str, user_agent: &str) -> Reply {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/users/login")
        .header(header::CONTENT_TYPE, JSON)
        .header(header::USER_AGENT, user_agent)
        .body(Body::from(json!({"email": email, "password": PASSWORD}).to_string()))
        .expect("a request");
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply
}

#[track_caller]
fn assert_invalid_grant(reply: &Reply) {
    assert_unauthorized(reply);
    assert_eq!(reply.body["error"], "invalid_grant", "{reply:?}");
}

fn sid(reply: &Reply) -> String {
    claims(reply.body["access_token"].as_str().expect("an access token"))["sid"].as_str().expect("sid").to_owned()
}

#[tokio::test]
async fn a_refresh_answers_new_tokens_of_the_same_session_and_the_new_access_token_works() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    let refreshed = refresh_with_form(&app, &alice.refresh_token).await;

    assert_eq!(refreshed.status, StatusCode::OK, "{refreshed:?}");
    assert_eq!(
        keys(&refreshed.body),
        ["access_token", "expires_in", "refresh_expires_in", "refresh_token", "token_type"]
    );
    assert_eq!(sid(&refreshed), alice.session, "a refresh stays in its session");
    assert_ne!(refreshed.body["refresh_token"], alice.refresh_token.as_str(), "every refresh rotates");
    let token = refreshed.body["access_token"].as_str().expect("token");
    assert_eq!(app.get("/api/users/me", Some(token)).await.status, StatusCode::OK);
    let again = refresh_with_json(&app, refreshed.body["refresh_token"].as_str().expect("refresh token")).await;
    assert_eq!(again.status, StatusCode::OK, "the rotated token refreshes in turn, JSON too: {again:?}");
}

#[tokio::test]
async fn a_spent_refresh_token_presented_again_ends_the_whole_session() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let refreshed = refresh_with_form(&app, &alice.refresh_token).await;
    let live_refresh = refreshed.body["refresh_token"].as_str().expect("refresh token").to_owned();
    let live_access = refreshed.body["access_token"].as_str().expect("token").to_owned();

    assert_invalid_grant(&refresh_with_form(&app, &alice.refresh_token).await);

    assert_invalid_grant(&refresh_with_form(&app, &live_refresh).await);
    assert_unauthorized(&app.get("/api/users/me", Some(&live_access)).await);
    assert_unauthorized(&app.get("/api/projects", Some(&alice.token)).await);
}

#[tokio::test]
async fn refresh_tokens_that_no_session_issued_are_invalid_grants_and_change_nothing() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let huge = "A".repeat(10_000);
    for presented in ["", "garbage", "a".repeat(43).as_str(), huge.as_str(), "%00%01%02"] {
        assert_invalid_grant(&refresh_with_form(&app, presented).await);
        assert_invalid_grant(&refresh_with_json(&app, presented).await);
    }
    let other_database = TestApp::new().await;
    let bob = other_database.user("bob@example.com").await;
    assert_invalid_grant(&refresh_with_form(&app, &bob.refresh_token).await);
    assert_eq!(refresh_with_form(&app, &alice.refresh_token).await.status, StatusCode::OK, "alice's still works");
}

#[tokio::test]
async fn a_refresh_grant_without_its_token_or_an_unknown_grant_names_the_field() {
    let app = TestApp::new().await;
    let no_token =
        app.request(Method::POST, "/api/users/login", None, Some((FORM, b"grant_type=refresh_token".to_vec())));
    assert_invalid_fields(&no_token.await, &["refresh_token"]);
    let unknown = "grant_type=client_credentials&username=a%40b.c&password=x";
    let unknown = app.request(Method::POST, "/api/users/login", None, Some((FORM, unknown.as_bytes().to_vec()))).await;
    assert_invalid_fields(&unknown, &["grant_type"]);
    let refresh_as_number = app.post_json("/api/users/login", None, &json!({"refreshToken": 42})).await;
    assert_invalid_fields(&refresh_as_number, &["refreshToken"]);
}

#[tokio::test]
async fn a_logout_ends_the_session_on_every_route_and_for_its_refresh_token() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let other_device = login_as(&app, "alice@example.com", "Phone/1").await;

    let logout = app.request(Method::POST, "/api/users/logout", Some(&alice.token), None).await;

    assert_eq!(logout.status, StatusCode::NO_CONTENT, "{logout:?}");
    assert!(logout.text.is_empty());
    assert_unauthorized(&app.get("/api/users/me", Some(&alice.token)).await);
    assert_unauthorized(&app.get("/api/projects", Some(&alice.token)).await);
    assert_unauthorized(&app.request(Method::POST, "/api/users/logout", Some(&alice.token), None).await);
    assert_invalid_grant(&refresh_with_form(&app, &alice.refresh_token).await);
    let phone = other_device.body["access_token"].as_str().expect("token");
    assert_eq!(app.get("/api/users/me", Some(phone)).await.status, StatusCode::OK, "other sessions go on");
}

#[tokio::test]
async fn the_session_list_shows_live_sessions_newest_first_and_marks_the_current_one() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let laptop = login_as(&app, "alice@example.com", "Laptop/2 (X11)").await;
    let phone = login_as(&app, "alice@example.com", "Phone/1").await;
    let bob = app.user("bob@example.com").await;
    let phone_token = phone.body["access_token"].as_str().expect("token");

    let listed = app.get("/api/users/me/sessions", Some(phone_token)).await;

    assert_eq!(listed.status, StatusCode::OK, "{listed:?}");
    let sessions = listed.body["sessions"].as_array().expect("sessions");
    let ids: Vec<&str> = sessions.iter().map(|session| session["id"].as_str().expect("id")).collect();
    assert_eq!(ids, [sid(&phone), sid(&laptop), alice.session.clone()], "newest first, only alice's");
    assert!(!ids.contains(&bob.session.as_str()));
    assert_eq!(keys(&sessions[0]), ["createdAt", "current", "id", "lastUsedAt", "userAgent"]);
    let current: Vec<bool> = sessions.iter().map(|session| session["current"].as_bool().expect("bool")).collect();
    assert_eq!(current, [true, false, false]);
    assert_eq!(sessions[0]["userAgent"], "Phone/1");
    assert_eq!(sessions[1]["userAgent"], "Laptop/2 (X11)");
    crate::common::assert_timestamp(&sessions[0]["createdAt"]);
    crate::common::assert_timestamp(&sessions[0]["lastUsedAt"]);
}

#[tokio::test]
async fn a_huge_user_agent_is_kept_to_its_first_256_characters() {
    let app = TestApp::new().await;
    app.user("alice@example.com").await;
    let huge = "x".repeat(100 * 1024);

    let login = login_as(&app, "alice@example.com", &huge).await;

    let token = login.body["access_token"].as_str().expect("token");
    let listed = app.get("/api/users/me/sessions", Some(token)).await;
    let agent = listed.body["sessions"][0]["userAgent"].as_str().expect("agent");
    assert_eq!(agent, "x".repeat(256));
}

#[tokio::test]
async fn ending_another_session_refuses_its_tokens_and_keeps_the_current_one() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let phone = login_as(&app, "alice@example.com", "Phone/1").await;
    let phone_token = phone.body["access_token"].as_str().expect("token");

    let ended = app.delete(&format!("/api/users/me/sessions/{}", sid(&phone)), &alice.token).await;

    assert_eq!(ended.status, StatusCode::NO_CONTENT, "{ended:?}");
    assert_unauthorized(&app.get("/api/users/me", Some(phone_token)).await);
    assert_invalid_grant(&refresh_with_form(&app, phone.body["refresh_token"].as_str().expect("refresh")).await);
    assert_eq!(app.get("/api/users/me", Some(&alice.token)).await.status, StatusCode::OK);
    let listed = app.get("/api/users/me/sessions", Some(&alice.token)).await;
    assert_eq!(listed.body["sessions"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn ending_the_current_session_is_a_logout() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    let ended = app.delete(&format!("/api/users/me/sessions/{}", alice.session), &alice.token).await;

    assert_eq!(ended.status, StatusCode::NO_CONTENT, "{ended:?}");
    assert_unauthorized(&app.get("/api/users/me", Some(&alice.token)).await);
}

#[tokio::test]
async fn sessions_that_are_not_the_callers_live_ones_are_not_found() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let bob: User = app.user("bob@example.com").await;
    let phone = login_as(&app, "alice@example.com", "Phone/1").await;
    assert_eq!(
        app.delete(&format!("/api/users/me/sessions/{}", sid(&phone)), &alice.token).await.status,
        StatusCode::NO_CONTENT
    );

    for id in [bob.session.as_str(), sid(&phone).as_str(), "5d3c8f1e-2a4b-4c6d-8e9f-0a1b2c3d4e5f", "not-a-uuid", "1"] {
        let reply = app.delete(&format!("/api/users/me/sessions/{id}"), &alice.token).await;
        assert_problem(&reply, StatusCode::NOT_FOUND);
    }
    assert_eq!(app.get("/api/users/me", Some(&bob.token)).await.status, StatusCode::OK, "bob's session is untouched");
}

// --- password change and erasure ------------------------------------------------------

async fn change_password(app: &TestApp, token: &str, current: &str, new: &str) -> Reply {
    app.put_json("/api/users/me/password", Some(token), &json!({"currentPassword": current, "newPassword": new})).await
}

async fn erase(app: &TestApp, token: &str, password: &str) -> Reply {
    let body = json!({"password": password}).to_string().into_bytes();
    app.request(Method::DELETE, "/api/users/me", Some(token), Some((JSON, body))).await
}

#[tokio::test]
async fn a_password_change_keeps_the_asking_session_and_ends_every_other() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let phone = login_as(&app, "alice@example.com", "Phone/1").await;
    let phone_token = phone.body["access_token"].as_str().expect("token");

    let changed = change_password(&app, &alice.token, PASSWORD, "a brand new password").await;

    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{changed:?}");
    assert_eq!(app.get("/api/users/me", Some(&alice.token)).await.status, StatusCode::OK, "this device stays");
    assert_unauthorized(&app.get("/api/projects", Some(phone_token)).await);
    assert_invalid_grant(&refresh_with_form(&app, phone.body["refresh_token"].as_str().expect("refresh")).await);
    assert_unauthorized(&app.login("alice@example.com", PASSWORD).await);
    assert_eq!(app.login("alice@example.com", "a brand new password").await.status, StatusCode::OK);
    assert_eq!(refresh_with_form(&app, &alice.refresh_token).await.status, StatusCode::OK, "nor its refresh token");
}

#[tokio::test]
async fn a_wrong_current_password_or_a_new_one_breaking_the_policy_changes_nothing() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let phone = login_as(&app, "alice@example.com", "Phone/1").await;

    assert_invalid_fields(
        &change_password(&app, &alice.token, "not my password", "a brand new password").await,
        &["currentPassword"],
    );
    assert_invalid_fields(&change_password(&app, &alice.token, PASSWORD, "short").await, &["newPassword"]);
    assert_invalid_fields(&change_password(&app, &alice.token, PASSWORD, &"x".repeat(129)).await, &["newPassword"]);
    let missing =
        app.put_json("/api/users/me/password", Some(&alice.token), &json!({"newPassword": "long enough"})).await;
    assert_invalid_fields(&missing, &["currentPassword"]);

    assert_eq!(app.login("alice@example.com", PASSWORD).await.status, StatusCode::OK);
    let phone_token = phone.body["access_token"].as_str().expect("token");
    assert_eq!(app.get("/api/users/me", Some(phone_token)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_erased_account_can_no_longer_sign_in_its_tokens_are_refused_and_its_address_is_free() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let phone = login_as(&app, "alice@example.com", "Phone/1").await;
    let project = app.project(&alice, "Household", None).await;
    app.task(&alice, project, "Buy some milk").await;

    let erased = erase(&app, &alice.token, PASSWORD).await;

    assert_eq!(erased.status, StatusCode::NO_CONTENT, "{erased:?}");
    app.deliver_events().await;
    for token in [alice.token.as_str(), phone.body["access_token"].as_str().expect("token")] {
        assert_unauthorized(&app.get("/api/users/me", Some(token)).await);
        assert_unauthorized(&app.get(&format!("/api/projects/{project}"), Some(token)).await);
    }
    assert_invalid_grant(&refresh_with_form(&app, &alice.refresh_token).await);
    assert_unauthorized(&app.login("alice@example.com", PASSWORD).await);
    let again = app.user("alice@example.com").await;
    assert_ne!(again.id, alice.id, "a new account");
    let me = app.get("/api/users/me", Some(&again.token)).await;
    assert_eq!(me.body["projects"].as_array().map(Vec::len), Some(1), "only the new starter project: {me:?}");
}

#[tokio::test]
async fn a_wrong_password_erases_nothing() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    assert_invalid_fields(&erase(&app, &alice.token, "not my password").await, &["password"]);
    let no_body = app.request(Method::DELETE, "/api/users/me", Some(&alice.token), None).await;
    assert_problem(&no_body, StatusCode::BAD_REQUEST);

    assert_eq!(app.get("/api/users/me", Some(&alice.token)).await.status, StatusCode::OK);
    assert_eq!(app.login("alice@example.com", PASSWORD).await.status, StatusCode::OK);
}
