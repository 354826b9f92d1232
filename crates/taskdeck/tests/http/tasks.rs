//! Tasks over HTTP: numbering, completing and re-opening, the incomplete-task limit,
//! and archived projects.

use std::time::Duration;

use crate::common::{JSON, TestApp, User, assert_invalid_fields, assert_problem, assert_timestamp, keys};
use axum::http::{StatusCode, header};
use serde_json::{Value, json};

#[track_caller]
fn assert_task_shape(task: &Value) {
    for key in ["number", "name", "completedAt"] {
        assert!(task.get(key).is_some(), "no {key} in {task}");
    }
    assert!(task["number"].as_i64().is_some_and(|number| number >= 1), "{task}");
    assert!(task["name"].is_string(), "{task}");
    if !task["completedAt"].is_null() {
        assert_timestamp(&task["completedAt"]);
    }
}

async fn create_task(app: &TestApp, user: &User, project: i64, name: &str) -> crate::common::Reply {
    app.post_json(&format!("/api/projects/{project}/tasks"), Some(&user.token), &json!({ "name": name })).await
}

async fn complete(app: &TestApp, user: &User, project: i64, number: i64) -> crate::common::Reply {
    app.put(&format!("/api/projects/{project}/tasks/{number}/complete"), &user.token).await
}

async fn incomplete(app: &TestApp, user: &User, project: i64, number: i64) -> crate::common::Reply {
    app.put(&format!("/api/projects/{project}/tasks/{number}/incomplete"), &user.token).await
}

async fn numbers(app: &TestApp, user: &User, project: i64) -> Vec<i64> {
    let list = app.get(&format!("/api/projects/{project}/tasks"), Some(&user.token)).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    list.body["tasks"].as_array().expect("tasks").iter().map(|task| task["number"].as_i64().expect("number")).collect()
}

// --- creating and reading ----------------------------------------------------------------

#[tokio::test]
async fn creating_a_task_answers_201_with_its_location_and_the_task() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let project = app.project(&alice, "Household", None).await;

    let reply = create_task(&app, &alice, project, "  Do the shopping ").await;

    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert!(reply.content_type().starts_with(JSON));
    assert_task_shape(&reply.body);
    assert_eq!(reply.header(header::LOCATION), format!("/api/projects/{project}/tasks/1"));
    assert_eq!(reply.body["number"], 1);
    assert_eq!(reply.body["name"], "Do the shopping");
    assert_eq!(reply.body["completedAt"], Value::Null);

    let fetched = app.get(&format!("/api/projects/{project}/tasks/1"), Some(&alice.token)).await;
    assert_eq!(fetched.status, StatusCode::OK, "{fetched:?}");
    assert_eq!(fetched.body, reply.body);
}

#[tokio::test]
async fn a_client_cannot_choose_a_tasks_number_or_completion_unknown_fields_are_ignored() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let project = app.project(&alice, "Chores", None).await;

    let reply = app
        .post_json(
            &format!("/api/projects/{project}/tasks"),
            Some(&alice.token),
            &json!({"name": "Water plants", "number": 7, "completedAt": "2026-01-01T00:00:00Z", "colour": "red"}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(reply.body["number"], 1);
    assert_eq!(reply.body["completedAt"], Value::Null);
}

#[tokio::test]
async fn task_numbers_are_sequential_per_project_starting_at_1() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let home = app.project(&alice, "Household", None).await;
    let work = app.project(&alice, "Work stuff", None).await;

    let mut created = Vec::new();
    for (project, name) in
        [(home, "Sweep"), (work, "Email Bob"), (home, "Dust off"), (home, "Mop up"), (work, "Call Eve")]
    {
        let reply = create_task(&app, &alice, project, name).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        created.push(reply.body["number"].as_i64().expect("number"));
    }

    assert_eq!(created, [1, 1, 2, 3, 2]);
    assert_eq!(numbers(&app, &alice, home).await, [1, 2, 3]);
    assert_eq!(numbers(&app, &alice, work).await, [1, 2]);
}

#[tokio::test]
async fn the_task_list_holds_every_task_ordered_by_number() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let project = app.project(&alice, "Household", None).await;
    for name in ["Sweep", "Dust off", "Mop up"] {
        app.task(&alice, project, name).await;
    }
    complete(&app, &alice, project, 2).await;

    let list = app.get(&format!("/api/projects/{project}/tasks"), Some(&alice.token)).await;

    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    assert_eq!(keys(&list.body), ["nextCursor", "tasks"]);
    assert_eq!(list.body["nextCursor"], Value::Null);
    let tasks = list.body["tasks"].as_array().expect("tasks");
    tasks.iter().for_each(assert_task_shape);
    let names: Vec<&str> = tasks.iter().map(|task| task["name"].as_str().expect("name")).collect();
    assert_eq!(names, ["Sweep", "Dust off", "Mop up"]);
    assert_eq!(numbers(&app, &alice, project).await, [1, 2, 3]);
    assert_eq!(tasks[0]["completedAt"], Value::Null);
    assert_timestamp(&tasks[1]["completedAt"]);
    assert_eq!(tasks[2]["completedAt"], Value::Null);
}

#[tokio::test]
async fn a_new_project_has_no_tasks() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let project = app.project(&alice, "Household", None).await;

    let list = app.get(&format!("/api/projects/{project}/tasks"), Some(&alice.token)).await;

    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    assert_eq!(list.body, json!({"tasks": [], "nextCursor": null}));
}

#[tokio::test]
async fn an_unknown_task_is_not_found() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let project = app.project(&alice, "Household", None).await;
    app.task(&alice, project, "Sweep").await;

    assert_problem(
        &app.get(&format!("/api/projects/{project}/tasks/2"), Some(&alice.token)).await,
        StatusCode::NOT_FOUND,
    );
    assert_problem(&complete(&app, &alice, project, 2).await, StatusCode::NOT_FOUND);
    assert_problem(&incomplete(&app, &alice, project, 2).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_task_name_is_trimmed_and_needs_4_to_32_characters() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let project = app.project(&alice, "Household", None).await;

    assert_invalid_fields(&create_task(&app, &alice, project, "  abc  ").await, &["name"]);
    let four = create_task(&app, &alice, project, "  abcd  ").await;
    assert_eq!(four.status, StatusCode::CREATED, "{four:?}");
    assert_eq!(four.body["name"], "abcd");
    let thirty_two = create_task(&app, &alice, project, &format!(" {} ", "t".repeat(32))).await;
    assert_eq!(thirty_two.status, StatusCode::CREATED, "{thirty_two:?}");
    assert_eq!(thirty_two.body["name"], "t".repeat(32));
    assert_invalid_fields(&create_task(&app, &alice, project, &format!(" {} ", "t".repeat(33))).await, &["name"]);
    let unicode = create_task(&app, &alice, project, &"ü".repeat(32)).await;
    assert_eq!(unicode.status, StatusCode::CREATED, "{unicode:?}");
    // refused creations use no number
    assert_eq!(unicode.body["number"], 3);
}

#[tokio::test]
async fn a_missing_task_name_or_one_of_the_wrong_json_type_is_a_validation_error_naming_it() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let project = app.project(&alice, "Household", None).await;

    for body in [json!({}), json!({"name": 12345}), json!({"name": ["Sweep"]}), json!({"title": "Sweep"})] {
        let reply = app.post_json(&format!("/api/projects/{project}/tasks"), Some(&alice.token), &body).await;
        assert_invalid_fields(&reply, &["name"]);
    }
    assert_eq!(numbers(&app, &alice, project).await, Vec::<i64>::new());
}

// --- completing and re-opening -----------------------------------------------------------

#[tokio::test]
async fn completing_a_task_sets_its_completion_time_once() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let project = app.project(&alice, "Household", None).await;
    app.task(&alice, project, "Sweep").await;

    let first = complete(&app, &alice, project, 1).await;
    tokio::time::sleep(Duration::from_millis(20)).await; // so that a new time would differ
    let second = complete(&app, &alice, project, 1).await;

    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_task_shape(&first.body);
    assert_eq!(first.body["number"], 1);
    assert_eq!(first.body["name"], "Sweep");
    assert_timestamp(&first.body["completedAt"]);
    assert_eq!(second.status, StatusCode::OK, "{second:?}");
    assert_eq!(second.body, first.body);
    assert_eq!(app.get(&format!("/api/projects/{project}/tasks/1"), Some(&alice.token)).await.body, first.body);
}

#[tokio::test]
async fn completing_the_completed_starter_task_keeps_its_registration_time() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let project = app.get("/api/projects", Some(&alice.token)).await.body["projects"][0]["id"].as_i64().expect("id");
    let signed_up = app.get(&format!("/api/projects/{project}/tasks/1"), Some(&alice.token)).await;
    assert_timestamp(&signed_up.body["completedAt"]);
    tokio::time::sleep(Duration::from_millis(20)).await;

    let reply = complete(&app, &alice, project, 1).await;

    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["completedAt"], signed_up.body["completedAt"]);
}

#[tokio::test]
async fn marking_a_task_incomplete_clears_its_completion_time_idempotently() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let project = app.project(&alice, "Household", None).await;
    app.task(&alice, project, "Sweep").await;
    complete(&app, &alice, project, 1).await;

    let first = incomplete(&app, &alice, project, 1).await;
    let second = incomplete(&app, &alice, project, 1).await;

    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_task_shape(&first.body);
    assert_eq!(first.body["number"], 1);
    assert_eq!(first.body["completedAt"], Value::Null);
    assert_eq!(second.status, StatusCode::OK, "{second:?}");
    assert_eq!(second.body, first.body);
}

#[tokio::test]
async fn a_task_completed_again_after_reopening_gets_a_new_completion_time() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let project = app.project(&alice, "Household", None).await;
    app.task(&alice, project, "Sweep").await;
    let first = complete(&app, &alice, project, 1).await;
    incomplete(&app, &alice, project, 1).await;
    tokio::time::sleep(Duration::from_millis(20)).await;

    let again = complete(&app, &alice, project, 1).await;

    assert_eq!(again.status, StatusCode::OK, "{again:?}");
    assert_timestamp(&again.body["completedAt"]);
    assert_ne!(again.body["completedAt"], first.body["completedAt"]);
}

// --- the incomplete-task limit -----------------------------------------------------------

#[tokio::test]
async fn creating_a_task_beyond_the_limit_is_a_conflict_and_uses_no_number() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let project = app.project(&alice, "Limited", Some(2)).await;
    app.task(&alice, project, "First").await;
    app.task(&alice, project, "Second").await;

    let refused = create_task(&app, &alice, project, "Third").await;

    assert_problem(&refused, StatusCode::CONFLICT);
    assert_eq!(numbers(&app, &alice, project).await, [1, 2]);
    complete(&app, &alice, project, 1).await;
    let accepted = create_task(&app, &alice, project, "Third").await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{accepted:?}");
    assert_eq!(accepted.body["number"], 3);
}

#[tokio::test]
async fn removing_the_limit_allows_more_tasks() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let project = app.project(&alice, "Limited", Some(1)).await;
    app.task(&alice, project, "First").await;
    assert_problem(&create_task(&app, &alice, project, "Second").await, StatusCode::CONFLICT);

    let update = app
        .put_json(
            &format!("/api/projects/{project}"),
            Some(&alice.token),
            &json!({"name": "Limited", "maximumNumberOfIncompleteTasks": null}),
        )
        .await;
    assert_eq!(update.status, StatusCode::OK, "{update:?}");

    let accepted = create_task(&app, &alice, project, "Second").await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{accepted:?}");
    assert_eq!(accepted.body["number"], 2);
}

#[tokio::test]
async fn reopening_a_task_beyond_the_limit_is_a_conflict() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let project = app.project(&alice, "Limited", Some(1)).await;
    app.task(&alice, project, "First").await;
    let done = complete(&app, &alice, project, 1).await;
    app.task(&alice, project, "Second").await;

    let refused = incomplete(&app, &alice, project, 1).await;

    assert_problem(&refused, StatusCode::CONFLICT);
    let task = app.get(&format!("/api/projects/{project}/tasks/1"), Some(&alice.token)).await;
    assert_eq!(task.body["completedAt"], done.body["completedAt"]);
    // An incomplete task "re-opened" changes nothing, so the limit does not matter.
    let idle = incomplete(&app, &alice, project, 2).await;
    assert_eq!(idle.status, StatusCode::OK, "{idle:?}");
    assert_eq!(idle.body["completedAt"], Value::Null);
}

// --- archived projects -------------------------------------------------------------------

#[tokio::test]
async fn an_archived_project_refuses_task_changes_with_409() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let project = app.project(&alice, "Household", None).await;
    app.task(&alice, project, "Sweep").await;
    let done = complete(&app, &alice, project, 1).await;
    let archived = app.put(&format!("/api/projects/{project}/archive"), &alice.token).await;
    assert_eq!(archived.status, StatusCode::OK, "{archived:?}");

    assert_problem(&create_task(&app, &alice, project, "Mop up").await, StatusCode::CONFLICT);
    assert_problem(&incomplete(&app, &alice, project, 1).await, StatusCode::CONFLICT);
    assert_problem(&complete(&app, &alice, project, 1).await, StatusCode::CONFLICT);

    let list = app.get(&format!("/api/projects/{project}/tasks"), Some(&alice.token)).await;
    assert_eq!(list.status, StatusCode::OK, "an archived project's tasks are readable");
    assert_eq!(list.body, json!({"tasks": [done.body], "nextCursor": null}));
}

#[tokio::test]
async fn an_unknown_task_of_an_archived_project_is_still_not_found() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let project = app.project(&alice, "Household", None).await;
    app.put(&format!("/api/projects/{project}/archive"), &alice.token).await;

    assert_problem(&complete(&app, &alice, project, 1).await, StatusCode::NOT_FOUND);
    assert_problem(&incomplete(&app, &alice, project, 1).await, StatusCode::NOT_FOUND);
}

// --- concurrency ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tasks_created_concurrently_in_one_project_all_succeed_with_distinct_numbers() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let alice = app.user("alice@example.com").await;
    let project = app.project(&alice, "Busy project", None).await;

    let mut requests = tokio::task::JoinSet::new();
    for i in 0..16 {
        let (app, token) = (std::sync::Arc::clone(&app), alice.token.clone());
        requests.spawn(async move {
            app.post_json(
                &format!("/api/projects/{project}/tasks"),
                Some(&token),
                &json!({"name": format!("Task {i:02}")}),
            )
            .await
        });
    }
    let mut created = Vec::new();
    while let Some(reply) = requests.join_next().await {
        let reply = reply.expect("request task");
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        created.push(reply.body["number"].as_i64().expect("number"));
    }

    created.sort_unstable();
    assert_eq!(created, (1..=16).collect::<Vec<i64>>());
    assert_eq!(numbers(&app, &alice, project).await, (1..=16).collect::<Vec<i64>>());
}
