//! Accounts over HTTP: registration, login, the signed-in user, and how access tokens
//! are checked.

use std::time::Duration;

use crate::common::{
    FORM, JSON, PASSWORD, TestApp, assert_invalid_fields, assert_problem, assert_timestamp, assert_unauthorized, keys,
};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use taskdeck::composition::Settings;
use taskdeck_kernel::UserId;
use taskdeck_platform::JwtAuthority;
use time::OffsetDateTime;
use uuid::Uuid;

// --- registration -------------------------------------------------------------------

#[tokio::test]
async fn registering_answers_201_with_the_location_of_the_account_and_the_user() {
    let app = TestApp::new().await;

    let reply = app.register("alice@example.com", PASSWORD).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(reply.header(header::LOCATION), "/api/users/me");
    assert!(reply.content_type().starts_with(JSON));
    assert_eq!(keys(&reply.body), ["email", "id"]);
    assert_eq!(reply.body["email"], "alice@example.com");
    let id = reply.body["id"].as_str().expect("id is a string");
    assert!(id.parse::<Uuid>().is_ok(), "id is not a UUID: {id}");
}

#[tokio::test]
async fn the_registered_email_is_trimmed() {
    let app = TestApp::new().await;

    let reply = app.register("  alice@example.com \t", PASSWORD).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(reply.body["email"], "alice@example.com");
    assert_eq!(app.login("alice@example.com", PASSWORD).await.status, StatusCode::OK);
}

#[tokio::test]
async fn registering_gives_the_user_a_starter_project_with_three_tasks_once_events_are_delivered() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    let me = app.get("/api/users/me", Some(&alice.token)).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    let projects = me.body["projects"].as_array().expect("projects");
    assert_eq!(projects.len(), 1, "{me:?}");
    assert_eq!(projects[0]["name"], "My first project");
    let id = projects[0]["id"].as_i64().expect("project id");

    let project = app.get(&format!("/api/projects/{id}"), Some(&alice.token)).await;
    assert_eq!(project.status, StatusCode::OK, "{project:?}");
    assert_eq!(project.body["maximumNumberOfIncompleteTasks"], Value::Null);
    assert_eq!(project.body["archivedAt"], Value::Null);

    let tasks = app.get(&format!("/api/projects/{id}/tasks"), Some(&alice.token)).await;
    assert_eq!(tasks.status, StatusCode::OK, "{tasks:?}");
    let tasks = tasks.body["tasks"].as_array().expect("tasks").clone();
    let summary: Vec<(i64, &str)> = tasks
        .iter()
        .map(|task| (task["number"].as_i64().expect("number"), task["name"].as_str().expect("name")))
        .collect();
    assert_eq!(summary, [(1, "Sign up!"), (2, "Watch the tutorial"), (3, "Start using our awesome app")]);
    assert_timestamp(&tasks[0]["completedAt"]);
    assert_eq!(tasks[1]["completedAt"], Value::Null);
    assert_eq!(tasks[2]["completedAt"], Value::Null);
}

#[tokio::test]
async fn the_starter_project_is_created_exactly_once() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    app.deliver_events().await;
    app.deliver_events().await;

    let list = app.get("/api/projects", Some(&alice.token)).await;
    let names: Vec<&Value> = list.body["projects"].as_array().expect("projects").iter().map(|p| &p["name"]).collect();
    assert_eq!(names, [&json!("My first project")]);
}

#[tokio::test]
async fn an_email_is_taken_whatever_its_letter_case() {
    let app = TestApp::new().await;
    assert_eq!(app.register("bob@example.com", PASSWORD).await.status, StatusCode::CREATED);

    for email in ["bob@example.com", "Bob@Example.com", " BOB@EXAMPLE.COM "] {
        let reply = app.register(email, "another password").await;
        assert_problem(&reply, StatusCode::CONFLICT);
    }
}

/// Composed and decomposed accents, letter case beyond ASCII and fullwidth letters:
/// each a spelling of one address, compared in NFKC with case folding.
#[tokio::test]
async fn an_email_is_taken_in_any_unicode_spelling_and_any_spelling_signs_in() {
    let app = TestApp::new().await;
    app.register("jos\u{e9}@example.com", PASSWORD).await.expect(201);

    for spelling in [
        "jos\u{e9}@example.com",
        "jose\u{301}@example.com",
        "JOS\u{c9}@EXAMPLE.COM",
        "JOSE\u{301}@Example.com",
        "ｊｏｓ\u{e9}@example.com",
    ] {
        let reply = app.register(spelling, "another password").await;
        assert_problem(&reply, StatusCode::CONFLICT);
        assert_eq!(reply.body["type"], json!("urn:taskdeck:problem:email-taken"), "{spelling:?}: {reply:?}");
        let token = assert_token_response(&app.login(spelling, PASSWORD).await);
        assert_eq!(app.me(&token).await["email"], "jos\u{e9}@example.com", "shown as registered");
    }
    // An accent is part of the address, not a spelling of it.
    app.register("jose@example.com", PASSWORD).await.expect(201);
}

#[tokio::test]
async fn a_fullwidth_address_and_a_sharp_s_fold_onto_their_plain_forms() {
    let app = TestApp::new().await;
    app.register("ｊｏｓｅ@example.com", PASSWORD).await.expect(201);
    assert_problem(&app.register("jose@example.com", PASSWORD).await, StatusCode::CONFLICT);
    let token = assert_token_response(&app.login("JOSE@example.com", PASSWORD).await);
    assert_eq!(app.me(&token).await["email"], "ｊｏｓｅ@example.com");

    app.register("stra\u{df}e@example.de", PASSWORD).await.expect(201);
    assert_problem(&app.register("STRASSE@example.de", PASSWORD).await, StatusCode::CONFLICT);
    assert_token_response(&app.login("strasse@example.de", PASSWORD).await);
}

#[tokio::test]
async fn an_email_that_breaks_the_rules_once_normalised_is_refused() {
    let app = TestApp::new().await;
    // A fullwidth at sign is a second '@'; a spacing diaeresis becomes a space.
    for email in ["a\u{ff20}b@example.com", "bob\u{a8}@example.com"] {
        assert_invalid_fields(&app.register(email, PASSWORD).await, &["email"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_of_one_email_create_one_account_and_answer_409_to_the_others() {
    let app = std::sync::Arc::new(TestApp::new().await);

    let mut requests = tokio::task::JoinSet::new();
    for email in ["same@example.com", "SAME@example.com", "Same@Example.com", "same@EXAMPLE.com"] {
        let app = std::sync::Arc::clone(&app);
        requests.spawn(async move { app.register(email, PASSWORD).await });
    }
    let mut statuses = Vec::new();
    while let Some(reply) = requests.join_next().await {
        let reply = reply.expect("request task");
        if reply.status != StatusCode::CREATED {
            assert_problem(&reply, StatusCode::CONFLICT);
        }
        statuses.push(reply.status);
    }

    assert_eq!(statuses.iter().filter(|status| **status == StatusCode::CREATED).count(), 1, "{statuses:?}");
}

#[tokio::test]
async fn an_invalid_email_is_refused_naming_the_email_field() {
    let app = TestApp::new().await;
    let too_long = format!("{}@{}.{}.{}.com", "a".repeat(64), "b".repeat(63), "c".repeat(63), "d".repeat(58));
    assert_eq!(too_long.len(), 255);

    for email in ["", "   ", "alice", "alice@", "@example.com", "alice@example", "a@b@example.com", &too_long] {
        let reply = app.register(email, PASSWORD).await;
        assert_invalid_fields(&reply, &["email"]);
    }
}

#[tokio::test]
async fn an_email_of_254_characters_is_accepted() {
    let app = TestApp::new().await;
    let longest = format!("{}@{}.{}.{}.com", "a".repeat(64), "b".repeat(63), "c".repeat(63), "d".repeat(57));
    assert_eq!(longest.len(), 254);

    let reply = app.register(&longest, PASSWORD).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
}

#[tokio::test]
async fn a_password_needs_8_to_128_characters() {
    let app = TestApp::new().await;

    assert_invalid_fields(&app.register("seven@example.com", &"p".repeat(7)).await, &["password"]);
    assert_eq!(app.register("eight@example.com", &"p".repeat(8)).await.status, StatusCode::CREATED);
    assert_eq!(app.register("long@example.com", &"p".repeat(128)).await.status, StatusCode::CREATED);
    assert_invalid_fields(&app.register("toolong@example.com", &"p".repeat(129)).await, &["password"]);
}

#[tokio::test]
async fn a_password_is_counted_in_characters_not_bytes() {
    let app = TestApp::new().await;

    // 8 characters, 16 bytes; 128 characters, 256 bytes
    assert_eq!(app.register("short@example.com", &"é".repeat(8)).await.status, StatusCode::CREATED);
    assert_eq!(app.register("long@example.com", &"é".repeat(128)).await.status, StatusCode::CREATED);
    assert_invalid_fields(&app.register("seven@example.com", &"é".repeat(7)).await, &["password"]);
}

#[tokio::test]
async fn an_invalid_email_and_password_are_both_named() {
    let app = TestApp::new().await;

    let reply = app.register("nobody", "short").await;

    assert_invalid_fields(&reply, &["email", "password"]);
}

#[tokio::test]
async fn a_missing_registration_field_is_a_validation_error_naming_it() {
    let app = TestApp::new().await;

    let no_password = app.post_json("/api/users", None, &json!({"email": "alice@example.com"})).await;
    assert_invalid_fields(&no_password, &["password"]);
    let no_email = app.post_json("/api/users", None, &json!({"password": PASSWORD})).await;
    assert_invalid_fields(&no_email, &["email"]);
}

#[tokio::test]
async fn a_registration_field_of_the_wrong_json_type_is_a_validation_error_naming_it() {
    let app = TestApp::new().await;

    let email = app.post_json("/api/users", None, &json!({"email": 42, "password": PASSWORD})).await;
    assert_invalid_fields(&email, &["email"]);
    let password = app.post_json("/api/users", None, &json!({"email": "alice@example.com", "password": true})).await;
    assert_invalid_fields(&password, &["password"]);
}

#[tokio::test]
async fn unknown_registration_fields_are_ignored() {
    let app = TestApp::new().await;

    let reply = app
        .post_json("/api/users", None, &json!({"email": "alice@example.com", "password": PASSWORD, "admin": true}))
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(keys(&reply.body), ["email", "id"]);
}

// --- login ---------------------------------------------------------------------------

async fn form_login(app: &TestApp, form: &str) -> crate::common::Reply {
    app.request(Method::POST, "/api/users/login", None, Some((FORM, form.as_bytes().to_vec()))).await
}

#[track_caller]
fn assert_token_response(reply: &crate::common::Reply) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(keys(&reply.body), ["access_token", "expires_in", "refresh_expires_in", "refresh_token", "token_type"]);
    assert_eq!(reply.body["token_type"], "bearer");
    assert_eq!(reply.body["expires_in"], 900);
    assert_eq!(reply.body["refresh_expires_in"], 30 * 86_400);
    reply.body["access_token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn logging_in_with_an_oauth2_password_form_gives_a_working_bearer_token() {
    let app = TestApp::new().await;
    app.register("alice@example.com", PASSWORD).await;

    for form in [
        "username=alice%40example.com&password=correct+horse+battery",
        "grant_type=password&username=alice%40example.com&password=correct%20horse%20battery",
    ] {
        let token = assert_token_response(&form_login(&app, form).await);
        let me = app.get("/api/users/me", Some(&token)).await;
        assert_eq!(me.status, StatusCode::OK, "{me:?}");
        assert_eq!(me.body["email"], "alice@example.com");
    }
}

#[tokio::test]
async fn logging_in_with_json_gives_a_working_bearer_token() {
    let app = TestApp::new().await;
    app.register("alice@example.com", PASSWORD).await;

    let token = assert_token_response(&app.login("alice@example.com", PASSWORD).await);

    assert_eq!(app.get("/api/users/me", Some(&token)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn logging_in_ignores_the_letter_case_of_the_email() {
    let app = TestApp::new().await;
    app.register("alice@example.com", PASSWORD).await;

    assert_token_response(&app.login("Alice@Example.COM", PASSWORD).await);
    assert_token_response(&form_login(&app, "username=ALICE%40example.com&password=correct+horse+battery").await);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_401() {
    let app = TestApp::new().await;
    app.register("alice@example.com", PASSWORD).await;

    let wrong_password = app.login("alice@example.com", "wrong password").await;
    let unknown_email = app.login("nobody@example.com", PASSWORD).await;
    let wrong_form = form_login(&app, "username=alice%40example.com&password=wrong+password").await;

    for reply in [&wrong_password, &unknown_email, &wrong_form] {
        assert_unauthorized(reply);
        assert_eq!(reply.body["detail"], "Invalid email or password");
    }
    assert_eq!(
        crate::common::without_request_id(&wrong_password.body),
        crate::common::without_request_id(&unknown_email.body)
    );
}

#[tokio::test]
async fn a_login_without_a_password_is_a_validation_error_naming_it() {
    let app = TestApp::new().await;

    assert_invalid_fields(&form_login(&app, "username=alice%40example.com").await, &["password"]);
    let json = app.post_json("/api/users/login", None, &json!({"email": "alice@example.com"})).await;
    assert_invalid_fields(&json, &["password"]);
}

#[tokio::test]
async fn a_login_body_that_is_neither_a_form_nor_json_is_a_bad_request() {
    let app = TestApp::new().await;

    let reply =
        app.request(Method::POST, "/api/users/login", None, Some(("text/plain", b"alice@example.com".to_vec()))).await;

    assert_problem(&reply, StatusCode::BAD_REQUEST);
}

// --- the signed-in user ----------------------------------------------------------------

#[tokio::test]
async fn me_lists_the_users_live_projects_ordered_by_id() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let starter = app.get("/api/users/me", Some(&alice.token)).await.body["projects"][0]["id"].clone();
    let doomed = app.project(&alice, "Doomed", None).await;
    let kept = app.project(&alice, "Kept", None).await;
    assert_eq!(app.put(&format!("/api/projects/{doomed}/archive"), &alice.token).await.status, StatusCode::OK);
    assert_eq!(app.delete(&format!("/api/projects/{doomed}"), &alice.token).await.status, StatusCode::NO_CONTENT);

    let me = app.get("/api/users/me", Some(&alice.token)).await;

    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    assert_eq!(keys(&me.body), ["email", "id", "projects"]);
    assert_eq!(me.body["id"], alice.id.as_str());
    assert_eq!(me.body["email"], "alice@example.com");
    assert_eq!(me.body["projects"], json!([{"id": starter, "name": "My first project"}, {"id": kept, "name": "Kept"}]));
}

#[tokio::test]
async fn me_lists_only_the_users_own_projects() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let bob = app.user("bob@example.com").await;
    app.project(&bob, "Bob's secrets", None).await;

    let me = app.get("/api/users/me", Some(&alice.token)).await;

    let names: Vec<&Value> = me.body["projects"].as_array().expect("projects").iter().map(|p| &p["name"]).collect();
    assert_eq!(names, [&json!("My first project")]);
}

#[tokio::test]
async fn changing_the_email_answers_the_user_with_the_new_address_and_moves_the_login() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    let reply = app.put_json("/api/users/me", Some(&alice.token), &json!({"email": "  alice@example.org "})).await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body, json!({"id": alice.id, "email": "alice@example.org"}));
    assert_eq!(app.get("/api/users/me", Some(&alice.token)).await.body["email"], "alice@example.org");
    assert_eq!(app.login("alice@example.org", PASSWORD).await.status, StatusCode::OK);
    assert_unauthorized(&app.login("alice@example.com", PASSWORD).await);
}

#[tokio::test]
async fn changing_the_email_to_the_same_address_changes_nothing() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    let reply = app.put_json("/api/users/me", Some(&alice.token), &json!({"email": "alice@example.com"})).await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body, json!({"id": alice.id, "email": "alice@example.com"}));
    assert_eq!(app.login("alice@example.com", PASSWORD).await.status, StatusCode::OK);
}

#[tokio::test]
async fn changing_the_email_to_the_same_address_in_other_letter_case_updates_its_spelling() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    let reply = app.put_json("/api/users/me", Some(&alice.token), &json!({"email": "Alice@Example.com"})).await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["email"], "Alice@Example.com");
}

#[tokio::test]
async fn changing_the_email_to_another_users_address_is_a_conflict() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    app.register("bob@example.com", PASSWORD).await;

    for email in ["bob@example.com", "BOB@example.com"] {
        let reply = app.put_json("/api/users/me", Some(&alice.token), &json!({ "email": email })).await;
        assert_problem(&reply, StatusCode::CONFLICT);
    }
    assert_eq!(app.get("/api/users/me", Some(&alice.token)).await.body["email"], "alice@example.com");
}

#[tokio::test]
async fn changing_the_email_to_an_invalid_or_missing_address_is_a_validation_error() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    for body in [json!({"email": "not an address"}), json!({"email": 7}), json!({})] {
        let reply = app.put_json("/api/users/me", Some(&alice.token), &body).await;
        assert_invalid_fields(&reply, &["email"]);
    }
}

// --- access tokens -------------------------------------------------------------------

/// Every route that needs a token, with a body where it takes one.
fn authenticated_routes() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::GET, "/api/users/me", None),
        (Method::PUT, "/api/users/me", Some(json!({"email": "eve@example.com"}))),
        (Method::GET, "/api/projects", None),
        (Method::POST, "/api/projects", Some(json!({"name": "Sneaky"}))),
        (Method::GET, "/api/projects/1", None),
        (Method::PUT, "/api/projects/1", Some(json!({"name": "Sneaky"}))),
        (Method::DELETE, "/api/projects/1", None),
        (Method::PUT, "/api/projects/1/archive", None),
        (Method::PUT, "/api/projects/1/unarchive", None),
        (Method::GET, "/api/projects/1/tasks", None),
        (Method::POST, "/api/projects/1/tasks", Some(json!({"name": "Sneaky"}))),
        (Method::GET, "/api/projects/1/tasks/1", None),
        (Method::PUT, "/api/projects/1/tasks/1/complete", None),
        (Method::PUT, "/api/projects/1/tasks/1/incomplete", None),
        (Method::POST, "/api/users/logout", None),
        (Method::GET, "/api/users/me/sessions", None),
        (Method::DELETE, "/api/users/me/sessions/5d3c8f1e-2a4b-4c6d-8e9f-0a1b2c3d4e5f", None),
        (
            Method::PUT,
            "/api/users/me/password",
            Some(json!({"currentPassword": PASSWORD, "newPassword": "new password"})),
        ),
        (Method::DELETE, "/api/users/me", Some(json!({"password": PASSWORD}))),
    ]
}

async fn send_with_authorization(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<&Value>,
    authorization: Option<&str>,
) -> crate::common::Reply {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    let request = match body {
        Some(body) => request.header(header::CONTENT_TYPE, JSON).body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    };
    app.send(request.expect("request")).await
}

#[tokio::test]
async fn every_authenticated_route_answers_401_with_a_bearer_challenge_without_a_token() {
    let app = TestApp::new().await;
    app.user("alice@example.com").await; // project 1 and its tasks exist

    for (method, path, body) in authenticated_routes() {
        let reply = send_with_authorization(&app, method.clone(), path, body.as_ref(), None).await;
        assert_unauthorized(&reply);
    }
}

#[tokio::test]
async fn a_malformed_authorization_header_is_refused_with_401() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    for authorization in
        ["Basic YWxpY2U6cGFzc3dvcmQ=", "Bearer", "Bearer ", &alice.token, &format!("Token {}", alice.token)]
    {
        let reply = send_with_authorization(&app, Method::GET, "/api/users/me", None, Some(authorization)).await;
        assert_unauthorized(&reply);
    }
}

#[tokio::test]
async fn a_token_that_is_not_a_jwt_is_refused_with_401_on_every_route() {
    let app = TestApp::new().await;
    app.user("alice@example.com").await;

    for (method, path, body) in authenticated_routes() {
        for token in ["garbage", "a.b.c"] {
            let authorization = format!("Bearer {token}");
            let reply = send_with_authorization(&app, method.clone(), path, body.as_ref(), Some(&authorization)).await;
            assert_unauthorized(&reply);
        }
    }
}

/// The application's own authority (its key generated and stored in the database,
/// since the default settings name none), to sign tokens the application itself would
/// not issue: for someone who has no account, or issued two hours ago.
async fn the_applications_authority(app: &TestApp) -> std::sync::Arc<JwtAuthority> {
    app.app.authority()
}

#[tokio::test]
async fn a_token_signed_with_the_applications_key_is_accepted() {
    // The control for the two tests below: the harness does know the right key.
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let user: UserId = alice.id.parse().expect("uuid");
    let session: Uuid = alice.session.parse().expect("uuid");

    let token = the_applications_authority(&app).await.issue(user, session, OffsetDateTime::now_utc()).expect("token");

    let me = app.get("/api/users/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    assert_eq!(me.body["id"], alice.id.as_str());
}

#[tokio::test]
async fn an_expired_token_is_refused_with_401() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let user: UserId = alice.id.parse().expect("uuid");
    let session: Uuid = alice.session.parse().expect("uuid");
    let two_hours_ago = OffsetDateTime::now_utc() - time::Duration::hours(2);

    let token = the_applications_authority(&app).await.issue(user, session, two_hours_ago).expect("token");

    assert_unauthorized(&app.get("/api/users/me", Some(&token)).await);
    assert_unauthorized(&app.get("/api/projects", Some(&token)).await);
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_refused_with_401() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let user: UserId = alice.id.parse().expect("uuid");
    let session: Uuid = alice.session.parse().expect("uuid");
    let installation = app.app.authority().audience().to_owned();
    let impostor =
        JwtAuthority::with_secret(b"a different secret, 32 bytes long", Duration::from_secs(3600), &installation);

    let token = impostor.issue(user, session, OffsetDateTime::now_utc()).expect("token");

    assert_unauthorized(&app.get("/api/users/me", Some(&token)).await);
    assert_unauthorized(&app.get("/api/projects", Some(&token)).await);
}

#[tokio::test]
async fn a_validly_signed_token_for_an_account_or_session_that_does_not_exist_is_refused_on_every_route() {
    // Found in a review: such a token used to create projects while /me refused it.
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let authority = the_applications_authority(&app).await;
    let now = OffsetDateTime::now_utc();
    let nobody = authority.issue(UserId::generate(), Uuid::new_v4(), now).expect("token");
    let alices_id: UserId = alice.id.parse().expect("uuid");
    let no_such_session = authority.issue(alices_id, Uuid::new_v4(), now).expect("token");
    let alices_session: Uuid = alice.session.parse().expect("uuid");
    let someone_elses_session = authority.issue(UserId::generate(), alices_session, now).expect("token");

    for token in [nobody, no_such_session, someone_elses_session] {
        for (method, path, body) in authenticated_routes() {
            let authorization = format!("Bearer {token}");
            let reply = send_with_authorization(&app, method.clone(), path, body.as_ref(), Some(&authorization)).await;
            assert_unauthorized(&reply);
        }
    }
    let projects = app.get("/api/projects", Some(&alice.token)).await;
    assert_eq!(projects.body["projects"].as_array().map(Vec::len), Some(1), "nothing was created: {projects:?}");
}

#[tokio::test]
async fn a_token_issued_in_the_future_is_refused_on_every_route() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let (user, session): (UserId, Uuid) = (alice.id.parse().expect("uuid"), alice.session.parse().expect("uuid"));
    let in_a_minute = OffsetDateTime::now_utc() + time::Duration::minutes(1);
    let token = the_applications_authority(&app).await.issue(user, session, in_a_minute).expect("token");

    for (method, path, body) in authenticated_routes() {
        let authorization = format!("Bearer {token}");
        assert_unauthorized(
            &send_with_authorization(&app, method.clone(), path, body.as_ref(), Some(&authorization)).await,
        );
    }
}

#[tokio::test]
async fn a_token_of_another_database_is_refused_on_every_route_even_with_the_same_key() {
    // An operator who resets the database but keeps TASKDECK_JWT_SECRET must not leave
    // old tokens valid for accounts that no longer exist.
    let settings = Settings { jwt_secret: Some("the same secret in both databases!!".into()), ..Settings::default() };
    let before_reset = TestApp::with_settings(&settings).await;
    let old = before_reset.user("alice@example.com").await;
    let after_reset = TestApp::with_settings(&settings).await;
    after_reset.user("bob@example.com").await;

    for (method, path, body) in authenticated_routes() {
        let authorization = format!("Bearer {}", old.token);
        let reply =
            send_with_authorization(&after_reset, method.clone(), path, body.as_ref(), Some(&authorization)).await;
        assert_unauthorized(&reply);
    }
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused_with_401() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let header = base64url(br#"{"alg":"none","typ":"JWT"}"#);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let installation = app.app.authority().audience().to_owned();
    let claims = json!({
        "sub": alice.id, "sid": alice.session, "iss": "taskdeck", "aud": installation,
        "iat": now, "nbf": now, "exp": now + 3600
    });
    let payload = base64url(claims.to_string().as_bytes());

    for token in [format!("{header}.{payload}."), format!("{header}.{payload}")] {
        assert_unauthorized(&app.get("/api/users/me", Some(&token)).await);
    }
}

/// Unpadded base64url, as JWTs use.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0_u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}
