//! Conditional requests: the `ETag` of projects and tasks, `If-None-Match` on reads
//! (304) and `If-Match` on every `PUT` and `DELETE` (412 when stale, nothing changed).

use axum::http::{HeaderValue, Method, StatusCode, header};
use serde_json::json;
use taskdeck_testkit::Client;

use crate::common::{Reply, TestApp, User, assert_problem};

/// Sends `method path` as `user` with one extra header (and a JSON body when given).
async fn with_header(
    app: &TestApp,
    user: &User,
    method: Method,
    path: &str,
    name: header::HeaderName,
    value: &str,
    body: Option<&serde_json::Value>,
) -> Reply {
    let body = body.map(|body| ("application/json", serde_json::to_vec(body).expect("JSON")));
    let mut request = Client::build(method, path, Some(&user.token), body);
    request.headers_mut().insert(name, HeaderValue::from_str(value).expect("a header value"));
    app.send(request).await
}

fn etag(reply: &Reply) -> String {
    let tag = reply.header(header::ETAG).to_owned();
    assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() > 2, "a strong, quoted tag: {tag}");
    tag
}

fn assert_precondition_failed(reply: &Reply) {
    assert_problem(reply, StatusCode::PRECONDITION_FAILED);
    assert_eq!(reply.body["type"], "urn:taskdeck:problem:precondition-failed", "{reply:?}");
}

#[tokio::test]
async fn a_project_read_with_its_current_tag_is_not_modified() {
    let app = TestApp::new().await;
    let user = app.user("cache@example.com").await;
    let project = app.project(&user, "Cached project", None).await;
    let path = format!("/api/projects/{project}");

    let first = app.get(&path, Some(&user.token)).await.expect(200);
    let tag = etag(&first);
    assert_eq!(etag(&app.get(&path, Some(&user.token)).await.expect(200)), tag, "stable while unchanged");

    let revalidated = with_header(&app, &user, Method::GET, &path, header::IF_NONE_MATCH, &tag, None).await.expect(304);
    assert_eq!(etag(&revalidated), tag);
    assert!(revalidated.text.is_empty(), "a 304 has no body: {revalidated:?}");
    let weak = format!("\"other\", W/{tag}");
    with_header(&app, &user, Method::GET, &path, header::IF_NONE_MATCH, &weak, None).await.expect(304);
    with_header(&app, &user, Method::GET, &path, header::IF_NONE_MATCH, "*", None).await.expect(304);
    let stale = with_header(&app, &user, Method::GET, &path, header::IF_NONE_MATCH, "\"p0\"", None).await.expect(200);
    assert_eq!(stale.body["name"], "Cached project");
}

#[tokio::test]
async fn a_change_moves_the_tag_and_the_write_answers_the_new_one() {
    let app = TestApp::new().await;
    let user = app.user("mover@example.com").await;
    let project = app.project(&user, "Moving project", None).await;
    let path = format!("/api/projects/{project}");
    let before = etag(&app.get(&path, Some(&user.token)).await.expect(200));

    let renamed = app.put_json(&path, Some(&user.token), &json!({"name": "Renamed project"})).await.expect(200);

    let after = etag(&renamed);
    assert_ne!(after, before);
    assert_eq!(etag(&app.get(&path, Some(&user.token)).await.expect(200)), after);
    let read = with_header(&app, &user, Method::GET, &path, header::IF_NONE_MATCH, &before, None).await.expect(200);
    assert_eq!(read.body["name"], "Renamed project");
}

#[tokio::test]
async fn a_rename_over_a_colleagues_rename_is_refused_and_changes_nothing() {
    let app = TestApp::new().await;
    let user = app.user("editors@example.com").await;
    let project = app.project(&user, "Shared project", None).await;
    let path = format!("/api/projects/{project}");
    let read = etag(&app.get(&path, Some(&user.token)).await.expect(200));

    let first = json!({"name": "First rename"});
    let won = with_header(&app, &user, Method::PUT, &path, header::IF_MATCH, &read, Some(&first)).await.expect(200);
    let second = json!({"name": "Second rename"});
    let lost = with_header(&app, &user, Method::PUT, &path, header::IF_MATCH, &read, Some(&second)).await;

    assert_precondition_failed(&lost);
    let now = app.get(&path, Some(&user.token)).await.expect(200);
    assert_eq!(now.body["name"], "First rename");
    assert_eq!(etag(&now), etag(&won));
    let listed = format!("\"p0\", {}", etag(&won));
    with_header(&app, &user, Method::PUT, &path, header::IF_MATCH, &listed, Some(&second)).await.expect(200);
}

#[tokio::test]
async fn every_put_and_delete_of_a_project_honours_if_match() {
    let app = TestApp::new().await;
    let user = app.user("projectwrites@example.com").await;
    let project = app.project(&user, "Guarded project", None).await;
    let path = format!("/api/projects/{project}");
    let stale = "\"p0\"";

    for (method, route) in [
        (Method::PUT, format!("{path}/archive")),
        (Method::PUT, format!("{path}/unarchive")),
        (Method::DELETE, path.clone()),
    ] {
        let reply = with_header(&app, &user, method.clone(), &route, header::IF_MATCH, stale, None).await;
        assert_precondition_failed(&reply);
    }
    // A weak tag never matches If-Match, which compares strongly.
    let tag = etag(&app.get(&path, Some(&user.token)).await.expect(200));
    let weak = format!("W/{tag}");
    assert_precondition_failed(
        &with_header(&app, &user, Method::PUT, &format!("{path}/archive"), header::IF_MATCH, &weak, None).await,
    );
    let unchanged = app.get(&path, Some(&user.token)).await.expect(200);
    assert_eq!(unchanged.body["archivedAt"], serde_json::Value::Null);
    assert_eq!(etag(&unchanged), tag);

    let archived = with_header(&app, &user, Method::PUT, &format!("{path}/archive"), header::IF_MATCH, &tag, None)
        .await
        .expect(200);
    let archived_tag = etag(&archived);
    assert_ne!(archived_tag, tag);
    assert_precondition_failed(&with_header(&app, &user, Method::DELETE, &path, header::IF_MATCH, &tag, None).await);
    with_header(&app, &user, Method::DELETE, &path, header::IF_MATCH, &archived_tag, None).await.expect(204);
    app.get(&path, Some(&user.token)).await.expect(404);
}

#[tokio::test]
async fn a_task_has_its_own_tag_that_other_tasks_do_not_move() {
    let app = TestApp::new().await;
    let user = app.user("tasktags@example.com").await;
    let project = app.project(&user, "Task tags", None).await;
    let created = app
        .post_json(&format!("/api/projects/{project}/tasks"), Some(&user.token), &json!({"name": "First task"}))
        .await
        .expect(201);
    let path = format!("/api/projects/{project}/tasks/1");
    let tag = etag(&created);
    assert_eq!(etag(&app.get(&path, Some(&user.token)).await.expect(200)), tag, "the 201 carries the task's tag");

    app.task(&user, project, "Second task").await;
    app.put(&format!("/api/projects/{project}/tasks/2/complete"), &user.token).await.expect(200);

    with_header(&app, &user, Method::GET, &path, header::IF_NONE_MATCH, &tag, None).await.expect(304);
    let completed = with_header(&app, &user, Method::PUT, &format!("{path}/complete"), header::IF_MATCH, &tag, None)
        .await
        .expect(200);
    let completed_tag = etag(&completed);
    assert_ne!(completed_tag, tag);
    assert_eq!(etag(&app.get(&path, Some(&user.token)).await.expect(200)), completed_tag);
}

#[tokio::test]
async fn a_stale_task_write_is_refused_and_changes_nothing() {
    let app = TestApp::new().await;
    let user = app.user("stale@example.com").await;
    let project = app.project(&user, "Stale writes", None).await;
    app.task(&user, project, "Contested task").await;
    let path = format!("/api/projects/{project}/tasks/1");
    let open = etag(&app.get(&path, Some(&user.token)).await.expect(200));
    app.put(&format!("{path}/complete"), &user.token).await.expect(200);
    let done = app.get(&path, Some(&user.token)).await.expect(200);

    assert_precondition_failed(
        &with_header(&app, &user, Method::PUT, &format!("{path}/incomplete"), header::IF_MATCH, &open, None).await,
    );
    assert_precondition_failed(
        &with_header(&app, &user, Method::PUT, &format!("{path}/complete"), header::IF_MATCH, &open, None).await,
    );

    let after = app.get(&path, Some(&user.token)).await.expect(200);
    assert_eq!(after.body, done.body);
    assert_eq!(etag(&after), etag(&done));
}

#[tokio::test]
async fn a_missing_resource_is_404_whatever_the_precondition() {
    let app = TestApp::new().await;
    let user = app.user("missing@example.com").await;
    let project = app.project(&user, "Has no tasks", None).await;
    let reply = with_header(
        &app,
        &user,
        Method::PUT,
        &format!("/api/projects/{project}/tasks/7/complete"),
        header::IF_MATCH,
        "\"x\"",
        None,
    )
    .await;
    assert_problem(&reply, StatusCode::NOT_FOUND);
    let reply =
        with_header(&app, &user, Method::PUT, "/api/projects/999999/archive", header::IF_MATCH, "\"x\"", None).await;
    assert_problem(&reply, StatusCode::NOT_FOUND);
    let reply = with_header(&app, &user, Method::GET, "/api/projects/999999", header::IF_NONE_MATCH, "*", None).await;
    assert_problem(&reply, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_star_or_a_malformed_list_is_400_and_changes_nothing() {
    let app = TestApp::new().await;
    let user = app.user("malformed@example.com").await;
    let project = app.project(&user, "Malformed tags", None).await;
    app.task(&user, project, "Kept as it is").await;
    let path = format!("/api/projects/{project}");
    let before = app.get(&path, Some(&user.token)).await.expect(200);
    let rename = json!({"name": "Must not happen"});

    let star = with_header(&app, &user, Method::PUT, &path, header::IF_MATCH, "*", Some(&rename)).await;
    assert_problem(&star, StatusCode::BAD_REQUEST);
    assert_eq!(star.body["type"], "urn:taskdeck:problem:unsupported-precondition");
    for malformed in ["p1", "\"p1", "\"p1\" \"p2\"", "\"p1\",", "*, \"p1\"", "\"p 1\""] {
        for (method, route, body) in [
            (Method::PUT, path.clone(), Some(&rename)),
            (Method::PUT, format!("{path}/archive"), None),
            (Method::DELETE, path.clone(), None),
            (Method::PUT, format!("{path}/tasks/1/complete"), None),
        ] {
            let reply = with_header(&app, &user, method, &route, header::IF_MATCH, malformed, body).await;
            assert_problem(&reply, StatusCode::BAD_REQUEST);
            assert_eq!(reply.body["type"], "urn:taskdeck:problem:malformed-precondition", "{malformed}: {reply:?}");
        }
        let read = with_header(&app, &user, Method::GET, &path, header::IF_NONE_MATCH, malformed, None).await;
        assert_problem(&read, StatusCode::BAD_REQUEST);
    }

    let after = app.get(&path, Some(&user.token)).await.expect(200);
    assert_eq!(after.body, before.body);
    assert_eq!(etag(&after), etag(&before));
    let task = app.get(&format!("{path}/tasks/1"), Some(&user.token)).await.expect(200);
    assert_eq!(task.body["completedAt"], serde_json::Value::Null);
}

#[tokio::test]
async fn another_users_project_is_404_even_with_its_tag() {
    let app = TestApp::new().await;
    let owner = app.user("tagowner@example.com").await;
    let intruder = app.user("tagintruder@example.com").await;
    let project = app.project(&owner, "Private tags", None).await;
    let path = format!("/api/projects/{project}");
    let tag = etag(&app.get(&path, Some(&owner.token)).await.expect(200));

    let read = with_header(&app, &intruder, Method::GET, &path, header::IF_NONE_MATCH, &tag, None).await;
    assert_problem(&read, StatusCode::NOT_FOUND);
    let write =
        with_header(&app, &intruder, Method::PUT, &format!("{path}/archive"), header::IF_MATCH, &tag, None).await;
    assert_problem(&write, StatusCode::NOT_FOUND);
    assert_eq!(etag(&app.get(&path, Some(&owner.token)).await.expect(200)), tag);
}
