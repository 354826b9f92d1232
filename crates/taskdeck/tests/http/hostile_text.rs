//! Hostile text: names and emails holding control, format or bidirectional-override
//! characters, or only combining marks, are refused by the value objects with 422 on
//! both backends (PostgreSQL cannot even store NUL), and nothing is written.

use serde_json::json;

use crate::common::{PASSWORD, TestApp, assert_invalid_fields};

const INVISIBLE: [&str; 6] = [
    "Nul\u{0}name",
    "Two\r\nlines",
    "Evil\u{202e}txt.exe",
    "Zero\u{200b}width",
    "Bom\u{feff}name",
    "\u{301}\u{302}\u{303}\u{304}",
];

#[tokio::test]
async fn names_with_control_format_or_only_combining_characters_are_422_and_change_nothing() {
    let app = TestApp::new().await;
    let user = app.user("invisible@example.com").await;
    let project = app.project(&user, "Visible project", None).await;
    let projects_before = app.get("/api/projects", Some(&user.token)).await.expect(200).body;

    for name in INVISIBLE {
        let created = app.post_json("/api/projects", Some(&user.token), &json!({"name": name})).await;
        assert_invalid_fields(&created, &["name"]);
        let renamed =
            app.put_json(&format!("/api/projects/{project}"), Some(&user.token), &json!({"name": name})).await;
        assert_invalid_fields(&renamed, &["name"]);
        let task =
            app.post_json(&format!("/api/projects/{project}/tasks"), Some(&user.token), &json!({"name": name})).await;
        assert_invalid_fields(&task, &["name"]);
    }

    assert_eq!(app.get("/api/projects", Some(&user.token)).await.expect(200).body, projects_before);
    let tasks = app.get(&format!("/api/projects/{project}/tasks"), Some(&user.token)).await.expect(200);
    assert_eq!(tasks.body["tasks"], json!([]));
}

#[tokio::test]
async fn emails_with_control_or_format_characters_are_422_and_register_nobody() {
    let app = TestApp::new().await;
    for email in
        ["nul\u{0}@example.com", "alice\u{200b}@example.com", "bob@exam\u{202e}ple.com", "\u{feff}carol@example.com"]
    {
        let reply = app.register(email, PASSWORD).await;
        assert_invalid_fields(&reply, &["email"]);
    }
    let user = app.user("visible@example.com").await;
    let change =
        app.put_json("/api/users/me", Some(&user.token), &json!({"email": "visible\u{200b}@example.com"})).await;
    assert_invalid_fields(&change, &["email"]);
    assert_eq!(app.me(&user.token).await["email"], "visible@example.com");
}
