//! The scenarios, in the order they run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hyper::StatusCode;

use crate::cli::Settings;
use crate::client::{Connection, Endpoint, Request, uri};
use crate::load::{self, Generator, Group, Stats};
use crate::report::{Kind, Row, progress};
use crate::seed::{BenchUser, Fixture, LIST_TASKS, MANY_PROJECTS, json_len};
use crate::server::{RssMonitor, Server};

/// Makes the request generator of each connection of a group.
type Factory = Box<dyn Fn(usize) -> Generator + Send + Sync>;

/// How long one sequential growth request may take before it counts as an error.
const SEQUENTIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the scenarios and collects their rows.
#[derive(Debug)]
pub struct Bench<'a> {
    pub endpoint: Endpoint,
    pub server: &'a mut Server,
    pub settings: Settings,
    pub fixture: Arc<Fixture>,
    pub rows: Vec<Row>,
    /// `/health` throughput, the reference of every throughput ratio.
    pub health: Option<f64>,
    /// The ratios the performance targets are stated in.
    pub summary: Vec<String>,
}

impl Bench<'_> {
    pub async fn run_all(&mut self) -> anyhow::Result<()> {
        let users = self.fixture.users.len();
        let connections = self.settings.connections;

        let health = uri("/health")?;
        let stats = self.load_one("GET /health", same(Request::get(health, None)), "the framework floor").await?;
        self.health = Some(stats.rate());

        let name = "GET /api/projects/{id}/tasks";
        if self.settings.wants(name) {
            let stats = self
                .load_one(name, per_user(&self.fixture, 0, |user| &user.list_tasks), "10-task project, bearer token")
                .await?;
            if let Some(health) = self.health.filter(|health| *health > 0.0) {
                self.summary.push(format!("task list throughput: {:.3} × /health", stats.rate() / health));
            }
        }

        let name = "GET /api/projects/{id}/tasks/{n}, If-None-Match hit";
        if self.settings.wants(name) {
            let revalidations = self.revalidations().await?;
            let note = "304 to a current ETag, bearer token";
            let stats = self.load_one(name, per_worker(revalidations), note).await?;
            if let Some(health) = self.health.filter(|health| *health > 0.0) {
                self.summary
                    .push(format!("If-None-Match hit (304) throughput: {:.3} × /health", stats.rate() / health));
            }
        }

        let name = "GET /api/users/me";
        if self.settings.wants(name) {
            self.load_one(name, per_user(&self.fixture, 0, |user| &user.me), "bearer token").await?;
        }

        let name = "POST /api/projects/{id}/tasks";
        if self.settings.wants(name) {
            let note = format!("into {} no-limit projects, one per user", users.min(connections));
            let stats = self.load_one(name, per_user(&self.fixture, 0, |user| &user.create_task), &note).await?;
            self.summary.push(format!("task creation: {:.0} requests/s", stats.rate()));
        }

        let name = "PUT …/complete + …/incomplete";
        if self.settings.wants(name) {
            self.load_one(name, toggles(&self.fixture), "alternating on 10-task projects").await?;
        }
        let name = "POST /api/users/login";
        if self.settings.wants(name) {
            self.load_one(name, per_user(&self.fixture, 0, |user| &user.login), "form; argon2id each").await?;
        }
        if self.settings.wants("mixed") {
            let note = format!("90 % reads / 10 % writes, {users} users");
            self.load_one("mixed", mixed(&self.fixture), &note).await?;
        }

        if self.settings.wants("growth") {
            self.growth().await?;
        }
        if self.settings.wants("isolation") {
            self.isolation().await?;
        }

        let (errors, worst) = self.rows.iter().fold((0, None::<&Row>), |(errors, worst), row| {
            let worse = match (worst, row.rss_mib) {
                (Some(current), Some(mib)) => current.rss_mib.is_none_or(|peak| mib > peak),
                (None, _) => true,
                (Some(_), None) => false,
            };
            (errors + row.errors, if worse { Some(row) } else { worst })
        });
        if let Some(row) = worst
            && let Some(mib) = row.rss_mib
        {
            self.summary.push(format!("highest server peak RSS: {mib:.1} MiB ({})", row.name));
        }
        self.summary.push(format!("errors over all scenarios: {errors}"));
        Ok(())
    }

    /// The mixed scenario for `total`, one measured window a minute (the last one may be
    /// shorter); returns the report, one row per window with the server's RSS at its end.
    pub async fn soak(&mut self, total: Duration) -> anyhow::Result<String> {
        const WINDOW: Duration = Duration::from_secs(60);
        let mut text = String::from(
            "| minute | req/s | p50 ms | p99 ms | errors | RSS MiB |\n| -----: | ----: | -----: | -----: | -----: | ------: |\n",
        );
        let started = Instant::now();
        let mut minute = 0;
        let mut rss = Vec::new();
        while started.elapsed() < total {
            minute += 1;
            let window = WINDOW.min(total.saturating_sub(started.elapsed())).max(Duration::from_secs(1));
            let groups = vec![Group { connections: self.settings.connections, make: mixed(&self.fixture) }];
            let stats = load::run(&self.endpoint, groups, Duration::ZERO, window).await?;
            self.server.check_alive()?;
            let stats = stats.first().context("no statistics")?;
            let now = self.server.pid().and_then(crate::server::rss_mib);
            rss.extend(now);
            let millis = |quantile| stats.percentile(quantile).map_or(f64::NAN, |us| f64::from(us) / 1000.0);
            let line = format!(
                "| {minute} | {:.0} | {:.3} | {:.3} | {} | {} |",
                stats.rate(),
                millis(0.5),
                millis(0.99),
                stats.errors,
                now.map_or_else(|| "?".to_owned(), |mib| format!("{mib:.1}")),
            );
            progress(format_args!("soak {line}"));
            text.push_str(&line);
            text.push('\n');
        }
        // After the first minute's warm-up (caches, pools, allocator arenas), the RSS
        // should stay where it settled.
        if let (Some(settled), Some(last)) = (rss.get(1).or(rss.first()), rss.last()) {
            text.push_str(&format!(
                "\n- RSS after the first minute: {settled:.1} MiB; at the end: {last:.1} MiB ({:+.1} %)\n",
                (last - settled) / settled * 100.0
            ));
        }
        Ok(text)
    }

    /// Each user's first list task, revalidated with the ETag it has now.
    async fn revalidations(&self) -> anyhow::Result<Vec<Request>> {
        let mut connection = Connection::open(&self.endpoint).await?;
        let mut requests = Vec::with_capacity(self.fixture.users.len());
        for user in &self.fixture.users {
            let read = user.task.first().context("a list task")?;
            let reply = connection.send(read).await?;
            anyhow::ensure!(reply.status == StatusCode::OK, "{} answered {}", read.describe(), reply.status);
            let tag = reply.etag.with_context(|| format!("{} answered no ETag", read.describe()))?;
            requests.push(read.clone().revalidating(tag));
        }
        anyhow::ensure!(!requests.is_empty(), "no bench users to revalidate as");
        Ok(requests)
    }

    /// One group of `--connections` connections, recorded as a row.
    async fn load_one(&mut self, name: &str, make: Factory, note: &str) -> anyhow::Result<Stats> {
        let connections = self.settings.connections;
        let (mut stats, rss) = self.load(name, vec![Group { connections, make }]).await?;
        let stats = stats.pop().context("no statistics")?;
        self.rows.push(row(name, Kind::Load, connections, &stats, rss, note));
        Ok(stats)
    }

    /// Runs the groups at once; also returns the server's peak memory over the scenario.
    async fn load(&mut self, name: &str, groups: Vec<Group>) -> anyhow::Result<(Vec<Stats>, Option<f64>)> {
        progress(format_args!("running {name}"));
        let monitor = self.server.pid().map(RssMonitor::start);
        let result = load::run(&self.endpoint, groups, self.settings.warmup, self.settings.duration).await;
        let rss = monitor.and_then(RssMonitor::finish);
        self.server.check_alive()?;
        Ok((result?, rss))
    }

    /// Median cost of one request against data of growing size, one request at a time
    /// on one connection (nothing else running), the sizes interleaved so that any drift
    /// of the machine affects them all alike.
    async fn growth(&mut self) -> anyhow::Result<()> {
        let samples = self.settings.growth_samples;
        progress(format_args!("running growth ({samples} sequential requests per size)"));
        let monitor = self.server.pid().map(RssMonitor::start);
        let mut connection = Connection::open(&self.endpoint).await?;
        let fixture = Arc::clone(&self.fixture);

        let mut creations: Vec<Series> = fixture.growth.iter().map(|_| Series::default()).collect();
        for round in 0..samples {
            for (set, series) in fixture.growth.iter().zip(&mut creations) {
                if let Some(request) = set.create.get(round % set.create.len().max(1)) {
                    series.time(&mut connection, request).await;
                }
            }
        }

        // Project lists: an ordinary user's (a few projects) against the 1,000-project user's.
        let few = fixture.users.first().map(|user| user.projects.clone()).context("no users")?;
        let many = fixture.many_projects.clone();
        let few_count = count_projects(&mut connection, &few).await?;
        let many_count = count_projects(&mut connection, &many).await?;
        let mut lists = [Series::default(), Series::default()];
        for _ in 0..samples {
            for (request, series) in [&few, &many].into_iter().zip(&mut lists) {
                series.time(&mut connection, request).await;
            }
        }
        // Pages of the 100,000-task project: the first, and one 90,000 tasks in. A
        // keyset page costs an index seek, wherever it starts.
        let deepest = fixture.growth.iter().filter(|set| set.size == DEEP_PROJECT).find_map(|set| set.create.first());
        let mut pages = None;
        if let Some(create) = deepest {
            let path = create.uri.path().to_owned();
            let first = Request::get(uri(&format!("{path}?limit=100"))?, create.auth.as_ref());
            let deep = page_after(&mut connection, &path, create.auth.as_ref(), DEEP_PAGE).await?;
            let mut series = [Series::default(), Series::default()];
            for _ in 0..samples {
                for (request, series) in [&first, &deep].into_iter().zip(&mut series) {
                    series.time(&mut connection, request).await;
                }
            }
            pages = Some(series.map(Series::into_stats));
        }
        let rss = monitor.and_then(RssMonitor::finish);
        self.server.check_alive()?;

        let creations: Vec<(usize, Stats)> =
            fixture.growth.iter().zip(creations).map(|(set, series)| (set.size, series.into_stats())).collect();
        let reference = creations.first().and_then(|(_, stats)| stats.percentile(0.5));
        for (size, stats) in &creations {
            let note = match (reference, stats.percentile(0.5)) {
                (Some(reference), Some(p50)) if *size != 10 => {
                    format!("p50 = {:.2} × the 10-task project", ratio(p50, reference))
                }
                _ => "the reference for the sizes below".to_owned(),
            };
            let name = format!("growth: create task, {} tasks in project", thousands(*size));
            self.rows.push(row(&name, Kind::Sequential, 1, stats, rss, &note));
            if *size == 100_000
                && let (Some(reference), Some(p50)) = (reference, stats.percentile(0.5))
            {
                self.summary.push(format!(
                    "growth: task creation at 100,000 tasks: {:.2} × at 10 (p50)",
                    ratio(p50, reference)
                ));
            }
        }
        let [few_stats, many_stats] = lists.map(Series::into_stats);
        let name = format!("growth: GET /api/projects, {} projects", thousands(few_count));
        self.rows.push(row(&name, Kind::Sequential, 1, &few_stats, rss, "an ordinary user"));
        let note = match (few_stats.percentile(0.5), many_stats.percentile(0.5)) {
            (Some(few), Some(many)) => format!("p50 = {:.2} × the ordinary user's", ratio(many, few)),
            _ => String::new(),
        };
        // A page holds 100 projects: what grows is the owner's project count, not the answer.
        let name =
            format!("growth: GET /api/projects, first {} of {} projects", many_count, thousands(MANY_PROJECTS + 1));
        self.rows.push(row(&name, Kind::Sequential, 1, &many_stats, rss, &note));
        if let Some([first, deep]) = pages {
            let name = "pages: GET …/tasks?limit=100, first page of 100,000";
            self.rows.push(row(name, Kind::Sequential, 1, &first, rss, "the reference for the page below"));
            let note = match (first.percentile(0.5), deep.percentile(0.5)) {
                (Some(first), Some(deep)) => {
                    self.summary.push(format!(
                        "pages: a page at 90,000 of 100,000 tasks: {:.2} × the first (p50)",
                        ratio(deep, first)
                    ));
                    format!("p50 = {:.2} × the first page", ratio(deep, first))
                }
                _ => String::new(),
            };
            self.rows.push(row("pages: GET …/tasks?limit=100, page at 90,000", Kind::Sequential, 1, &deep, rss, &note));
        }
        Ok(())
    }

    /// The task list alone on half the connections, then again while the other half
    /// logs in as fast as it can.
    async fn isolation(&mut self) -> anyhow::Result<()> {
        let readers = self.settings.connections / 2;
        let stormers = self.settings.connections - readers;
        let fixture = Arc::clone(&self.fixture);
        let list = || per_user(&fixture, 0, |user| &user.list_tasks);

        let (mut alone, rss) =
            self.load("isolation: task list alone", vec![Group { connections: readers, make: list() }]).await?;
        let alone = alone.pop().context("no statistics")?;
        self.rows.push(row("isolation: GET …/tasks alone", Kind::Load, readers, &alone, rss, "half the connections"));

        // The storm's users are offset so that readers and logins touch different users.
        let storm = per_user(&self.fixture, readers, |user| &user.login);
        let groups = vec![Group { connections: readers, make: list() }, Group { connections: stormers, make: storm }];
        let (mut both, rss) = self.load("isolation: task list during a login storm", groups).await?;
        let logins = both.pop().context("no statistics")?;
        let during = both.pop().context("no statistics")?;
        let note = match (alone.percentile(0.99), during.percentile(0.99)) {
            (Some(alone), Some(during)) => {
                let ratio = ratio(during, alone);
                self.summary.push(format!("isolation: task-list p99 during a login storm: {ratio:.2} × alone"));
                format!("p99 = {ratio:.2} × alone")
            }
            _ => String::new(),
        };
        self.rows.push(row("isolation: GET …/tasks during storm", Kind::Load, readers, &during, rss, &note));
        self.rows.push(row(
            "isolation: the login storm",
            Kind::Load,
            stormers,
            &logins,
            rss,
            "other half of the connections",
        ));
        Ok(())
    }
}

/// How many projects a `GET /api/projects` lists.
/// The project whose pages are compared, and how deep the far page starts.
const DEEP_PROJECT: usize = 100_000;
const DEEP_PAGE: i64 = 90_000;

/// The request of the page of `path` (a task list) that starts after task `after`,
/// found by walking the list 500 tasks at a time, as a client would.
async fn page_after(
    connection: &mut Connection,
    path: &str,
    auth: Option<&hyper::header::HeaderValue>,
    after: i64,
) -> anyhow::Result<Request> {
    let mut cursor: Option<String> = None;
    loop {
        let query = cursor.as_ref().map_or_else(String::new, |cursor| format!("&cursor={cursor}"));
        let request = Request::get(uri(&format!("{path}?limit=500{query}"))?, auth);
        let reply = connection.send(&request).await?;
        anyhow::ensure!(reply.status == StatusCode::OK, "{} answered {}", request.describe(), reply.status);
        let body: serde_json::Value = serde_json::from_slice(&reply.body).context("a task page")?;
        let last = body["tasks"].as_array().and_then(|tasks| tasks.last()).and_then(|task| task["number"].as_i64());
        let next =
            body["nextCursor"].as_str().map(str::to_owned).with_context(|| format!("{path} ends before {after}"))?;
        if last.is_some_and(|last| last >= after) {
            return Ok(Request::get(uri(&format!("{path}?limit=100&cursor={next}"))?, auth));
        }
        cursor = Some(next);
    }
}

async fn count_projects(connection: &mut Connection, request: &Request) -> anyhow::Result<usize> {
    let reply = connection.send(request).await?;
    anyhow::ensure!(reply.status == StatusCode::OK, "{} answered {}", request.describe(), reply.status);
    json_len(&reply.body, "projects")
}

/// Latencies of requests sent one at a time.
#[derive(Debug, Default)]
struct Series {
    latencies_us: Vec<u32>,
    errors: u64,
    error_samples: Vec<String>,
}

impl Series {
    async fn time(&mut self, connection: &mut Connection, request: &Request) {
        let started = Instant::now();
        let outcome = tokio::time::timeout(SEQUENTIAL_TIMEOUT, connection.send(request)).await;
        let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        let error = match outcome {
            Ok(Ok(reply)) if reply.status.is_success() => {
                self.latencies_us.push(micros);
                return;
            }
            Ok(Ok(reply)) => format!("{} -> {} {}", request.describe(), reply.status, reply.snippet()),
            Ok(Err(error)) => format!("{} -> {error:#}", request.describe()),
            Err(_) => format!("{} -> no answer within {SEQUENTIAL_TIMEOUT:?}", request.describe()),
        };
        self.errors += 1;
        if self.error_samples.len() < 3 {
            self.error_samples.push(error);
        }
    }

    fn into_stats(self) -> Stats {
        Stats::from_samples(self.latencies_us, self.errors, self.error_samples)
    }
}

fn row(name: &str, kind: Kind, connections: usize, stats: &Stats, rss_mib: Option<f64>, note: &str) -> Row {
    Row {
        name: name.to_owned(),
        kind,
        connections,
        rate: stats.rate(),
        p50_us: stats.percentile(0.5),
        p99_us: stats.percentile(0.99),
        errors: stats.errors,
        rss_mib,
        note: note.to_owned(),
        error_samples: stats.error_samples.clone(),
    }
}

fn ratio(value: u32, reference: u32) -> f64 {
    f64::from(value) / f64::from(reference.max(1))
}

fn thousands(value: usize) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Every connection sends the same request.
fn same(request: Request) -> Factory {
    Box::new(move |_| {
        let request = request.clone();
        Box::new(move || request.clone())
    })
}

/// Connection `n` sends request `n` of `requests` (wrapping around), again and again.
fn per_worker(requests: Vec<Request>) -> Factory {
    let requests = Arc::new(requests);
    Box::new(move |worker| {
        let request = requests[worker % requests.len().max(1)].clone();
        Box::new(move || request.clone())
    })
}

/// Connection `n` acts as user `n + offset` (wrapping around) and sends `pick`'s request.
fn per_user(fixture: &Arc<Fixture>, offset: usize, pick: fn(&BenchUser) -> &Request) -> Factory {
    let fixture = Arc::clone(fixture);
    Box::new(move |worker| {
        let request = pick(fixture.user(worker + offset)).clone();
        Box::new(move || request.clone())
    })
}

/// `complete` then `incomplete` on each task of the user's list project in turn.
fn toggles(fixture: &Arc<Fixture>) -> Factory {
    let fixture = Arc::clone(fixture);
    Box::new(move |worker| {
        let user = Arc::clone(fixture.user(worker));
        // Connections sharing a user start on different tasks.
        let mut step = 2 * (worker / fixture.users.len().max(1));
        Box::new(move || {
            let task = (step / 2) % LIST_TASKS;
            let requests = if step.is_multiple_of(2) { &user.complete } else { &user.incomplete };
            step += 1;
            requests.get(task).unwrap_or(&user.list_tasks).clone()
        })
    })
}

/// 90 % reads (task list 30 %, me 25 %, one task 20 %, project list 15 %), 10 % writes
/// (task creation 5 %, complete or incomplete 5 %), each request for a random user.
fn mixed(fixture: &Arc<Fixture>) -> Factory {
    let fixture = Arc::clone(fixture);
    Box::new(move |worker| {
        let fixture = Arc::clone(&fixture);
        let mut rng = SplitMix64(0x5EED_0000 + worker as u64);
        Box::new(move || {
            let user = fixture.user(rng.below(fixture.users.len()));
            let task = rng.below(LIST_TASKS);
            let request = match rng.below(100) {
                0..30 => &user.list_tasks,
                30..55 => &user.me,
                55..75 => user.task.get(task).unwrap_or(&user.list_tasks),
                75..90 => &user.projects,
                90..95 => &user.create_task,
                _ if rng.below(2) == 0 => user.complete.get(task).unwrap_or(&user.list_tasks),
                _ => user.incomplete.get(task).unwrap_or(&user.list_tasks),
            };
            request.clone()
        })
    })
}

/// A small deterministic generator: every run sends the same request sequence.
#[derive(Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}
