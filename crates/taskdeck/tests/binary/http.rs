//! The real binary over TCP: a newcomer's first session and concurrent task creation
//! (on SQLite and on PostgreSQL), and the body size limit as a client sees it on the
//! wire.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::{
    PASSWORD, STARTER_PROJECT, Server, ServerClient, TestBackend, TestDatabase, on_both_backends, project_names,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

on_both_backends!(
    a_newcomer_registers_logs_in_finds_the_starter_project_and_completes_a_task_of_a_new_project,
    one_hundred_concurrent_task_creations_in_one_project_get_numbers_1_to_100,
);

async fn a_newcomer_registers_logs_in_finds_the_starter_project_and_completes_a_task_of_a_new_project(
    backend: TestBackend,
) {
    let Some(database) = TestDatabase::new(backend).await else { return };
    let server = database.start();
    let api = server.client();

    api.get("/health", None).await.expect(200);
    api.get("/ready", None).await.expect(200);

    let registered = api.register("newcomer@example.com", PASSWORD).await.expect(201);
    assert_eq!(registered.header("location"), "/api/users/me");
    assert_eq!(registered.body["email"], "newcomer@example.com");
    let user_id = registered.body["id"].as_str().expect("user id").to_owned();

    let login = api.login_form("newcomer@example.com", PASSWORD).await.expect(200);
    assert_eq!(login.body["token_type"], "bearer");
    assert_eq!(login.body["expires_in"], 900);
    assert_eq!(login.body["refresh_expires_in"], 30 * 86_400);
    let token = login.body["access_token"].as_str().expect("access token").to_owned();

    let starter = api.starter_project(&token).await;
    let me = api.me(&token).await;
    assert_eq!(me["id"], user_id.as_str());
    assert_eq!(project_names(&me), [STARTER_PROJECT]);
    let starter_tasks = api.get(&format!("/api/projects/{starter}/tasks"), Some(&token)).await.expect(200).body;
    let starter_tasks = starter_tasks["tasks"].as_array().expect("tasks").clone();
    let names: Vec<&str> = starter_tasks.iter().map(|task| task["name"].as_str().expect("name")).collect();
    assert_eq!(names, ["Sign up!", "Watch the tutorial", "Start using our awesome app"]);
    assert!(starter_tasks[0]["completedAt"].is_string(), "Sign up! is completed: {starter_tasks:?}");
    assert!(starter_tasks[1]["completedAt"].is_null() && starter_tasks[2]["completedAt"].is_null());

    let created = api.post_json("/api/projects", Some(&token), &json!({"name": "Groceries"})).await.expect(201);
    let project = created.body["id"].as_i64().expect("project id");
    assert_eq!(created.header("location"), format!("/api/projects/{project}"));
    assert_eq!(created.body["maximumNumberOfIncompleteTasks"], Value::Null);
    assert_eq!(created.body["archivedAt"], Value::Null);

    let task =
        api.post_json(&format!("/api/projects/{project}/tasks"), Some(&token), &json!({"name": "Buy some milk"})).await;
    let task = task.expect(201);
    assert_eq!(task.header("location"), format!("/api/projects/{project}/tasks/1"));
    assert_eq!(task.body["number"], 1);
    assert_eq!(task.body["completedAt"], Value::Null);

    let completed = api.put(&format!("/api/projects/{project}/tasks/1/complete"), &token).await.expect(200);
    let completed_at = completed.body["completedAt"].as_str().expect("completedAt after completing").to_owned();
    assert!(completed_at.ends_with('Z'), "RFC 3339 in UTC: {completed_at}");

    let tasks = api.get(&format!("/api/projects/{project}/tasks"), Some(&token)).await.expect(200).body;
    let expected =
        json!({"tasks": [{"number": 1, "name": "Buy some milk", "completedAt": completed_at}], "nextCursor": null});
    assert_eq!(tasks, expected);

    let projects = api.get("/api/projects", Some(&token)).await.expect(200).body;
    assert_eq!(project_names(&projects), [STARTER_PROJECT, "Groceries"]);
}

/// Reads a whole HTTP/1.1 response from a connection the server closes afterwards.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut response = Vec::new();
    let mut buffer = [0_u8; 8192];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) => return response,
            Ok(read) => response.extend_from_slice(&buffer[..read]),
            Err(error) => panic!(
                "the connection failed ({error}) after {} bytes of answer: {:?}",
                response.len(),
                String::from_utf8_lossy(&response)
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_100_kib_body_is_answered_413_with_a_problem_document_and_no_connection_reset() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Server::start(dir.path());
    let token = server.client().newcomer("big@example.com").await;

    let body = format!("{{\"name\": \"{}\"}}", "x".repeat(100 * 1024));
    let head = format!(
        "POST /api/projects HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        server.address,
        body.len()
    );
    let mut stream = TcpStream::connect(server.address).await.expect("connect");
    let exchange = async {
        stream.write_all(head.as_bytes()).await.expect("send the head");
        stream.write_all(body.as_bytes()).await.expect("send the 100 KiB body");
        stream.flush().await.expect("flush");
        read_until_closed(&mut stream).await
    };
    let response = tokio::time::timeout(Duration::from_secs(30), exchange).await.expect("an answer within 30 s");
    let response = String::from_utf8(response).expect("a UTF-8 answer");

    let (head, body) = response.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no end of head in {response:?}"));
    let mut lines = head.lines();
    let status_line = lines.next().expect("status line");
    assert!(status_line.starts_with("HTTP/1.1 413"), "{response}");
    let header = |name: &str| {
        head.lines()
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim().to_owned())
    };
    assert_eq!(header("content-type").as_deref(), Some("application/problem+json"), "{response}");
    let length: usize = header("content-length").expect("a Content-Length").parse().expect("a number");
    assert_eq!(body.len(), length, "the whole body arrived: {response}");
    let problem: Value = serde_json::from_str(body).expect("a JSON problem document");
    assert_eq!(problem["status"], 413, "{problem}");
    assert!(problem["title"].is_string() && problem["detail"].is_string(), "{problem}");
}

async fn one_hundred_concurrent_task_creations_in_one_project_get_numbers_1_to_100(backend: TestBackend) {
    let Some(database) = TestDatabase::new(backend).await else { return };
    let server = database.start();
    let api = server.client();
    let token = api.newcomer("busy@example.com").await;
    let project = api.post_json("/api/projects", Some(&token), &json!({"name": "Busy project"})).await.expect(201);
    let project = project.body["id"].as_i64().expect("project id");

    let mut requests = JoinSet::new();
    for index in 1..=100 {
        let (api, token) = (api.clone(), token.clone());
        requests.spawn(async move {
            let path = format!("/api/projects/{project}/tasks");
            api.post_json(&path, Some(&token), &json!({"name": format!("Task number {index}")})).await
        });
    }
    let mut numbers = Vec::new();
    while let Some(reply) = requests.join_next().await {
        let reply = reply.expect("request task").expect(201);
        let number = reply.body["number"].as_i64().expect("number");
        assert_eq!(reply.header("location"), format!("/api/projects/{project}/tasks/{number}"));
        numbers.push(number);
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=100).collect::<Vec<i64>>());

    let listed = api.get(&format!("/api/projects/{project}/tasks"), Some(&token)).await.expect(200).body;
    let listed = listed["tasks"].as_array().expect("tasks");
    let listed_numbers: Vec<i64> = listed.iter().map(|task| task["number"].as_i64().expect("number")).collect();
    assert_eq!(listed_numbers, (1..=100).collect::<Vec<i64>>(), "ordered by number");
    let names: BTreeSet<&str> = listed.iter().map(|task| task["name"].as_str().expect("name")).collect();
    assert_eq!(names.len(), 100, "every request created its own task");

    let inspector = database.inspect().await;
    let last = format!("SELECT last_task_number FROM projects WHERE id = {project}");
    assert_eq!(inspector.scalar(&last).await, 100, "the project's last task number");
    let incomplete = format!("SELECT incomplete_tasks FROM projects WHERE id = {project}");
    assert_eq!(inspector.scalar(&incomplete).await, 100, "the project's count of incomplete tasks");
    let distinct = format!("SELECT COUNT(DISTINCT number) FROM tasks WHERE project_id = {project}");
    assert_eq!(inspector.scalar(&distinct).await, 100);
    drop(inspector);
}
