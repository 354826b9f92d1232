//! The data every scenario runs on, created through the API (and, for the
//! 100,000-task growth project only, appended straight into the database).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, bail};
use bytes::Bytes;
use hyper::header::HeaderValue;
use hyper::{StatusCode, Uri};
use serde_json::json;
use tokio::task::JoinSet;

use crate::client::{Connection, Endpoint, Request, form_value, uri};
use crate::database::Database;
use crate::report::progress;

/// Task counts of the growth projects.
pub const GROWTH_SIZES: [usize; 4] = [10, 1_000, 10_000, 100_000];
/// Growth projects at least this big are filled straight in the database.
const DIRECT_FROM: usize = 100_000;
/// Projects of the user whose project list is measured.
pub const MANY_PROJECTS: usize = 1_000;
/// Tasks in each user's list project.
pub const LIST_TASKS: usize = 10;
const PASSWORD: &str = "bench-password-1";
/// Registration and login hash a password (argon2id): more parallel requests than cores
/// only queue.
const HASHING_CONCURRENCY: usize = 4;

/// A seeded user and the requests the scenarios send on their behalf.
#[derive(Debug)]
pub struct BenchUser {
    /// `POST /api/users/login`, form-encoded.
    pub login: Request,
    /// `GET /api/projects/{list}/tasks` on a project holding [`LIST_TASKS`] tasks.
    pub list_tasks: Request,
    pub me: Request,
    pub projects: Request,
    /// `GET /api/projects/{list}/tasks/{n}` for each task of the list project.
    pub task: Vec<Request>,
    pub complete: Vec<Request>,
    pub incomplete: Vec<Request>,
    /// `POST /api/projects/{writes}/tasks` into a project without limit.
    pub create_task: Request,
}

/// The projects of one growth size: each receives the same share of the measured
/// creations, so that none grows by more than ~5 % (the 10-task ones by exactly one).
#[derive(Debug)]
pub struct GrowthSet {
    pub size: usize,
    pub create: Vec<Request>,
}

#[derive(Debug)]
pub struct Fixture {
    pub users: Vec<Arc<BenchUser>>,
    pub growth: Vec<GrowthSet>,
    /// `GET /api/projects` of the user with [`MANY_PROJECTS`] projects.
    pub many_projects: Request,
}

impl Fixture {
    /// User `index`, wrapping around (there is always at least one).
    pub fn user(&self, index: usize) -> &Arc<BenchUser> {
        &self.users[index % self.users.len()]
    }
}

/// Seeds everything. `growth_samples` sizes the growth projects (see [`GrowthSet`]).
pub async fn seed(
    endpoint: &Endpoint,
    database: &Database,
    users: usize,
    growth_samples: usize,
    concurrency: usize,
) -> anyhow::Result<Fixture> {
    if users == 0 {
        bail!("at least one user is needed");
    }
    // Accounts: the scenario users, one owning the growth projects, one owning many.
    let emails: Vec<String> = (0..users)
        .map(|index| format!("bench-{index}@example.com"))
        .chain(["bench-growth@example.com".to_owned(), "bench-many@example.com".to_owned()])
        .collect();
    progress(format_args!("seeding {} users (register + login: two argon2id hashes each)", emails.len()));
    let register: Vec<Request> = emails
        .iter()
        .map(|email| Ok(Request::post_json(uri("/api/users")?, None, &json!({"email": email, "password": PASSWORD}))))
        .collect::<anyhow::Result<_>>()?;
    parallel(endpoint, HASHING_CONCURRENCY, register, StatusCode::CREATED).await.context("registering users")?;
    let logins: Vec<Request> = emails.iter().map(|email| login_request(email)).collect::<anyhow::Result<_>>()?;
    let tokens = parallel(endpoint, HASHING_CONCURRENCY, logins.clone(), StatusCode::OK).await.context("logging in")?;
    let auths: Vec<HeaderValue> = tokens
        .iter()
        .map(|body| {
            let token = json_str(body, "access_token")?;
            HeaderValue::from_str(&format!("Bearer {token}")).context("the access token is not a valid header value")
        })
        .collect::<anyhow::Result<_>>()?;
    let (Some(growth_auth), Some(many_auth)) = (auths.get(users), auths.get(users + 1)) else {
        bail!("missing tokens of the growth users");
    };

    // Projects: a list project and a writes project per user, the growth projects, and
    // the many-projects user's projects.
    let growth_counts: Vec<usize> =
        GROWTH_SIZES.iter().map(|&size| (growth_samples * 20).div_ceil(size).clamp(1, growth_samples)).collect();
    let mut project_requests = Vec::new();
    for (index, auth) in auths.iter().take(users).enumerate() {
        project_requests.push(create_project(auth, &format!("Bench list {index}"))?);
        project_requests.push(create_project(auth, &format!("Bench writes {index}"))?);
    }
    for (&size, &count) in GROWTH_SIZES.iter().zip(&growth_counts) {
        for index in 0..count {
            project_requests.push(create_project(growth_auth, &format!("Growth {size} #{index}"))?);
        }
    }
    for index in 0..MANY_PROJECTS {
        project_requests.push(create_project(many_auth, &format!("Many {index}"))?);
    }
    progress(format_args!("seeding {} projects", project_requests.len()));
    let created =
        parallel(endpoint, concurrency, project_requests, StatusCode::CREATED).await.context("creating projects")?;
    let ids: Vec<i64> = created.iter().map(|body| json_i64(body, "id")).collect::<anyhow::Result<_>>()?;
    let mut ids = ids.into_iter();
    let mut user_projects = Vec::with_capacity(users);
    for _ in 0..users {
        let (Some(list), Some(writes)) = (ids.next(), ids.next()) else { bail!("missing project ids") };
        user_projects.push((list, writes));
    }
    let mut growth_projects = Vec::new();
    for (&size, &count) in GROWTH_SIZES.iter().zip(&growth_counts) {
        let projects: Vec<i64> = ids.by_ref().take(count).collect();
        if projects.len() != count {
            bail!("missing growth project ids");
        }
        growth_projects.push((size, projects));
    }

    // Tasks: 10 per list project and the growth projects' contents, through the API.
    let mut task_requests = Vec::new();
    for ((list, _), auth) in user_projects.iter().zip(&auths) {
        for number in 1..=LIST_TASKS {
            task_requests.push(create_task(auth, *list, &format!("Task {number}"))?);
        }
    }
    for (size, projects) in &growth_projects {
        if *size >= DIRECT_FROM {
            continue;
        }
        for &project in projects {
            for number in 1..=*size {
                task_requests.push(create_task(growth_auth, project, &format!("Task {number}"))?);
            }
        }
    }
    progress(format_args!("seeding {} tasks through the API", task_requests.len()));
    parallel(endpoint, concurrency, task_requests, StatusCode::CREATED).await.context("creating tasks")?;
    for (size, projects) in &growth_projects {
        if *size < DIRECT_FROM {
            continue;
        }
        progress(format_args!("appending {size} tasks to {} project(s) directly in the database", projects.len()));
        for &project in projects {
            database.append_tasks(project, i64::try_from(*size)?).await?;
        }
    }

    let mut bench_users = Vec::with_capacity(users);
    for ((auth, login), (list, writes)) in auths.iter().zip(logins).zip(user_projects) {
        let numbers = 1..=LIST_TASKS;
        bench_users.push(Arc::new(BenchUser {
            login,
            list_tasks: Request::get(uri(&format!("/api/projects/{list}/tasks"))?, Some(auth)),
            me: Request::get(uri("/api/users/me")?, Some(auth)),
            projects: Request::get(uri("/api/projects")?, Some(auth)),
            task: numbers
                .clone()
                .map(|n| Ok(Request::get(uri(&format!("/api/projects/{list}/tasks/{n}"))?, Some(auth))))
                .collect::<anyhow::Result<_>>()?,
            complete: numbers
                .clone()
                .map(|n| Ok(Request::put(uri(&format!("/api/projects/{list}/tasks/{n}/complete"))?, Some(auth))))
                .collect::<anyhow::Result<_>>()?,
            incomplete: numbers
                .map(|n| Ok(Request::put(uri(&format!("/api/projects/{list}/tasks/{n}/incomplete"))?, Some(auth))))
                .collect::<anyhow::Result<_>>()?,
            create_task: create_task(auth, writes, "Bench task")?,
        }));
    }
    let growth = growth_projects
        .into_iter()
        .map(|(size, projects)| {
            let create = projects
                .into_iter()
                .map(|project| create_task(growth_auth, project, "Growth task"))
                .collect::<anyhow::Result<_>>()?;
            Ok(GrowthSet { size, create })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Fixture { users: bench_users, growth, many_projects: Request::get(uri("/api/projects")?, Some(many_auth)) })
}

fn login_request(email: &str) -> anyhow::Result<Request> {
    let form = format!("grant_type=password&username={}&password={}", form_value(email), form_value(PASSWORD));
    Ok(Request::post_form(uri("/api/users/login")?, Bytes::from(form)))
}

fn create_project(auth: &HeaderValue, name: &str) -> anyhow::Result<Request> {
    Ok(Request::post_json(uri("/api/projects")?, Some(auth), &json!({"name": name})))
}

fn create_task(auth: &HeaderValue, project: i64, name: &str) -> anyhow::Result<Request> {
    let path: Uri = uri(&format!("/api/projects/{project}/tasks"))?;
    Ok(Request::post_json(path, Some(auth), &json!({"name": name})))
}

fn json_value(body: &[u8]) -> anyhow::Result<serde_json::Value> {
    serde_json::from_slice(body).with_context(|| format!("the answer is not JSON: {}", String::from_utf8_lossy(body)))
}

fn json_str(body: &[u8], field: &str) -> anyhow::Result<String> {
    json_value(body)?
        .get(field)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("no string {field:?} in {}", String::from_utf8_lossy(body)))
}

fn json_i64(body: &[u8], field: &str) -> anyhow::Result<i64> {
    json_value(body)?
        .get(field)
        .and_then(serde_json::Value::as_i64)
        .with_context(|| format!("no integer {field:?} in {}", String::from_utf8_lossy(body)))
}

/// Length of the JSON array `field` of an answer.
pub fn json_len(body: &[u8], field: &str) -> anyhow::Result<usize> {
    json_value(body)?
        .get(field)
        .and_then(serde_json::Value::as_array)
        .map(Vec::len)
        .with_context(|| format!("no array {field:?} in {}", String::from_utf8_lossy(body)))
}

/// Sends every request once over `concurrency` connections and returns the bodies in
/// request order; fails on the first answer other than `expected`.
pub async fn parallel(
    endpoint: &Endpoint,
    concurrency: usize,
    requests: Vec<Request>,
    expected: StatusCode,
) -> anyhow::Result<Vec<Bytes>> {
    let total = requests.len();
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    for _ in 0..concurrency.clamp(1, total.max(1)) {
        let mut connection = Connection::open(endpoint).await?;
        let (requests, next) = (Arc::clone(&requests), Arc::clone(&next));
        set.spawn(async move {
            let mut bodies = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(index) else { break };
                let reply = connection.send(request).await.with_context(|| request.describe())?;
                if reply.status != expected {
                    bail!(
                        "{} answered {} (expected {expected}): {}",
                        request.describe(),
                        reply.status,
                        reply.snippet()
                    );
                }
                bodies.push((index, reply.body));
            }
            Ok(bodies)
        });
    }
    let mut out: Vec<Option<Bytes>> = vec![None; total];
    while let Some(joined) = set.join_next().await {
        for (index, body) in joined.context("a seeding task panicked")?? {
            if let Some(slot) = out.get_mut(index) {
                *slot = Some(body);
            }
        }
    }
    out.into_iter().map(|body| body.context("a request got no answer")).collect()
}
