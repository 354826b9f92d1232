//! `Idempotency-Key` on the three creating requests: a repeat within 24 hours replays
//! the first answer byte for byte and creates nothing, another request under the same
//! key is 422, a malformed key is 400, and keys belong to their caller.

use axum::http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};
use taskdeck_testkit::Client;

use crate::common::{PASSWORD, Reply, TestApp, User, assert_problem};

const KEY: &str = "Idempotency-Key";

async fn post_with_key(app: &TestApp, token: Option<&str>, path: &str, key: &[u8], body: &Value) -> Reply {
    let bytes = serde_json::to_vec(body).expect("JSON");
    let mut request = Client::build(Method::POST, path, token, Some(("application/json", bytes)));
    request.headers_mut().insert(KEY, HeaderValue::from_bytes(key).expect("a header value"));
    app.send(request).await
}

/// The replay equals the first answer in status, body bytes, `Location` and `ETag`.
fn assert_replay_of(replay: &Reply, first: &Reply) {
    assert_eq!(replay.status, first.status, "{replay:?}");
    assert_eq!(replay.text, first.text, "the body, byte for byte");
    for name in [header::LOCATION, header::ETAG, header::CONTENT_TYPE] {
        assert_eq!(replay.headers.get(&name), first.headers.get(&name), "{name}");
    }
    assert_eq!(replay.header("idempotent-replayed"), "true");
    assert!(first.headers.get("idempotent-replayed").is_none(), "the first answer is no replay");
}

async fn project_count(app: &TestApp, user: &User) -> usize {
    app.get("/api/projects", Some(&user.token)).await.expect(200).body["projects"].as_array().expect("projects").len()
}

#[tokio::test]
async fn a_repeated_project_creation_replays_the_first_answer_and_creates_nothing() {
    let app = TestApp::new().await;
    let user = app.user("retry@example.com").await;
    let before = project_count(&app, &user).await;
    let body = json!({"name": "Created once", "maximumNumberOfIncompleteTasks": 3});

    let first = post_with_key(&app, Some(&user.token), "/api/projects", b"create-1", &body).await.expect(201);
    let id = first.body["id"].as_i64().expect("id");
    app.put_json(&format!("/api/projects/{id}"), Some(&user.token), &json!({"name": "Renamed since"}))
        .await
        .expect(200);
    let replay = post_with_key(&app, Some(&user.token), "/api/projects", b"create-1", &body).await;

    assert_replay_of(&replay, &first);
    assert_eq!(replay.body["name"], "Created once", "the first answer, not the project as it is now");
    assert_eq!(project_count(&app, &user).await, before + 1);
}

#[tokio::test]
async fn a_repeated_task_creation_replays_the_first_answer_and_adds_one_task() {
    let app = TestApp::new().await;
    let user = app.user("taskretry@example.com").await;
    let project = app.project(&user, "Retried tasks", None).await;
    let path = format!("/api/projects/{project}/tasks");
    let body = json!({"name": "Added once"});

    let first = post_with_key(&app, Some(&user.token), &path, b"task-1", &body).await.expect(201);
    let replays: Vec<Reply> = {
        let mut replies = Vec::new();
        for _ in 0..3 {
            replies.push(post_with_key(&app, Some(&user.token), &path, b"task-1", &body).await);
        }
        replies
    };

    for replay in &replays {
        assert_replay_of(replay, &first);
    }
    assert_eq!(first.header(header::LOCATION), format!("/api/projects/{project}/tasks/1"));
    let tasks = app.get(&path, Some(&user.token)).await.expect(200);
    assert_eq!(tasks.body["tasks"].as_array().expect("tasks").len(), 1);
}

#[tokio::test]
async fn a_repeated_registration_replays_the_first_answer_and_creates_one_account() {
    let app = TestApp::new().await;
    let body = json!({"email": "once@example.com", "password": PASSWORD});

    let first = post_with_key(&app, None, "/api/users", b"signup-1", &body).await.expect(201);
    let replay = post_with_key(&app, None, "/api/users", b"signup-1", &body).await;

    assert_replay_of(&replay, &first);
    assert_eq!(first.header(header::LOCATION), "/api/users/me");
    // Without the key the same registration is what it always was: the address is taken.
    let again = app.post_json("/api/users", None, &body).await;
    assert_problem(&again, StatusCode::CONFLICT);
    let token = app.token("once@example.com", PASSWORD).await;
    assert_eq!(app.me(&token).await["id"], first.body["id"]);
}

#[tokio::test]
async fn the_same_key_with_another_body_or_route_is_422_and_creates_nothing() {
    let app = TestApp::new().await;
    let user = app.user("reuse@example.com").await;
    let project = app.project(&user, "Key reuse", None).await;
    post_with_key(&app, Some(&user.token), "/api/projects", b"reused", &json!({"name": "First body"}))
        .await
        .expect(201);
    let before = project_count(&app, &user).await;

    for (path, body) in [
        ("/api/projects".to_owned(), json!({"name": "Second body"})),
        ("/api/projects".to_owned(), json!({"name": "First body", "maximumNumberOfIncompleteTasks": 2})),
        (format!("/api/projects/{project}/tasks"), json!({"name": "First body"})),
    ] {
        let reply = post_with_key(&app, Some(&user.token), &path, b"reused", &body).await;
        assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(reply.body["type"], "urn:taskdeck:problem:idempotency-key-reused", "{reply:?}");
    }

    assert_eq!(project_count(&app, &user).await, before);
    let tasks = app.get(&format!("/api/projects/{project}/tasks"), Some(&user.token)).await.expect(200);
    assert_eq!(tasks.body["tasks"], json!([]));
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let app = TestApp::new().await;
    let alice = app.user("alicekeys@example.com").await;
    let bob = app.user("bobkeys@example.com").await;
    let body = json!({"name": "Same key"});

    let alices = post_with_key(&app, Some(&alice.token), "/api/projects", b"shared-key", &body).await.expect(201);
    let bobs = post_with_key(&app, Some(&bob.token), "/api/projects", b"shared-key", &body).await.expect(201);

    assert_ne!(alices.body["id"], bobs.body["id"]);
    assert!(bobs.headers.get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn a_refused_creation_keeps_no_key_and_may_be_retried_with_it() {
    let app = TestApp::new().await;
    let user = app.user("refused@example.com").await;
    let project = app.project(&user, "Full project", Some(1)).await;
    app.task(&user, project, "Fills the limit").await;
    let path = format!("/api/projects/{project}/tasks");
    let body = json!({"name": "Over the limit"});

    let refused = post_with_key(&app, Some(&user.token), &path, b"after-refusal", &body).await;
    assert_problem(&refused, StatusCode::CONFLICT);
    app.put(&format!("{path}/1/complete"), &user.token).await.expect(200);
    let created = post_with_key(&app, Some(&user.token), &path, b"after-refusal", &body).await.expect(201);

    assert_eq!(created.body["number"], 2);
    assert!(created.headers.get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn a_malformed_key_is_400_and_creates_nothing() {
    let app = TestApp::new().await;
    let user = app.user("badkeys@example.com").await;
    let project = app.project(&user, "Bad keys", None).await;
    let before = project_count(&app, &user).await;
    let long = "k".repeat(256);

    // A tab is the one control character an HTTP header can carry at all.
    for key in [&b""[..], long.as_bytes(), b"with space", b"tab\tkey", b"caf\xc3\xa9"] {
        for (token, path, body) in [
            (Some(user.token.as_str()), "/api/projects".to_owned(), json!({"name": "Never created"})),
            (Some(user.token.as_str()), format!("/api/projects/{project}/tasks"), json!({"name": "Never created"})),
            (None, "/api/users".to_owned(), json!({"email": "never@example.com", "password": PASSWORD})),
        ] {
            let reply = post_with_key(&app, token, &path, key, &body).await;
            assert_problem(&reply, StatusCode::BAD_REQUEST);
            assert_eq!(reply.body["type"], "urn:taskdeck:problem:invalid-idempotency-key", "{key:?}: {reply:?}");
        }
    }

    assert_eq!(project_count(&app, &user).await, before);
    let tasks = app.get(&format!("/api/projects/{project}/tasks"), Some(&user.token)).await.expect(200);
    assert_eq!(tasks.body["tasks"], json!([]));
    let login = app.login("never@example.com", PASSWORD).await;
    assert_problem(&login, StatusCode::UNAUTHORIZED);
    let longest = "k".repeat(255);
    post_with_key(&app, Some(&user.token), "/api/projects", longest.as_bytes(), &json!({"name": "Longest key"}))
        .await
        .expect(201);
}

#[tokio::test]
async fn of_concurrent_repeats_of_one_creation_exactly_one_creates() {
    let app = TestApp::new().await;
    let user = app.user("concurrent@example.com").await;
    let project = app.project(&user, "Concurrent repeats", None).await;
    let path = format!("/api/projects/{project}/tasks");
    let body = json!({"name": "Exactly once"});

    let replies = futures_join(&app, &user, &path, &body).await;

    let created: Vec<&Reply> = replies.iter().filter(|reply| reply.status == StatusCode::CREATED).collect();
    assert!(!created.is_empty());
    assert!(created.iter().all(|reply| reply.text == created[0].text), "every 201 is the same answer");
    assert_eq!(created.iter().filter(|reply| reply.headers.get("idempotent-replayed").is_none()).count(), 1);
    for reply in replies.iter().filter(|reply| reply.status != StatusCode::CREATED) {
        assert_problem(reply, StatusCode::CONFLICT);
        assert_eq!(reply.body["type"], "urn:taskdeck:problem:idempotency-key-in-use");
    }
    let tasks = app.get(&path, Some(&user.token)).await.expect(200);
    assert_eq!(tasks.body["tasks"].as_array().expect("tasks").len(), 1);
}

async fn futures_join(app: &TestApp, user: &User, path: &str, body: &Value) -> Vec<Reply> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (client, token, path, body) = ((**app).clone(), user.token.clone(), path.to_owned(), body.clone());
        set.spawn(async move {
            let bytes = serde_json::to_vec(&body).expect("JSON");
            let mut request = Client::build(Method::POST, &path, Some(&token), Some(("application/json", bytes)));
            request.headers_mut().insert(KEY, HeaderValue::from_static("raced"));
            client.send(request).await
        });
    }
    set.join_all().await
}
