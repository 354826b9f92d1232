//! The fresh database each run gets, and the one shortcut around the API: bulk-inserting
//! the tasks of the 100,000-task growth project.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection};

use crate::cli::Backend;

#[derive(Debug)]
pub enum Database {
    /// A file in a directory of its own under the system's temporary directory.
    Sqlite { dir: PathBuf, file: PathBuf },
    /// A database of its own on the given server.
    Postgres { admin_url: String, name: String, url: String },
}

impl Database {
    pub async fn create(backend: Backend, postgres_url: Option<&str>) -> anyhow::Result<Self> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let suffix = id.get(..12).unwrap_or(&id);
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("taskdeck-bench-{suffix}"));
                std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
                let file = dir.join("taskdeck.db");
                Ok(Self::Sqlite { dir, file })
            }
            Backend::Postgres => {
                let Some(admin_url) = postgres_url else {
                    bail!("--backend postgres needs --postgres-url postgres://USER@HOST:PORT/DB");
                };
                let name = format!("taskdeck_bench_{suffix}");
                let url = with_database(admin_url, &name)?;
                let mut admin = PgConnection::connect(admin_url)
                    .await
                    .with_context(|| format!("cannot connect to PostgreSQL at {}", redact(admin_url)))?;
                sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut admin)
                    .await
                    .with_context(|| format!("cannot create database {name}"))?;
                let _ = admin.close().await;
                Ok(Self::Postgres { admin_url: admin_url.to_owned(), name, url })
            }
        }
    }

    /// The URL the server is started with.
    pub fn url(&self) -> String {
        match self {
            Self::Sqlite { file, .. } => format!("sqlite://{}", file.display()),
            Self::Postgres { url, .. } => url.clone(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite { file, .. } => format!("sqlite file {}", file.display()),
            Self::Postgres { name, admin_url, .. } => format!("postgres database {name} on {}", redact(admin_url)),
        }
    }

    /// Appends `count` incomplete tasks to `project` straight in the database, keeping the
    /// project row's counters (`last_task_number`, `incomplete_tasks`) and `version`
    /// consistent, in one transaction. Only for the 100,000-task growth project, which
    /// would take most of the time budget to seed through the API.
    pub async fn append_tasks(&self, project: i64, count: i64) -> anyhow::Result<()> {
        match self {
            Self::Sqlite { file, .. } => {
                let mut connection =
                    rusqlite::Connection::open(file).context("cannot open the benchmark's SQLite file")?;
                connection.busy_timeout(Duration::from_secs(30))?;
                let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let last: i64 = tx
                    .query_row(
                        "UPDATE projects SET last_task_number = last_task_number + ?1,
                             incomplete_tasks = incomplete_tasks + ?1, version = version + 1
                         WHERE id = ?2 RETURNING last_task_number",
                        (count, project),
                        |row| row.get(0),
                    )
                    .context("cannot update the growth project's counters")?;
                tx.execute(
                    "WITH RECURSIVE seq(n) AS (SELECT ?1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?2)
                     INSERT INTO tasks (project_id, number, name, completed_at)
                     SELECT ?3, n, 'Seeded task ' || n, NULL FROM seq",
                    (last - count + 1, last, project),
                )
                .context("cannot insert the growth project's tasks")?;
                tx.commit()?;
            }
            Self::Postgres { url, .. } => {
                let mut connection =
                    PgConnection::connect(url).await.context("cannot connect to the benchmark database")?;
                let mut tx = connection.begin().await?;
                let last: i64 = sqlx::query_scalar(
                    "UPDATE projects SET last_task_number = last_task_number + $1,
                         incomplete_tasks = incomplete_tasks + $1, version = version + 1
                     WHERE id = $2 RETURNING last_task_number",
                )
                .bind(count)
                .bind(project)
                .fetch_one(&mut *tx)
                .await
                .context("cannot update the growth project's counters")?;
                sqlx::query(
                    "INSERT INTO tasks (project_id, number, name, completed_at)
                     SELECT $1, n, 'Seeded task ' || n, NULL FROM generate_series($2::bigint, $3::bigint) AS n",
                )
                .bind(project)
                .bind(last - count + 1)
                .bind(last)
                .execute(&mut *tx)
                .await
                .context("cannot insert the growth project's tasks")?;
                tx.commit().await?;
                // What autovacuum does within a minute of such a bulk load anyway: fresh
                // statistics, and the visibility map that lets reads skip the heap.
                sqlx::query("VACUUM (ANALYZE) projects, tasks").execute(&mut connection).await?;
                let _ = connection.close().await;
            }
        }
        Ok(())
    }

    /// Removes the file or drops the database.
    pub async fn remove(&self) -> anyhow::Result<()> {
        match self {
            Self::Sqlite { dir, .. } => {
                std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))
            }
            Self::Postgres { admin_url, name, .. } => {
                let mut admin = PgConnection::connect(admin_url).await.context("cannot connect to PostgreSQL")?;
                sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
                    .execute(&mut admin)
                    .await
                    .with_context(|| format!("cannot drop database {name}"))?;
                let _ = admin.close().await;
                Ok(())
            }
        }
    }
}

/// The same server URL with another database name (query parameters kept).
fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let Some(scheme_end) = base.find("://").map(|index| index + 3) else {
        bail!("{} is not a postgres://USER@HOST:PORT/DB URL", redact(url));
    };
    if !base.starts_with("postgres://") && !base.starts_with("postgresql://") {
        bail!("{} is not a postgres://USER@HOST:PORT/DB URL", redact(url));
    }
    let authority_end =
        base.get(scheme_end..).and_then(|rest| rest.find('/')).map_or(base.len(), |index| scheme_end + index);
    let mut out = format!("{}/{database}", base.get(..authority_end).unwrap_or(base));
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Ok(out)
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|index| index + 3) else { return url.to_owned() };
    let rest = url.get(scheme_end..).unwrap_or_default();
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!(
                "{}{user}:***@{host}{}",
                url.get(..scheme_end).unwrap_or_default(),
                rest.get(authority.len()..).unwrap_or_default()
            )
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{redact, with_database};

    #[test]
    fn replaces_the_database_name() -> anyhow::Result<()> {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "b")?,
            "postgres://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(
            with_database("postgres://u:p@h:1/db?sslmode=disable", "b")?,
            "postgres://u:p@h:1/b?sslmode=disable"
        );
        assert_eq!(with_database("postgresql://u@h", "b")?, "postgresql://u@h/b");
        assert!(with_database("sqlite://x.db", "b").is_err());
        Ok(())
    }

    #[test]
    fn hides_passwords() {
        assert_eq!(redact("postgres://u:secret@h:1/db"), "postgres://u:***@h:1/db");
        assert_eq!(redact("postgres://u@h:1/db"), "postgres://u@h:1/db");
    }
}
