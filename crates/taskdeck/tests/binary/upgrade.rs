//! An existing installation keeps working after an upgrade: a database made by the
//! previous release (`tests/fixtures/v1-*.sql`, dumped from a real v1 server) is
//! migrated in place by `serve`, on SQLite and on PostgreSQL, with no data lost, the
//! event it left waiting in the outbox delivered once, and the email keys v1 gave
//! rewritten into their canonical form.

use crate::support::{STARTER_PROJECT, ServerClient, TestBackend, TestDatabase, on_both_backends, project_names};
use serde_json::json;

on_both_backends!(a_database_made_by_the_previous_release_is_migrated_in_place_and_nothing_is_lost);

const V1_SQLITE: &str = include_str!("../fixtures/v1-sqlite.sql");
const V1_POSTGRES: &str = include_str!("../fixtures/v1-postgres.sql");

/// Restores the v1 dump into the test's empty database.
async fn restore_v1(database: &TestDatabase) {
    match database.backend {
        TestBackend::Sqlite => {
            let connection = rusqlite::Connection::open(database.dir().join("taskdeck.db")).expect("create the file");
            connection.execute_batch(V1_SQLITE).expect("restore the v1 SQLite dump");
        }
        TestBackend::Postgres => {
            use sqlx::Connection;
            // A connection of its own: the dump empties the session's search_path.
            let mut connection = sqlx::PgConnection::connect(database.url()).await.expect("connect");
            sqlx::raw_sql(sqlx::AssertSqlSafe(V1_POSTGRES))
                .execute(&mut connection)
                .await
                .expect("restore the v1 dump");
            connection.close().await.expect("close");
        }
    }
}

/// Adds a v1 account whose address was typed decomposed and in capitals, under the key
/// v1 gave it (its lower case, not its canonical form), with Dave's password.
async fn add_decomposed_v1_account(database: &TestDatabase) {
    let id = match database.backend {
        TestBackend::Sqlite => "X'7e1c0a4e5b2d4f6a8c9e0b1d2f3a4b5c'",
        TestBackend::Postgres => "'7e1c0a4e-5b2d-4f6a-8c9e-0b1d2f3a4b5c'",
    };
    let added = database
        .inspect()
        .await
        .execute(&format!(
            "INSERT INTO users (id, email, email_normalized, password_hash, version, created_at)
             SELECT {id}, 'JOSE\u{301}@example.com', 'jose\u{301}@example.com', password_hash, 1, created_at
             FROM users WHERE email = 'dave@example.com'"
        ))
        .await;
    assert_eq!(added, 1);
}

async fn a_database_made_by_the_previous_release_is_migrated_in_place_and_nothing_is_lost(backend: TestBackend) {
    let Some(database) = TestDatabase::empty(backend).await else { return };
    restore_v1(&database).await;
    add_decomposed_v1_account(&database).await;

    let server = database.start();
    let api = server.client();

    // The demo account and its projects, as `taskdeck seed` left them.
    let demo = api.token("test@email.com", "password").await;
    assert_eq!(
        project_names(&api.me(&demo).await),
        [STARTER_PROJECT, "Software Engineering", "Learn Domain Driven Design", "Household"]
    );

    // Dave's registration event, left in the outbox by v1, is delivered once.
    let dave = api.token("dave@example.com", "dave password").await;
    api.starter_project(&dave).await;
    assert_eq!(project_names(&api.me(&dave).await), [STARTER_PROJECT]);

    // Carol signs in with the address she changed to; her tasks and limit are intact.
    let carol = api.token("carol.new@example.com", "carol password").await;
    let me = api.me(&carol).await;
    assert_eq!(me["email"], "carol.new@example.com");
    assert_eq!(project_names(&me), [STARTER_PROJECT, "Garden"]);
    let tasks = api.get("/api/projects/6/tasks", Some(&carol)).await.expect(200).body;
    let names: Vec<&str> =
        tasks["tasks"].as_array().expect("tasks").iter().map(|t| t["name"].as_str().expect("name")).collect();
    assert_eq!(
        names,
        ["Sign up!", "Watch the tutorial", "Start using our awesome app", "Plant tulips", "Mow the lawn"]
    );
    assert!(tasks["tasks"][0]["completedAt"].is_string(), "{tasks}");
    let garden = api.get("/api/projects/7", Some(&carol)).await.expect(200).body;
    assert_eq!(garden["maximumNumberOfIncompleteTasks"], 2);

    // Numbering and ids carry on where v1 stopped (Dave's starter project took 8).
    let task =
        api.post_json("/api/projects/6/tasks", Some(&carol), &json!({"name": "Water the roses"})).await.expect(201);
    assert_eq!(task.body["number"], 6);
    let project = api.post_json("/api/projects", Some(&carol), &json!({"name": "Kitchen"})).await.expect(201);
    assert_eq!(project.body["id"], 9);
    // Someone else's project still answers 404.
    api.get("/api/projects/2", Some(&carol)).await.expect(404);

    // The decomposed v1 address now has its canonical key: every spelling signs in,
    // and none registers another account.
    for spelling in ["jos\u{e9}@example.com", "JOSE\u{301}@example.com", "ｊｏｓ\u{e9}@example.com"] {
        let token = api.token(spelling, "dave password").await;
        assert_eq!(api.me(&token).await["email"], "JOSE\u{301}@example.com", "shown as typed");
        let taken = api.post_json("/api/users", None, &json!({"email": spelling, "password": "a new password"})).await;
        taken.expect(409);
    }

    let inspector = database.inspect().await;
    assert_eq!(inspector.scalar("SELECT COUNT(*) FROM outbox").await, 0, "nothing left waiting");
    assert_eq!(inspector.scalar("SELECT COUNT(*) FROM users").await, 4);
    assert_eq!(inspector.scalar("SELECT COUNT(*) FROM email_key_rewrites").await, 0, "the rewrite ran");
    // v1's HS256 secret signs nothing any more; a stored secret nobody uses is only a risk.
    let v1_secret = inspector.scalar("SELECT COUNT(*) FROM settings WHERE key = 'jwt_secret'").await;
    assert_eq!(v1_secret, 0, "the secret v1 generated is removed");
    assert_eq!(inspector.scalar("SELECT COUNT(*) FROM signing_keys").await, 1, "one Ed25519 key signs");
    let (status, log) = server.terminate();
    assert!(status.success(), "{}", log.text());
}
