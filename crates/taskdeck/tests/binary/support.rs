//! Black-box harness: runs the real `taskdeck` binary as a child process on a
//! temporary directory and database, and talks to it over TCP.
//!
//! Every wait is bounded by a deadline and fails loudly with the process's log.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use taskdeck_testkit::Client;

pub use taskdeck_testkit::{TestBackend, admin_execute, on_both_backends};

/// How long the binary may take to log `listening on`.
pub const START_DEADLINE: Duration = Duration::from_secs(30);
/// How long a stopped server or a one-shot command may take to exit.
pub const EXIT_DEADLINE: Duration = Duration::from_secs(30);
/// How long the starter project may take to appear after registration. The contract
/// says "within a second in normal operation"; this leaves room for a loaded machine.
pub const STARTER_DEADLINE: Duration = Duration::from_secs(5);

pub const PASSWORD: &str = "correct horse battery";
pub const STARTER_PROJECT: &str = "My first project";

/// Variables of taskdeck's configuration, removed from every child's environment so
/// the developer's shell cannot change what a test runs.
const TASKDECK_VARIABLES: [&str; 12] = [
    "TASKDECK_MAX_CONNECTIONS",
    "TASKDECK_CORS_ORIGINS",
    "TASKDECK_ADMIN_BIND",
    "TASKDECK_DATABASE_URL",
    "TASKDECK_DATABASE_POOL_SIZE",
    "TASKDECK_DATABASE_READ_POOL_SIZE",
    "TASKDECK_DATABASE_STATEMENT_TIMEOUT",
    "TASKDECK_DATABASE_CONNECT_TIMEOUT",
    "TASKDECK_BIND",
    "TASKDECK_JWT_SECRET",
    "TASKDECK_ACCESS_TOKEN_TTL",
    "TASKDECK_REFRESH_TOKEN_TTL",
];

/// `sqlite://DIR/taskdeck.db`.
pub fn database_url(dir: &Path) -> String {
    format!("sqlite://{}", database_path(dir).display())
}

pub fn database_path(dir: &Path) -> PathBuf {
    dir.join("taskdeck.db")
}

/// The binary with a clean environment, run in `dir`, logging at `info` without colours.
pub fn taskdeck(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskdeck"));
    command.current_dir(dir).stdin(Stdio::null()).env("RUST_LOG", "info").env("NO_COLOR", "1");
    for variable in TASKDECK_VARIABLES {
        command.env_remove(variable);
    }
    command
}

/// `taskdeck serve` on a free port and the database file in `dir`.
pub fn serve(dir: &Path) -> Command {
    let mut command = taskdeck(dir);
    command.args(["serve", "--bind", "127.0.0.1:0", "--database-url", &database_url(dir)]);
    command
}

/// The stderr lines of a child, collected by a thread as they come.
#[derive(Debug, Clone, Default)]
pub struct Log {
    inner: Arc<(Mutex<LogState>, Condvar)>,
}

#[derive(Debug, Default)]
struct LogState {
    lines: Vec<String>,
    closed: bool,
}

impl Log {
    /// Drains `stream` line by line in a thread until it closes.
    fn collect(stream: impl Read + Send + 'static) -> Self {
        let log = Self::default();
        let sink = log.clone();
        thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                sink.state().lines.push(strip_ansi(&line));
                sink.inner.1.notify_all();
            }
            sink.state().closed = true;
            sink.inner.1.notify_all();
        });
        log
    }

    fn state(&self) -> std::sync::MutexGuard<'_, LogState> {
        self.inner.0.lock().expect("log lock")
    }

    pub fn lines(&self) -> Vec<String> {
        self.state().lines.clone()
    }

    pub fn text(&self) -> String {
        self.lines().join("\n")
    }

    /// Waits until a line satisfies `matches` (returning it), or the stream closes or
    /// the deadline passes (returning `None`). Wakes as soon as a line arrives, so a
    /// caller can act on a line while the process is still right after writing it.
    pub fn wait_for(&self, deadline: Duration, mut matches: impl FnMut(&str) -> bool) -> Option<String> {
        let until = Instant::now() + deadline;
        let mut state = self.state();
        let mut seen = 0;
        loop {
            if let Some(found) = state.lines[seen..].iter().find(|line| matches(line)) {
                return Some(found.clone());
            }
            seen = state.lines.len();
            let now = Instant::now();
            if state.closed || now >= until {
                return None;
            }
            state = self.inner.1.wait_timeout(state, until - now).expect("log lock").0;
        }
    }

    /// How many lines contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.state().lines.iter().filter(|line| line.contains(needle)).count()
    }

    /// Waits until the stream is closed (the process exited), up to the deadline.
    fn wait_closed(&self, deadline: Duration) {
        let until = Instant::now() + deadline;
        let mut state = self.state();
        while !state.closed {
            let now = Instant::now();
            if now >= until {
                return;
            }
            state = self.inner.1.wait_timeout(state, until - now).expect("log lock").0;
        }
    }
}

/// Removes terminal colour sequences, in case a build logs with colours into a pipe.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A running `taskdeck serve`. Killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    pub address: SocketAddr,
    pub base: String,
    pub log: Log,
}

impl Server {
    /// `taskdeck serve` on a free port and `DIR/taskdeck.db`.
    pub fn start(dir: &Path) -> Self {
        Self::spawn(serve(dir))
    }

    /// Runs `command` (a `serve`) and waits for its `listening on http://ADDR` line.
    pub fn spawn(command: Command) -> Self {
        Self::launch(command).listening()
    }

    /// Runs `command` (a `serve`) without waiting: several servers launched one after
    /// the other start at the same time.
    pub fn launch(mut command: Command) -> Launched {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
        let log = Log::collect(child.stderr.take().expect("piped stderr"));
        Launched { child: Some(child), log }
    }

    /// A client for this server.
    pub fn client(&self) -> Client {
        Client::at(&self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running child").id()
    }

    /// Sends a signal by name (`TERM`, `INT`, `KILL`) with the `kill` command.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap_or_else(|error| panic!("cannot run kill -{name}: {error}"));
        assert!(status.success(), "kill -{name} {} failed: {status}", self.pid());
    }

    /// Waits for the process to exit (failing loudly after the deadline) and returns
    /// its status; the log is complete afterwards.
    pub fn wait_exit(&mut self, deadline: Duration) -> ExitStatus {
        let child = self.child.as_mut().expect("running child");
        let until = Instant::now() + deadline;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    self.child = None;
                    self.log.wait_closed(Duration::from_secs(5));
                    return status;
                }
                Ok(None) if Instant::now() < until => thread::sleep(Duration::from_millis(20)),
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    self.child = None;
                    panic!("taskdeck did not exit within {deadline:?}; its stderr:\n{}", self.log.text());
                }
                Err(error) => panic!("cannot wait for taskdeck: {error}"),
            }
        }
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(mut self) -> (ExitStatus, Log) {
        self.signal("TERM");
        let status = self.wait_exit(EXIT_DEADLINE);
        (status, self.log.clone())
    }

    /// Waits for the process to exit by itself (after a signal sent earlier).
    pub fn finish(mut self) -> (ExitStatus, Log) {
        let status = self.wait_exit(EXIT_DEADLINE);
        (status, self.log.clone())
    }

    /// SIGKILL (`Child::kill`), then waits for the process to be gone.
    pub fn kill_hard(mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL the server");
            child.wait().expect("reap the server");
        }
    }
}

/// A `taskdeck serve` started but not yet known to listen. Killed when dropped.
#[derive(Debug)]
pub struct Launched {
    child: Option<Child>,
    pub log: Log,
}

impl Launched {
    /// Waits for the `listening on http://ADDR` line, failing loudly with the log.
    pub fn listening(mut self) -> Server {
        let mut child = self.child.take().expect("launched child");
        let log = self.log.clone();
        let line = log.wait_for(START_DEADLINE, |line| line.contains("listening on http://"));
        let Some(line) = line else {
            let _ = child.kill();
            let status = child.wait();
            log.wait_closed(Duration::from_secs(2));
            panic!(
                "taskdeck did not log `listening on http://ADDR` within {START_DEADLINE:?} (exit: {status:?}); \
                 its stderr:\n{}",
                log.text()
            );
        };
        let address = line
            .split("listening on http://")
            .nth(1)
            // The address ends the message: at a space, or at the quote of a JSON line.
            .and_then(|rest| rest.split(|c: char| c.is_whitespace() || c == '"').next())
            .and_then(|address| address.parse::<SocketAddr>().ok())
            .unwrap_or_else(|| panic!("cannot read the address in {line:?}"));
        Server { child: Some(child), address, base: format!("http://{address}"), log }
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What a one-shot command printed.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().filter(|line| !line.trim().is_empty()).collect()
    }
}

/// Runs `command` to completion, killing it and failing loudly after the deadline.
pub fn run_to_exit(mut command: Command) -> Finished {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
    let stdout = read_in_thread(child.stdout.take().expect("piped stdout"));
    let stderr = read_in_thread(child.stderr.take().expect("piped stderr"));
    let until = Instant::now() + EXIT_DEADLINE;
    let status = loop {
        match child.try_wait().expect("wait for taskdeck") {
            Some(status) => break status,
            None if Instant::now() < until => thread::sleep(Duration::from_millis(20)),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{command:?} did not exit within {EXIT_DEADLINE:?}; its stderr:\n{}",
                    stderr.join().unwrap_or_default()
                );
            }
        }
    };
    Finished { status, stdout: stdout.join().expect("stdout reader"), stderr: stderr.join().expect("stderr reader") }
}

fn read_in_thread(mut stream: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        text
    })
}

/// Polls `probe` until it returns `Some`, failing loudly with `what` after the deadline.
pub async fn eventually<T, F, Fut>(deadline: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let until = Instant::now() + deadline;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < until, "gave up after {deadline:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// What the real-binary tests ask of a server beyond single requests.
pub trait ServerClient {
    /// Registers and logs in; returns the token.
    async fn newcomer(&self, email: &str) -> String;

    /// Waits for the starter project to be listed in `GET /api/users/me` and returns
    /// its id.
    async fn starter_project(&self, token: &str) -> i64;
}

impl ServerClient for Client {
    async fn newcomer(&self, email: &str) -> String {
        self.register(email, PASSWORD).await.expect(201);
        self.token(email, PASSWORD).await
    }

    async fn starter_project(&self, token: &str) -> i64 {
        eventually(STARTER_DEADLINE, "the starter project in GET /api/users/me", || async {
            let me = self.me(token).await;
            project_named(&me, STARTER_PROJECT)
        })
        .await
    }
}

/// The names of the projects in a `Me` or project list body.
pub fn project_names(body: &Value) -> Vec<String> {
    body["projects"]
        .as_array()
        .unwrap_or_else(|| panic!("no projects array in {body}"))
        .iter()
        .map(|project| project["name"].as_str().expect("project name").to_owned())
        .collect()
}

/// The id of the (first) project called `name` in a `Me` or project list body.
pub fn project_named(body: &Value, name: &str) -> Option<i64> {
    body["projects"]
        .as_array()?
        .iter()
        .find(|project| project["name"] == name)
        .and_then(|project| project["id"].as_i64())
}

/// A connection to the database file, to look at what the server stored.
pub fn inspect(dir: &Path) -> rusqlite::Connection {
    let connection =
        rusqlite::Connection::open_with_flags(database_path(dir), rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
            .unwrap_or_else(|error| panic!("cannot open {}: {error}", database_path(dir).display()));
    connection.busy_timeout(Duration::from_secs(5)).expect("a busy timeout");
    connection
}

/// The database of one test (testkit's, on either backend) and the commands that run
/// the binary on it. Keep it alive as long as the test's servers run: on PostgreSQL it
/// is dropped with every connection to it.
#[derive(Debug)]
pub struct TestDatabase {
    inner: taskdeck_testkit::TestDatabase,
}

impl std::ops::Deref for TestDatabase {
    type Target = taskdeck_testkit::TestDatabase;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl TestDatabase {
    /// A database ready for `serve`, migrated by the binary's own `taskdeck migrate`.
    /// `None` (after SKIPPED was printed) when PostgreSQL is wanted but not configured.
    pub async fn new(backend: TestBackend) -> Option<Self> {
        let database = Self::empty(backend).await?;
        let migrated = run_to_exit(database.command(&["migrate"]));
        assert!(migrated.status.success(), "taskdeck migrate failed: {migrated:#?}");
        Some(database)
    }

    /// A database with no schema at all: on SQLite no file yet, on PostgreSQL an empty
    /// database, for tests of `migrate`, of upgrades and of instances migrating together.
    pub async fn empty(backend: TestBackend) -> Option<Self> {
        Some(Self { inner: taskdeck_testkit::TestDatabase::new(backend).await? })
    }

    /// `taskdeck ARGS --database-url URL` in the working directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = taskdeck(self.dir());
        command.args(args).args(["--database-url", self.url()]);
        command
    }

    /// `taskdeck serve` on a free port and this database.
    pub fn serve(&self) -> Command {
        self.command(&["serve", "--bind", "127.0.0.1:0"])
    }

    /// Starts `serve` and waits until it listens.
    pub fn start(&self) -> Server {
        Server::spawn(self.serve())
    }

    /// A connection to look at (or tamper with) what the servers stored.
    pub async fn inspect(&self) -> Inspector {
        match self.backend {
            TestBackend::Sqlite => Inspector::Sqlite(Arc::new(Mutex::new(inspect(self.dir())))),
            TestBackend::Postgres => Inspector::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(2)
                    .connect_lazy(self.url())
                    .unwrap_or_else(|error| panic!("cannot configure a pool for {}: {error}", self.url())),
            ),
        }
    }
}

/// A pool on a test's database, for SQL checks that read the same on both backends.
#[derive(Debug, Clone)]
pub enum Inspector {
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
    Postgres(sqlx::PgPool),
}

/// A read transaction on one consistent snapshot, while servers may be writing.
#[derive(Debug)]
pub enum Snapshot {
    Sqlite(rusqlite::Connection),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

fn sql(text: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text.to_owned())
}

fn sqlite_column<T: rusqlite::types::FromSql>(
    connection: &rusqlite::Connection,
    query: &str,
) -> rusqlite::Result<Vec<T>> {
    let mut statement = connection.prepare(query)?;
    statement.query_map([], |row| row.get(0))?.collect()
}

impl Inspector {
    fn sqlite<T>(connection: &Mutex<rusqlite::Connection>, work: impl FnOnce(&rusqlite::Connection) -> T) -> T {
        let connection = connection.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        work(&connection)
    }

    /// One number, e.g. `SELECT COUNT(*) FROM …`.
    pub async fn scalar(&self, query: &str) -> i64 {
        let result = match self {
            Self::Sqlite(connection) => {
                Self::sqlite(connection, |c| c.query_row(query, [], |row| row.get(0))).map_err(|e| e.to_string())
            }
            Self::Postgres(pool) => sqlx::query_scalar(sql(query)).fetch_one(pool).await.map_err(|e| e.to_string()),
        };
        result.unwrap_or_else(|error| panic!("{query}: {error}"))
    }

    /// One text value, e.g. `SELECT password_hash FROM users LIMIT 1`.
    pub async fn text(&self, query: &str) -> String {
        let result = match self {
            Self::Sqlite(connection) => {
                Self::sqlite(connection, |c| c.query_row(query, [], |row| row.get(0))).map_err(|e| e.to_string())
            }
            Self::Postgres(pool) => sqlx::query_scalar(sql(query)).fetch_one(pool).await.map_err(|e| e.to_string()),
        };
        result.unwrap_or_else(|error| panic!("{query}: {error}"))
    }

    /// A statement that changes rows; returns how many.
    pub async fn execute(&self, statement: &str) -> u64 {
        let result = match self {
            Self::Sqlite(connection) => Self::sqlite(connection, |c| c.execute(statement, []))
                .map(|changed| u64::try_from(changed).unwrap_or(u64::MAX))
                .map_err(|e| e.to_string()),
            Self::Postgres(pool) => sqlx::query(sql(statement))
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
                .map_err(|e| e.to_string()),
        };
        result.unwrap_or_else(|error| panic!("{statement}: {error}"))
    }

    /// Starts a read of one snapshot (REPEATABLE READ on PostgreSQL).
    pub async fn snapshot(&self) -> Snapshot {
        match self {
            Self::Sqlite(connection) => {
                let path = Self::sqlite(connection, |c| c.path().map(PathBuf::from)).expect("a database file");
                let reader = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .expect("open a reader");
                reader.busy_timeout(Duration::from_secs(5)).expect("a busy timeout");
                // A deferred transaction reads one snapshot from its first SELECT on.
                reader.execute_batch("BEGIN").expect("begin a read");
                Snapshot::Sqlite(reader)
            }
            Self::Postgres(pool) => {
                let mut transaction = pool.begin().await.expect("begin a read");
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .execute(&mut *transaction)
                    .await
                    .expect("a snapshot read");
                Snapshot::Postgres(transaction)
            }
        }
    }
}

impl Snapshot {
    pub async fn scalar(&mut self, query: &str) -> i64 {
        let result = match self {
            Self::Sqlite(connection) => connection.query_row(query, [], |row| row.get(0)).map_err(|e| e.to_string()),
            Self::Postgres(transaction) => {
                sqlx::query_scalar(sql(query)).fetch_one(&mut **transaction).await.map_err(|e| e.to_string())
            }
        };
        result.unwrap_or_else(|error| panic!("{query}: {error}"))
    }

    /// The first column of every row, as text.
    pub async fn strings(&mut self, query: &str) -> Vec<String> {
        let result = match self {
            Self::Sqlite(connection) => sqlite_column(connection, query).map_err(|e| e.to_string()),
            Self::Postgres(transaction) => {
                sqlx::query_scalar(sql(query)).fetch_all(&mut **transaction).await.map_err(|e| e.to_string())
            }
        };
        result.unwrap_or_else(|error| panic!("{query}: {error}"))
    }

    /// The first column of every row, as numbers.
    pub async fn numbers(&mut self, query: &str) -> Vec<i64> {
        let result = match self {
            Self::Sqlite(connection) => sqlite_column(connection, query).map_err(|e| e.to_string()),
            Self::Postgres(transaction) => {
                sqlx::query_scalar(sql(query)).fetch_all(&mut **transaction).await.map_err(|e| e.to_string())
            }
        };
        result.unwrap_or_else(|error| panic!("{query}: {error}"))
    }

    /// Rows of (text, number), e.g. `SELECT key, COUNT(*) … GROUP BY key`.
    pub async fn counted(&mut self, query: &str) -> Vec<(String, i64)> {
        let result = match self {
            Self::Sqlite(connection) => connection
                .prepare(query)
                .and_then(|mut statement| statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect())
                .map_err(|e| e.to_string()),
            Self::Postgres(transaction) => {
                sqlx::query_as(sql(query)).fetch_all(&mut **transaction).await.map_err(|e| e.to_string())
            }
        };
        result.unwrap_or_else(|error| panic!("{query}: {error}"))
    }

    pub async fn finish(self) {
        match self {
            Self::Sqlite(connection) => connection.execute_batch("COMMIT").expect("end the read"),
            Self::Postgres(transaction) => transaction.commit().await.expect("end the read"),
        }
    }
}

/// Accounts, starter projects and outbox as stored, read in one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registrations {
    /// Hex ids of every account.
    pub users: std::collections::BTreeSet<String>,
    /// Hex owner id → number of projects called `My first project`.
    pub starter_projects: std::collections::BTreeMap<String, i64>,
    /// Every project, starter or not.
    pub all_projects: i64,
    /// Number of tasks of each project.
    pub tasks_per_project: Vec<i64>,
    /// Events still in the outbox (pending or dead).
    pub outbox: i64,
    /// Events marked handled in the inbox.
    pub inbox: i64,
}

impl Registrations {
    pub async fn read(database: &TestDatabase) -> Self {
        let inspector = database.inspect().await;
        let backend = database.backend;
        let mut snapshot = inspector.snapshot().await;
        let users = snapshot.strings(&format!("SELECT {} FROM users", backend.hex_id("id"))).await;
        let starter_projects = snapshot
            .counted(&format!(
                "SELECT {}, COUNT(*) FROM projects WHERE name = '{STARTER_PROJECT}' GROUP BY owner_id",
                backend.hex_id("owner_id")
            ))
            .await;
        let all_projects = snapshot.scalar("SELECT COUNT(*) FROM projects").await;
        let tasks_per_project = snapshot.numbers("SELECT COUNT(*) FROM tasks GROUP BY project_id").await;
        let outbox = snapshot.scalar("SELECT COUNT(*) FROM outbox").await;
        let inbox = snapshot.scalar("SELECT COUNT(*) FROM inbox").await;
        snapshot.finish().await;
        drop(inspector);
        Self {
            users: users.into_iter().collect(),
            starter_projects: starter_projects.into_iter().collect(),
            all_projects,
            tasks_per_project,
            outbox,
            inbox,
        }
    }

    pub fn starter_project_count(&self) -> i64 {
        self.starter_projects.values().sum()
    }

    /// Every account has its starter project and nothing waits in the outbox.
    pub fn settled(&self) -> bool {
        self.outbox == 0 && self.users.iter().all(|user| self.starter_projects.contains_key(user))
    }

    /// Exactly one starter project per account, each with its three tasks, and no
    /// project of anyone else.
    pub fn assert_exactly_one_starter_project_each(&self) {
        let owners: std::collections::BTreeSet<&String> = self.starter_projects.keys().collect();
        let users: std::collections::BTreeSet<&String> = self.users.iter().collect();
        assert_eq!(owners, users, "starter projects belong to exactly the stored accounts: {self:#?}");
        let doubles: Vec<_> = self.starter_projects.iter().filter(|(_, count)| **count != 1).collect();
        assert!(doubles.is_empty(), "accounts with other than one starter project: {doubles:?}");
        assert_eq!(self.all_projects, self.starter_project_count(), "only starter projects exist: {self:#?}");
        assert!(self.tasks_per_project.iter().all(|&tasks| tasks == 3), "{:?}", self.tasks_per_project);
        assert_eq!(self.tasks_per_project.len(), self.starter_projects.len(), "every starter project has tasks");
    }
}
