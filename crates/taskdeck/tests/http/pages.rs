//! Lists that page: `limit`, `cursor`, `nextCursor` and `Link`, and the filters that
//! combine with them.

use axum::http::{StatusCode, header};
use serde_json::{Value, json};

use crate::common::{Reply, TestApp, User, assert_invalid_fields, assert_problem};

fn numbers(reply: &Reply) -> Vec<i64> {
    reply.body["tasks"].as_array().expect("tasks").iter().map(|task| task["number"].as_i64().expect("number")).collect()
}

fn project_names(reply: &Reply) -> Vec<String> {
    reply.body["projects"]
        .as_array()
        .expect("projects")
        .iter()
        .map(|project| project["name"].as_str().expect("name").to_owned())
        .collect()
}

/// The URL of `rel="next"` in the `Link` header, if any.
fn next_link(reply: &Reply) -> Option<String> {
    let link = reply.headers.get(header::LINK)?.to_str().expect("an ASCII Link");
    let url = link.strip_prefix('<')?.split_once(">; rel=\"next\"")?.0;
    Some(url.to_owned())
}

/// A project of `user` with `count` tasks named `Task N`, every third one completed.
async fn project_with_tasks(app: &TestApp, user: &User, count: i64) -> i64 {
    let project = app.project(user, "Big project", None).await;
    for n in 1..=count {
        app.task(user, project, &format!("Task {n}")).await;
        if n % 3 == 0 {
            app.put(&format!("/api/projects/{project}/tasks/{n}/complete"), &user.token).await.expect(200);
        }
    }
    project
}

/// Follows `Link` from `path` to the end; returns every page.
async fn walk(app: &TestApp, user: &User, path: &str) -> Vec<Reply> {
    let mut pages = vec![app.get(path, Some(&user.token)).await.expect(200)];
    while let Some(next) = pages.last().and_then(next_link) {
        let cursor = pages.last().expect("a page").body["nextCursor"].as_str().expect("nextCursor").to_owned();
        assert!(next.ends_with(&format!("cursor={cursor}")), "the link carries the cursor: {next}");
        pages.push(app.get(&next, Some(&user.token)).await.expect(200));
        assert!(pages.len() <= 1000, "the walk ends");
    }
    assert_eq!(pages.last().expect("a page").body["nextCursor"], Value::Null, "the last page has no next cursor");
    pages
}

#[tokio::test]
async fn a_short_list_looks_as_in_v1_plus_a_null_next_cursor() {
    let app = TestApp::new().await;
    let user = app.user("short@example.com").await;
    let project = project_with_tasks(&app, &user, 3).await;
    let reply = app.get(&format!("/api/projects/{project}/tasks"), Some(&user.token)).await.expect(200);
    assert_eq!(numbers(&reply), [1, 2, 3]);
    assert_eq!(reply.body["nextCursor"], Value::Null);
    assert!(reply.headers.get(header::LINK).is_none(), "{reply:?}");
    let projects = app.get("/api/projects", Some(&user.token)).await.expect(200);
    assert_eq!(project_names(&projects), ["My first project", "Big project"]);
    assert_eq!(projects.body["nextCursor"], Value::Null);
}

#[tokio::test]
async fn pages_of_the_default_and_a_chosen_size_walk_every_task_once_in_order() {
    let app = TestApp::new().await;
    let user = app.user("walker@example.com").await;
    let project = project_with_tasks(&app, &user, 230).await;

    let pages = walk(&app, &user, &format!("/api/projects/{project}/tasks")).await;
    let sizes: Vec<usize> = pages.iter().map(|page| numbers(page).len()).collect();
    assert_eq!(sizes, [100, 100, 30], "100 per page by default");
    let all: Vec<i64> = pages.iter().flat_map(numbers).collect();
    assert_eq!(all, (1..=230).collect::<Vec<_>>());

    let pages = walk(&app, &user, &format!("/api/projects/{project}/tasks?limit=500")).await;
    assert_eq!(pages.len(), 1);
    let pages = walk(&app, &user, &format!("/api/projects/{project}/tasks?limit=1")).await;
    assert_eq!(pages.len(), 230);
    assert!(next_link(&pages[0]).is_some_and(|link| link.contains("limit=1&")), "the link keeps the size");
}

#[tokio::test]
async fn filters_combine_with_pages_and_the_cursor_remembers_them() {
    let app = TestApp::new().await;
    let user = app.user("filters@example.com").await;
    let project = project_with_tasks(&app, &user, 30).await;
    let tasks = format!("/api/projects/{project}/tasks");

    let done: Vec<i64> =
        walk(&app, &user, &format!("{tasks}?completed=true&limit=4")).await.iter().flat_map(numbers).collect();
    assert_eq!(done, (1..=10).map(|n| n * 3).collect::<Vec<_>>());
    let open: Vec<i64> =
        walk(&app, &user, &format!("{tasks}?completed=false&limit=7")).await.iter().flat_map(numbers).collect();
    assert_eq!(open, (1..=30).filter(|n| n % 3 != 0).collect::<Vec<_>>());
    // `q` is a case-insensitive substring: "task 2" is in Task 2 and Task 20…29.
    let twos: Vec<i64> =
        walk(&app, &user, &format!("{tasks}?q=TASK%202&limit=3")).await.iter().flat_map(numbers).collect();
    assert_eq!(twos, [2, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    let open_twos = app.get(&format!("{tasks}?q=task+2&completed=false"), Some(&user.token)).await.expect(200);
    assert_eq!(numbers(&open_twos), [2, 20, 22, 23, 25, 26, 28, 29]);

    // The cursor alone continues the filtered list; repeating its filters is fine too.
    let first = app.get(&format!("{tasks}?completed=true&limit=2"), Some(&user.token)).await.expect(200);
    let cursor = first.body["nextCursor"].as_str().expect("a next page").to_owned();
    let alone = app.get(&format!("{tasks}?cursor={cursor}&limit=2"), Some(&user.token)).await.expect(200);
    assert_eq!(numbers(&alone), [9, 12]);
    let repeated = app.get(&format!("{tasks}?completed=true&cursor={cursor}&limit=2"), Some(&user.token)).await;
    assert_eq!(numbers(&repeated.expect(200)), [9, 12]);
    for other in ["completed=false", "q=Task"] {
        let reply = app.get(&format!("{tasks}?{other}&cursor={cursor}"), Some(&user.token)).await;
        assert_problem(&reply, StatusCode::BAD_REQUEST);
        assert_eq!(reply.body["type"], "urn:taskdeck:problem:cursor-filter-mismatch", "{reply:?}");
    }
}

#[tokio::test]
async fn projects_page_and_filter_by_archived_and_name() {
    let app = TestApp::new().await;
    let user = app.user("projects@example.com").await;
    for name in ["Garden", "Old garden", "Kitchen", "GARDEN shed", "Taxes"] {
        let id = app.project(&user, name, None).await;
        if name.starts_with("Old") || name == "Taxes" {
            app.put(&format!("/api/projects/{id}/archive"), &user.token).await.expect(200);
        }
    }
    let names = |pages: Vec<Reply>| pages.iter().flat_map(project_names).collect::<Vec<_>>();
    let all = walk(&app, &user, "/api/projects?limit=2").await;
    assert_eq!(all.len(), 3);
    assert_eq!(names(all), ["My first project", "Garden", "Old garden", "Kitchen", "GARDEN shed", "Taxes"]);
    assert_eq!(names(walk(&app, &user, "/api/projects?archived=true").await), ["Old garden", "Taxes"]);
    assert_eq!(
        names(walk(&app, &user, "/api/projects?archived=false&q=garden&limit=1").await),
        ["Garden", "GARDEN shed"]
    );
    assert_eq!(names(walk(&app, &user, "/api/projects?q=GARDEN").await), ["Garden", "Old garden", "GARDEN shed"]);
    let me = app.get("/api/users/me", Some(&user.token)).await.expect(200);
    assert_eq!(me.body["projects"].as_array().map(Vec::len), Some(6), "the account page lists them all");
}

#[tokio::test]
async fn walking_pages_while_tasks_are_added_returns_every_earlier_task_once_in_order() {
    let app = TestApp::new().await;
    let user = app.user("busy@example.com").await;
    let project = project_with_tasks(&app, &user, 25).await;
    let mut path = format!("/api/projects/{project}/tasks?limit=10");
    let mut seen = Vec::new();
    loop {
        let page = app.get(&path, Some(&user.token)).await.expect(200);
        seen.extend(numbers(&page));
        app.task(&user, project, "Added while paging").await;
        match next_link(&page) {
            Some(next) => path = next,
            None => break,
        }
    }
    assert_eq!(seen[..25], (1..=25).collect::<Vec<_>>());
    assert!(seen.windows(2).all(|pair| pair[0] < pair[1]), "once each, in order: {seen:?}");
}

#[tokio::test]
async fn bad_limits_and_filters_are_422_naming_the_parameter() {
    let app = TestApp::new().await;
    let user = app.user("bad@example.com").await;
    let project = project_with_tasks(&app, &user, 2).await;
    let long = "x".repeat(201);
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("limit=99999999999999999999", "limit"),
        ("completed=maybe", "completed"),
        ("completed=TRUE", "completed"),
        (&format!("q={long}") as &str, "q"),
        ("q=%00", "q"),
    ] {
        let reply = app.get(&format!("/api/projects/{project}/tasks?{query}"), Some(&user.token)).await;
        assert_invalid_fields(&reply, &[field]);
    }
    for (query, field) in [("limit=0", "limit"), ("archived=1", "archived"), ("q=a%0Ab", "q")] {
        assert_invalid_fields(&app.get(&format!("/api/projects?{query}"), Some(&user.token)).await, &[field]);
    }
    let both = app.get(&format!("/api/projects/{project}/tasks?limit=0&completed=no"), Some(&user.token)).await;
    assert_invalid_fields(&both, &["limit", "completed"]);
}

#[tokio::test]
async fn a_garbage_or_foreign_cursor_is_400() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;
    let bob = app.user("bob@example.com").await;
    let first = project_with_tasks(&app, &alice, 3).await;
    let second = project_with_tasks(&app, &alice, 3).await;
    let page = app.get(&format!("/api/projects/{first}/tasks?limit=1"), Some(&alice.token)).await.expect(200);
    let cursor = page.body["nextCursor"].as_str().expect("a next page").to_owned();
    let projects = app.get("/api/projects?limit=1", Some(&alice.token)).await.expect(200);
    let projects_cursor = projects.body["nextCursor"].as_str().expect("a next page").to_owned();

    let bobs = app.project(&bob, "Bob's", None).await;
    let mut tampered = cursor.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ASCII");
    let cases = [
        (format!("/api/projects/{first}/tasks?cursor="), &alice),
        (format!("/api/projects/{first}/tasks?cursor=garbage"), &alice),
        (format!("/api/projects/{first}/tasks?cursor={tampered}"), &alice),
        (format!("/api/projects/{first}/tasks?cursor={}", "A".repeat(3000)), &alice),
        (format!("/api/projects/{second}/tasks?cursor={cursor}"), &alice),
        (format!("/api/projects/{first}/tasks?cursor={projects_cursor}"), &alice),
        (format!("/api/projects?cursor={cursor}"), &alice),
        (format!("/api/projects?cursor={projects_cursor}"), &bob),
        (format!("/api/projects/{bobs}/tasks?cursor={cursor}"), &bob),
    ];
    for (path, user) in cases {
        let reply = app.get(&path, Some(&user.token)).await;
        assert_problem(&reply, StatusCode::BAD_REQUEST);
        assert_eq!(reply.body["type"], json!("urn:taskdeck:problem:invalid-cursor"), "{path}: {reply:?}");
    }
    // Someone else's project stays invisible, whatever the query.
    let reply = app.get(&format!("/api/projects/{first}/tasks?limit=1"), Some(&bob.token)).await;
    assert_problem(&reply, StatusCode::NOT_FOUND);
}
