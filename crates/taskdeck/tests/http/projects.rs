//! Projects over HTTP: creating, reading, updating, archiving and deleting, and the
//! rule that only the owner ever sees a project.

use crate::common::{JSON, Reply, TestApp, User, assert_invalid_fields, assert_problem, assert_timestamp, keys};
use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};

/// The id of the user's starter project.
async fn starter(app: &TestApp, user: &User) -> i64 {
    let list = app.get("/api/projects", Some(&user.token)).await;
    list.body["projects"][0]["id"].as_i64().expect("the starter project")
}

/// Every project and task route of a project, with a valid body where it takes one.
fn routes_of(project: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, format!("/api/projects/{project}"), None),
        (Method::PUT, format!("/api/projects/{project}"), Some(json!({"name": "Renamed"}))),
        (Method::DELETE, format!("/api/projects/{project}"), None),
        (Method::PUT, format!("/api/projects/{project}/archive"), None),
        (Method::PUT, format!("/api/projects/{project}/unarchive"), None),
        (Method::GET, format!("/api/projects/{project}/tasks"), None),
        (Method::POST, format!("/api/projects/{project}/tasks"), Some(json!({"name": "Intrude"}))),
        (Method::GET, format!("/api/projects/{project}/tasks/1"), None),
        (Method::PUT, format!("/api/projects/{project}/tasks/1/complete"), None),
        (Method::PUT, format!("/api/projects/{project}/tasks/1/incomplete"), None),
    ]
}

async fn call(app: &TestApp, user: &User, method: Method, path: &str, body: Option<&Value>) -> Reply {
    let body = body.map(|body| (JSON, body.to_string().into_bytes()));
    app.request(method, path, Some(&user.token), body).await
}

async fn named(app: &TestApp, user: &User, name: String) -> Reply {
    app.post_json("/api/projects", Some(&user.token), &json!({ "name": name })).await
}

#[track_caller]
fn assert_project_shape(project: &Value) {
    for key in ["id", "name", "maximumNumberOfIncompleteTasks", "archivedAt"] {
        assert!(project.get(key).is_some(), "no {key} in {project}");
    }
    assert!(project["id"].as_i64().is_some_and(|id| id >= 1), "{project}");
    assert!(project["name"].is_string(), "{project}");
    assert!(project["maximumNumberOfIncompleteTasks"].is_null() || project["maximumNumberOfIncompleteTasks"].is_i64());
    if !project["archivedAt"].is_null() {
        assert_timestamp(&project["archivedAt"]);
    }
}

// --- creating and reading ----------------------------------------------------------------

#[tokio::test]
async fn creating_a_project_answers_201_with_its_location_and_the_project() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    let reply = app.post_json("/api/projects", Some(&alice.token), &json!({"name": "Household"})).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert!(reply.content_type().starts_with(JSON));
    assert_project_shape(&reply.body);
    let id = reply.body["id"].as_i64().expect("id");
    assert_eq!(reply.header(header::LOCATION), format!("/api/projects/{id}"));
    assert_eq!(reply.body["name"], "Household");
    assert_eq!(reply.body["maximumNumberOfIncompleteTasks"], Value::Null);
    assert_eq!(reply.body["archivedAt"], Value::Null);

    let fetched = app.get(&format!("/api/projects/{id}"), Some(&alice.token)).await;
    assert_eq!(fetched.status, StatusCode::OK, "{fetched:?}");
    assert_eq!(fetched.body, reply.body);
}

#[tokio::test]
async fn a_project_is_created_with_the_given_limit_or_none_when_null() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    let limited = app
        .post_json(
            "/api/projects",
            Some(&alice.token),
            &json!({"name": "Limited", "maximumNumberOfIncompleteTasks": 3}),
        )
        .await;
    let unlimited = app
        .post_json(
            "/api/projects",
            Some(&alice.token),
            &json!({"name": "Unlimited", "maximumNumberOfIncompleteTasks": null}),
        )
        .await;

    assert_eq!(limited.status, StatusCode::CREATED, "{limited:?}");
    assert_eq!(limited.body["maximumNumberOfIncompleteTasks"], 3);
    assert_eq!(unlimited.status, StatusCode::CREATED, "{unlimited:?}");
    assert_eq!(unlimited.body["maximumNumberOfIncompleteTasks"], Value::Null);
}

#[tokio::test]
async fn unknown_project_fields_are_ignored() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    let reply = app
        .post_json("/api/projects", Some(&alice.token), &json!({"name": "Colourful", "colour": "red", "id": 99}))
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(reply.body["name"], "Colourful");
    assert_ne!(reply.body["id"], 99);
}

#[tokio::test]
async fn the_project_list_holds_summaries_ordered_by_id() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let first = starter(&app, &alice).await;
    let second = app.project(&alice, "Second", Some(2)).await;
    let third = app.project(&alice, "Third", None).await;
    app.put(&format!("/api/projects/{third}/archive"), &alice.token).await;

    let list = app.get("/api/projects", Some(&alice.token)).await;

    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    assert_eq!(keys(&list.body), ["nextCursor", "projects"]);
    assert_eq!(list.body["nextCursor"], Value::Null);
    let projects = list.body["projects"].as_array().expect("projects");
    let ids: Vec<i64> = projects.iter().map(|p| p["id"].as_i64().expect("id")).collect();
    assert_eq!(ids, [first, second, third]);
    assert!(first < second && second < third);
    let names: Vec<&str> = projects.iter().map(|p| p["name"].as_str().expect("name")).collect();
    assert_eq!(names, ["My first project", "Second", "Third"]);
    assert_eq!(projects[0]["archivedAt"], Value::Null);
    assert_eq!(projects[1]["archivedAt"], Value::Null);
    assert_timestamp(&projects[2]["archivedAt"]);
}

#[tokio::test]
async fn a_project_name_is_trimmed_and_needs_4_to_32_characters() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let create = |name: String| named(&app, &alice, name);

    assert_invalid_fields(&create("  abc  ".to_owned()).await, &["name"]);
    let four = create("  abcd  ".to_owned()).await;
    assert_eq!(four.status, StatusCode::CREATED, "{four:?}");
    assert_eq!(four.body["name"], "abcd");
    let thirty_two = create(format!(" {} ", "x".repeat(32))).await;
    assert_eq!(thirty_two.status, StatusCode::CREATED, "{thirty_two:?}");
    assert_eq!(thirty_two.body["name"], "x".repeat(32));
    assert_invalid_fields(&create(format!(" {} ", "x".repeat(33))).await, &["name"]);
}

#[tokio::test]
async fn a_project_name_is_counted_in_characters_not_bytes() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    let short = app.post_json("/api/projects", Some(&alice.token), &json!({"name": "été"})).await;
    let four = app.post_json("/api/projects", Some(&alice.token), &json!({"name": "ÉTÉS"})).await;
    let long = app.post_json("/api/projects", Some(&alice.token), &json!({"name": "é".repeat(32)})).await;
    let too_long = app.post_json("/api/projects", Some(&alice.token), &json!({"name": "é".repeat(33)})).await;

    assert_invalid_fields(&short, &["name"]);
    assert_eq!(four.status, StatusCode::CREATED, "{four:?}");
    assert_eq!(long.status, StatusCode::CREATED, "{long:?}");
    assert_invalid_fields(&too_long, &["name"]);
}

#[tokio::test]
async fn a_limit_below_1_is_a_validation_error_naming_the_field() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    for limit in [0, -1] {
        let reply = app
            .post_json(
                "/api/projects",
                Some(&alice.token),
                &json!({"name": "Limited", "maximumNumberOfIncompleteTasks": limit}),
            )
            .await;
        assert_invalid_fields(&reply, &["maximumNumberOfIncompleteTasks"]);
    }
    let one = app
        .post_json(
            "/api/projects",
            Some(&alice.token),
            &json!({"name": "Limited", "maximumNumberOfIncompleteTasks": 1}),
        )
        .await;
    assert_eq!(one.status, StatusCode::CREATED, "{one:?}");
}

#[tokio::test]
async fn an_invalid_name_and_limit_are_both_named() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    let reply = app
        .post_json("/api/projects", Some(&alice.token), &json!({"name": "ab", "maximumNumberOfIncompleteTasks": 0}))
        .await;

    let mut fields: Vec<&str> =
        reply.body["errors"].as_array().expect("errors").iter().map(|e| e["field"].as_str().expect("field")).collect();
    fields.sort_unstable();
    assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields, ["maximumNumberOfIncompleteTasks", "name"]);
}

#[tokio::test]
async fn a_missing_name_or_a_value_of_the_wrong_json_type_is_a_validation_error_naming_the_field() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let project = format!("/api/projects/{}", starter(&app, &alice).await);

    let cases = [
        (json!({}), "name"),
        (json!({"maximumNumberOfIncompleteTasks": 2}), "name"),
        (json!({"name": 1234}), "name"),
        (json!({"name": null}), "name"),
        (json!({"name": "Typed", "maximumNumberOfIncompleteTasks": "three"}), "maximumNumberOfIncompleteTasks"),
        (json!({"name": "Typed", "maximumNumberOfIncompleteTasks": 2.5}), "maximumNumberOfIncompleteTasks"),
    ];
    for (body, field) in cases {
        let created = app.post_json("/api/projects", Some(&alice.token), &body).await;
        assert_invalid_fields(&created, &[field]);
        let updated = app.put_json(&project, Some(&alice.token), &body).await;
        assert_invalid_fields(&updated, &[field]);
    }
}

#[tokio::test]
async fn an_unknown_project_is_not_found() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    for (method, path, body) in routes_of("9999") {
        let reply = call(&app, &alice, method.clone(), &path, body.as_ref()).await;
        assert_problem(&reply, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_project_id_that_is_not_a_positive_integer_is_not_found() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    starter(&app, &alice).await;

    for id in ["abc", "0", "-1", "1.5", "1e3", "99999999999999999999", "%20"] {
        for (method, path, body) in routes_of(id) {
            let reply = call(&app, &alice, method.clone(), &path, body.as_ref()).await;
            assert_problem(&reply, StatusCode::NOT_FOUND);
        }
    }
}

#[tokio::test]
async fn a_task_number_that_is_not_a_positive_integer_is_not_found() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let project = starter(&app, &alice).await;

    for number in ["abc", "0", "-1", "2.0", "99999999999999999999"] {
        for suffix in ["", "/complete", "/incomplete"] {
            let path = format!("/api/projects/{project}/tasks/{number}{suffix}");
            let method = if suffix.is_empty() { Method::GET } else { Method::PUT };
            let reply = call(&app, &alice, method, &path, None).await;
            assert_problem(&reply, StatusCode::NOT_FOUND);
        }
    }
}

// --- updating ------------------------------------------------------------------------------

#[tokio::test]
async fn updating_a_project_renames_it_and_leaves_an_absent_limit_unchanged() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let id = app.project(&alice, "Household", Some(3)).await;

    let reply = app.put_json(&format!("/api/projects/{id}"), Some(&alice.token), &json!({"name": "  Chores  "})).await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_project_shape(&reply.body);
    assert_eq!(reply.body["id"], id);
    assert_eq!(reply.body["name"], "Chores");
    assert_eq!(reply.body["maximumNumberOfIncompleteTasks"], 3);
    assert_eq!(app.get(&format!("/api/projects/{id}"), Some(&alice.token)).await.body, reply.body);
}

#[tokio::test]
async fn updating_a_project_with_a_null_limit_removes_the_limit() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let id = app.project(&alice, "Household", Some(3)).await;

    let reply = app
        .put_json(
            &format!("/api/projects/{id}"),
            Some(&alice.token),
            &json!({"name": "Household", "maximumNumberOfIncompleteTasks": null}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["maximumNumberOfIncompleteTasks"], Value::Null);
}

#[tokio::test]
async fn updating_a_project_sets_a_new_limit() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let id = app.project(&alice, "Household", None).await;

    let reply = app
        .put_json(
            &format!("/api/projects/{id}"),
            Some(&alice.token),
            &json!({"name": "Household", "maximumNumberOfIncompleteTasks": 5}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["maximumNumberOfIncompleteTasks"], 5);
}

#[tokio::test]
async fn updating_a_project_validates_the_name_and_limit() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let id = app.project(&alice, "Household", None).await;
    let path = format!("/api/projects/{id}");

    assert_invalid_fields(&app.put_json(&path, Some(&alice.token), &json!({"name": " abc "})).await, &["name"]);
    assert_invalid_fields(&app.put_json(&path, Some(&alice.token), &json!({"name": "y".repeat(33)})).await, &["name"]);
    let zero = app
        .put_json(&path, Some(&alice.token), &json!({"name": "Household", "maximumNumberOfIncompleteTasks": 0}))
        .await;
    assert_invalid_fields(&zero, &["maximumNumberOfIncompleteTasks"]);
    assert_eq!(app.get(&path, Some(&alice.token)).await.body["name"], "Household");
}

#[tokio::test]
async fn a_limit_below_the_number_of_incomplete_tasks_is_a_conflict() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let id = starter(&app, &alice).await; // two incomplete tasks
    let path = format!("/api/projects/{id}");

    let below =
        app.put_json(&path, Some(&alice.token), &json!({"name": "Starter", "maximumNumberOfIncompleteTasks": 1})).await;
    assert_problem(&below, StatusCode::CONFLICT);
    assert_eq!(app.get(&path, Some(&alice.token)).await.body["name"], "My first project");

    let equal =
        app.put_json(&path, Some(&alice.token), &json!({"name": "Starter", "maximumNumberOfIncompleteTasks": 2})).await;
    assert_eq!(equal.status, StatusCode::OK, "{equal:?}");
    assert_eq!(equal.body["maximumNumberOfIncompleteTasks"], 2);
}

#[tokio::test]
async fn an_archived_project_cannot_be_renamed() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let id = app.project(&alice, "Household", None).await;
    app.put(&format!("/api/projects/{id}/archive"), &alice.token).await;

    let reply = app.put_json(&format!("/api/projects/{id}"), Some(&alice.token), &json!({"name": "Chores"})).await;

    assert_problem(&reply, StatusCode::CONFLICT);
    assert_eq!(app.get(&format!("/api/projects/{id}"), Some(&alice.token)).await.body["name"], "Household");
}

// --- archiving ---------------------------------------------------------------------------

#[tokio::test]
async fn a_project_with_incomplete_tasks_cannot_be_archived() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let id = starter(&app, &alice).await;

    let reply = app.put(&format!("/api/projects/{id}/archive"), &alice.token).await;

    assert_problem(&reply, StatusCode::CONFLICT);
    assert_eq!(app.get(&format!("/api/projects/{id}"), Some(&alice.token)).await.body["archivedAt"], Value::Null);
}

#[tokio::test]
async fn a_project_whose_tasks_are_all_completed_is_archived_idempotently() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let id = starter(&app, &alice).await;
    for number in [2, 3] {
        let completed = app.put(&format!("/api/projects/{id}/tasks/{number}/complete"), &alice.token).await;
        assert_eq!(completed.status, StatusCode::OK, "{completed:?}");
    }

    let first = app.put(&format!("/api/projects/{id}/archive"), &alice.token).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await; // so that a new time would differ
    let second = app.put(&format!("/api/projects/{id}/archive"), &alice.token).await;

    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_project_shape(&first.body);
    assert_eq!(first.body["id"], id);
    assert_timestamp(&first.body["archivedAt"]);
    assert_eq!(second.status, StatusCode::OK, "{second:?}");
    assert_eq!(second.body, first.body);
    assert_eq!(app.get(&format!("/api/projects/{id}"), Some(&alice.token)).await.body, first.body);
}

#[tokio::test]
async fn unarchiving_is_idempotent_and_makes_the_project_writable_again() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let id = app.project(&alice, "Household", None).await;
    app.put(&format!("/api/projects/{id}/archive"), &alice.token).await;

    let first = app.put(&format!("/api/projects/{id}/unarchive"), &alice.token).await;
    let second = app.put(&format!("/api/projects/{id}/unarchive"), &alice.token).await;

    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_project_shape(&first.body);
    assert_eq!(first.body["archivedAt"], Value::Null);
    assert_eq!(second.status, StatusCode::OK, "{second:?}");
    assert_eq!(second.body, first.body);
    let renamed = app.put_json(&format!("/api/projects/{id}"), Some(&alice.token), &json!({"name": "Chores"})).await;
    assert_eq!(renamed.status, StatusCode::OK, "{renamed:?}");
}

#[tokio::test]
async fn unarchiving_a_project_that_is_not_archived_answers_it_unchanged() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let id = app.project(&alice, "Household", Some(4)).await;
    let before = app.get(&format!("/api/projects/{id}"), Some(&alice.token)).await;

    let reply = app.put(&format!("/api/projects/{id}/unarchive"), &alice.token).await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body, before.body);
}

// --- deleting ----------------------------------------------------------------------------

#[tokio::test]
async fn a_project_that_is_not_archived_cannot_be_deleted() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let id = app.project(&alice, "Household", None).await;

    let reply = app.delete(&format!("/api/projects/{id}"), &alice.token).await;

    assert_problem(&reply, StatusCode::CONFLICT);
    assert_eq!(app.get(&format!("/api/projects/{id}"), Some(&alice.token)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn deleting_an_archived_project_answers_204_with_no_body() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let id = app.project(&alice, "Household", None).await;
    app.put(&format!("/api/projects/{id}/archive"), &alice.token).await;

    let reply = app.delete(&format!("/api/projects/{id}"), &alice.token).await;

    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{reply:?}");
    assert!(reply.text.is_empty(), "{reply:?}");
}

#[tokio::test]
async fn a_deleted_project_is_not_found_on_every_route_and_gone_from_every_list() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let id = app.project(&alice, "Household", None).await;
    app.task(&alice, id, "Sweep the floor").await;
    app.put(&format!("/api/projects/{id}/tasks/1/complete"), &alice.token).await;
    app.put(&format!("/api/projects/{id}/archive"), &alice.token).await;
    assert_eq!(app.delete(&format!("/api/projects/{id}"), &alice.token).await.status, StatusCode::NO_CONTENT);

    for (method, path, body) in routes_of(&id.to_string()) {
        let reply = call(&app, &alice, method.clone(), &path, body.as_ref()).await;
        assert_problem(&reply, StatusCode::NOT_FOUND);
    }
    let list = app.get("/api/projects", Some(&alice.token)).await;
    assert!(list.body["projects"].as_array().expect("projects").iter().all(|p| p["id"] != id), "{list:?}");
    let me = app.get("/api/users/me", Some(&alice.token)).await;
    assert!(me.body["projects"].as_array().expect("projects").iter().all(|p| p["id"] != id), "{me:?}");
}

// --- ownership ---------------------------------------------------------------------------

#[tokio::test]
async fn another_users_project_is_not_found_on_every_project_and_task_route() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let mallory = app.user("mallory@example.com").await;
    let id = starter(&app, &alice).await;
    let before = app.get(&format!("/api/projects/{id}/tasks"), Some(&alice.token)).await;

    for (method, path, body) in routes_of(&id.to_string()) {
        let reply = call(&app, &mallory, method.clone(), &path, body.as_ref()).await;
        assert_problem(&reply, StatusCode::NOT_FOUND);
    }

    // Nothing changed, and the answers were those of a project that does not exist.
    let project = app.get(&format!("/api/projects/{id}"), Some(&alice.token)).await;
    assert_eq!(project.body["name"], "My first project");
    assert_eq!(project.body["archivedAt"], Value::Null);
    assert_eq!(app.get(&format!("/api/projects/{id}/tasks"), Some(&alice.token)).await.body, before.body);
    let theirs = app.get(&format!("/api/projects/{id}"), Some(&mallory.token)).await;
    let nowhere = app.get("/api/projects/9999", Some(&mallory.token)).await;
    assert_eq!(crate::common::without_request_id(&theirs.body), crate::common::without_request_id(&nowhere.body));
}

#[tokio::test]
async fn another_users_archived_project_cannot_be_deleted_or_unarchived() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let mallory = app.user("mallory@example.com").await;
    let id = app.project(&alice, "Archived", None).await;
    app.put(&format!("/api/projects/{id}/archive"), &alice.token).await;

    assert_problem(&app.put(&format!("/api/projects/{id}/unarchive"), &mallory.token).await, StatusCode::NOT_FOUND);
    assert_problem(&app.delete(&format!("/api/projects/{id}"), &mallory.token).await, StatusCode::NOT_FOUND);

    let project = app.get(&format!("/api/projects/{id}"), Some(&alice.token)).await;
    assert_eq!(project.status, StatusCode::OK, "{project:?}");
    assert_timestamp(&project.body["archivedAt"]);
}

#[tokio::test]
async fn the_project_list_holds_only_the_users_own_projects() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let bob = app.user("bob@example.com").await;
    let alices = app.project(&alice, "Alice's", None).await;
    let bobs = app.project(&bob, "Bob's", None).await;

    let list = app.get("/api/projects", Some(&bob.token)).await;

    let ids: Vec<i64> =
        list.body["projects"].as_array().expect("projects").iter().map(|p| p["id"].as_i64().expect("id")).collect();
    assert_eq!(ids, [starter(&app, &bob).await, bobs]);
    assert!(!ids.contains(&alices));
}

/// Names are kept in NFC: typed with combining accents, they read back composed
/// everywhere, and a search typed either way finds them.
#[tokio::test]
async fn a_name_typed_decomposed_reads_back_composed() {
    let app = TestApp::new().await;
    let user = app.user("composer@example.com").await;
    let project = app.project(&user, "Cafe\u{301} cre\u{300}me", None).await;
    let composed = "Caf\u{e9} cr\u{e8}me";
    let read = app.get(&format!("/api/projects/{project}"), Some(&user.token)).await.expect(200);
    assert_eq!(read.body["name"], composed);
    let list = app.get("/api/projects", Some(&user.token)).await.expect(200);
    assert_eq!(list.body["projects"][1]["name"], composed, "{list:?}");
    assert_eq!(app.me(&user.token).await["projects"][1]["name"], composed);
    for search in ["cafe%CC%81", "caf%C3%A9"] {
        let found = app.get(&format!("/api/projects?q={search}"), Some(&user.token)).await.expect(200);
        assert_eq!(found.body["projects"].as_array().map(Vec::len), Some(1), "{search}: {found:?}");
    }

    let number = app.task(&user, project, "Re\u{301}sume\u{301} draft").await;
    let task = app.get(&format!("/api/projects/{project}/tasks/{number}"), Some(&user.token)).await.expect(200);
    assert_eq!(task.body["name"], "R\u{e9}sum\u{e9} draft");

    let renamed =
        app.put_json(&format!("/api/projects/{project}"), Some(&user.token), &json!({"name": "Ho\u{302}tel"})).await;
    assert_eq!(renamed.expect(200).body["name"], "H\u{f4}tel");
    // Length is counted once composed: 32 accented letters typed as 64 scalar values.
    let long = "e\u{301}".repeat(32);
    app.post_json("/api/projects", Some(&user.token), &json!({"name": long})).await.expect(201);
}
