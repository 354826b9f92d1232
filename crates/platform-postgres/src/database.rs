//! PostgreSQL: the database for several stateless taskdeck instances.
//!
//! Two pools per instance: one for write transactions and the relay, one for the read
//! side's queries (`reads`). Write transactions run at READ COMMITTED and lock the rows
//! they change (`SELECT … FOR UPDATE`), so concurrent writers of one project queue on
//! its row instead of failing. Migrations take an advisory lock, so instances starting
//! together apply them once.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Postgres, Transaction};
use taskdeck_kernel::StoreError;
use taskdeck_platform::metrics::PoolGauge;
use taskdeck_platform::{Migration, MigrationPlanError};
use thiserror::Error;

use crate::migrations;
use crate::reads::{self, ReadConnection};

/// How long a request waits for a free connection before failing.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection idle for longer than this is pinged before a request gets it. Under
/// load connections are never idle that long, so the ping (a full round trip) is paid
/// only after a quiet spell, which is when a restarted server or a dropped link would
/// have broken the connection.
pub(crate) const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

#[derive(Debug, Error)]
pub enum PostgresSetupError {
    #[error("malformed PostgreSQL URL: {0}")]
    MalformedUrl(String),
    #[error("PostgreSQL at {target} is unreachable after {waited:?}")]
    Unreachable {
        target: String,
        waited: Duration,
        #[source]
        source: sqlx::Error,
    },
    #[error(transparent)]
    MigrationPlan(#[from] MigrationPlanError),
    #[error("cannot apply migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot set up the pool of read connections: {0}")]
    ReadPool(String),
}

/// Connection settings for PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresSettings {
    options: PgConnectOptions,
    target: String,
    /// Connections of this instance for write transactions and the relay.
    pub pool_size: u32,
    /// Connections of this instance for the read side's queries. Those are short and
    /// keep the server's CPU busy without waiting on disk: more than about twice its
    /// cores only adds context switches (measured: 4 serve 25 % more task lists than 10
    /// on a 2-core server), while writes, which wait for the commit's fsync, gain from
    /// more connections.
    pub read_pool_size: u32,
    /// Longest a single statement may run; `None` for the server's default.
    pub statement_timeout: Option<Duration>,
    /// How long to keep retrying when the server is not reachable at start.
    pub connect_timeout: Duration,
}

impl PostgresSettings {
    /// Parses `postgres://USER[:PASSWORD]@HOST:PORT/DB` with default pool and timeouts.
    ///
    /// # Errors
    /// `MalformedUrl` when sqlx cannot parse the URL.
    pub fn from_url(url: &str) -> Result<Self, PostgresSetupError> {
        let options =
            PgConnectOptions::from_str(url).map_err(|error| PostgresSetupError::MalformedUrl(error.to_string()))?;
        let target =
            format!("{}:{}/{}", options.get_host(), options.get_port(), options.get_database().unwrap_or_default());
        Ok(Self {
            options,
            target,
            pool_size: 10,
            read_pool_size: 4,
            statement_timeout: Some(Duration::from_secs(30)),
            connect_timeout: Duration::from_secs(30),
        })
    }

    fn connect_options(&self) -> PgConnectOptions {
        // Every statement of taskdeck is a lookup by key whose best plan does not depend
        // on the values bound: planning it once per connection, not at every execution,
        // halves the server's CPU per request (the planner was its largest cost).
        let options = self.options.clone().options([("plan_cache_mode", "force_generic_plan")]);
        match self.statement_timeout {
            Some(timeout) => options.options([("statement_timeout", timeout.as_millis().to_string())]),
            None => options,
        }
    }
}

/// The pools of one instance.
#[derive(Debug, Clone)]
pub struct PostgresDatabase {
    pool: PgPool,
    reads: reads::ReadPool,
    /// Transactions waiting for a connection of `pool`, for the pool metrics.
    waiting: Arc<AtomicUsize>,
}

impl PostgresDatabase {
    /// Connects, retrying with exponential backoff while the server is unreachable,
    /// up to `connect_timeout`.
    ///
    /// # Errors
    /// `Unreachable` once the timeout has passed without a connection.
    pub async fn connect(settings: &PostgresSettings) -> Result<Self, PostgresSetupError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            // One plain connection first, bounded by the time left: the pool would
            // otherwise retry a refused connection silently until its own timeout.
            let remaining = settings.connect_timeout.saturating_sub(started.elapsed());
            let probe = tokio::time::timeout(remaining, PgConnection::connect_with(&settings.connect_options()))
                .await
                .unwrap_or(Err(sqlx::Error::PoolTimedOut));
            let attempt = match probe {
                Ok(connection) => {
                    let _ = connection.close().await;
                    PgPoolOptions::new()
                        .max_connections(settings.pool_size.max(1))
                        .acquire_timeout(ACQUIRE_TIMEOUT)
                        .test_before_acquire(false)
                        .before_acquire(|connection, metadata| {
                            Box::pin(async move {
                                if metadata.idle_for >= PING_AFTER_IDLE {
                                    connection.ping().await?;
                                }
                                Ok(true)
                            })
                        })
                        .connect_with(settings.connect_options())
                        .await
                }
                Err(error) => Err(error),
            };
            match attempt {
                Ok(pool) => {
                    let reads = reads::ReadPool::new(
                        settings.connect_options(),
                        settings.read_pool_size,
                        settings.connect_timeout,
                    )
                    .map_err(PostgresSetupError::ReadPool)?;
                    return Ok(Self { pool, reads, waiting: Arc::default() });
                }
                Err(error) if started.elapsed() + pause < settings.connect_timeout => {
                    tracing::warn!(target_db = %settings.target, %error, retry_in = ?pause, "PostgreSQL is not reachable yet");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                Err(error) => {
                    return Err(PostgresSetupError::Unreachable {
                        target: settings.target.clone(),
                        waited: started.elapsed(),
                        source: error,
                    });
                }
            }
        }
    }

    /// Applies the platform's migrations and those of `contexts` that are not applied
    /// yet, under an advisory lock, so instances starting together apply them once.
    ///
    /// # Errors
    /// `MigrationPlan` when two migrations share a version, `Migrate` when a migration
    /// fails or the database holds one this build does not know.
    pub async fn migrate(&self, contexts: &[&[Migration]]) -> Result<(), PostgresSetupError> {
        migrations::migrator(contexts)?.run(&self.pool).await?;
        Ok(())
    }

    /// Starts a transaction (READ COMMITTED).
    ///
    /// # Errors
    /// `StoreError::Backend` when no connection can be had.
    pub async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let waited = Waited(&self.waiting);
        let transaction = self.pool.begin().await.map_err(StoreError::backend);
        drop(waited);
        transaction
    }

    /// The write pool and the read pool, for the pool metrics.
    #[must_use]
    pub fn pool_gauges(&self) -> Vec<PoolGauge> {
        let size = usize::try_from(self.pool.size()).unwrap_or(usize::MAX);
        let idle = self.pool.num_idle();
        vec![
            PoolGauge {
                pool: "writes",
                idle,
                in_use: size.saturating_sub(idle),
                waiting: self.waiting.load(Ordering::Relaxed),
            },
            self.reads.gauge(),
        ]
    }

    /// The pool of write transactions, the relay and one-off statements.
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A connection for one query of the read side: hand it back with
    /// [`ReadConnection::release`] once the result is read.
    ///
    /// # Errors
    /// `StoreError::Backend` when no connection can be had in time.
    pub async fn reader(&self) -> Result<ReadConnection, StoreError> {
        self.reads.connection().await
    }

    /// Whether the database answers a trivial query.
    pub async fn is_reachable(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Whether a write can be made now: one row of `settings` is written and committed
    /// (every instance writes the same row).
    pub async fn can_write(&self) -> bool {
        let proof = sqlx::query(
            "INSERT INTO settings (key, value) VALUES ('readiness_probe', now()::text)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .execute(&self.pool)
        .await;
        if let Err(error) = &proof {
            tracing::warn!(%error, "readiness: the database takes no write");
        }
        proof.is_ok()
    }

    pub async fn close(&self) {
        self.reads.close();
        self.pool.close().await;
    }
}

/// When a failure of PostgreSQL is a passing condition rather than a fault, how long a
/// client should wait before it tries again: no connection to be had (the pools are
/// exhausted, the server is down or restarting), or the server refuses work it cannot
/// do now (too many connections, a full disk, shutting down, a statement cancelled by
/// its timeout).
#[must_use]
pub fn retry_after(error: &(dyn std::error::Error + 'static)) -> Option<Duration> {
    if error.is::<reads::ReadPoolExhausted>() {
        return Some(Duration::from_secs(1));
    }
    match error.downcast_ref::<sqlx::Error>()? {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            Some(Duration::from_secs(1))
        }
        sqlx::Error::Database(database) => {
            let code = database.code()?;
            // 08: connection exception; 53: insufficient resources; 57P01-57P03: the
            // server is shutting down or starting; 57014: cancelled (statement timeout).
            let passing =
                code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") || code == "57014";
            passing.then(|| Duration::from_secs(if code == "53100" { 30 } else { 1 }))
        }
        _ => None,
    }
}

/// Uncounts a waiter when it has its connection or gives up.
struct Waited<'a>(&'a AtomicUsize);

impl Drop for Waited<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhausted_pools_and_lost_connections_are_passing_failures_and_bugs_are_not() {
        assert_eq!(retry_after(&sqlx::Error::PoolTimedOut), Some(Duration::from_secs(1)));
        let reset = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(retry_after(&reset), Some(Duration::from_secs(1)));
        assert_eq!(retry_after(&reads::ReadPoolExhausted("timed out".into())), Some(Duration::from_secs(1)));
        assert_eq!(retry_after(&sqlx::Error::RowNotFound), None);
        assert_eq!(retry_after(&sqlx::Error::ColumnNotFound("id".into())), None);
        assert_eq!(retry_after(&std::io::Error::other("not a database error")), None);
    }
    use crate::testing::temporary;

    #[test]
    fn a_postgres_url_is_parsed_with_production_defaults() {
        let settings = PostgresSettings::from_url("postgres://app:secret@db.internal:6543/taskdeck").unwrap();
        assert_eq!(settings.target, "db.internal:6543/taskdeck");
        assert_eq!((settings.pool_size, settings.read_pool_size), (10, 4));
        assert_eq!(settings.statement_timeout, Some(Duration::from_secs(30)));
    }

    #[test]
    fn a_malformed_url_is_refused() {
        assert!(PostgresSettings::from_url("postgres://[broken").is_err());
    }

    #[tokio::test]
    async fn an_unreachable_server_is_reported_after_the_connect_timeout() {
        let mut settings = PostgresSettings::from_url("postgres://nobody@127.0.0.1:1/none").unwrap();
        settings.connect_timeout = Duration::from_millis(300);
        let error = PostgresDatabase::connect(&settings).await.unwrap_err();
        assert!(matches!(error, PostgresSetupError::Unreachable { .. }), "{error}");
        assert!(error.to_string().contains("127.0.0.1:1/none"), "{error}");
    }

    #[tokio::test]
    async fn sessions_plan_statements_once_and_carry_the_statement_timeout() {
        let Some(database) = temporary().await else { return };
        let plan_cache_mode: String =
            sqlx::query_scalar("SHOW plan_cache_mode").fetch_one(database.pool()).await.unwrap();
        assert_eq!(plan_cache_mode, "force_generic_plan");
        let statement_timeout: String =
            sqlx::query_scalar("SHOW statement_timeout").fetch_one(database.pool()).await.unwrap();
        assert_eq!(statement_timeout, "30s");
    }

    async fn backend_pid(connection: &mut ReadConnection) -> i32 {
        sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut **connection).await.unwrap()
    }

    #[tokio::test]
    async fn a_released_read_connection_is_reused_and_one_dropped_before_is_closed() {
        let Some(database) = temporary().await else { return };
        let mut first = database.reader().await.unwrap();
        let first_pid = backend_pid(&mut first).await;
        first.release();

        let mut again = database.reader().await.unwrap();
        assert_eq!(backend_pid(&mut again).await, first_pid, "a released connection is reused");
        drop(again);

        let mut fresh = database.reader().await.unwrap();
        assert_ne!(backend_pid(&mut fresh).await, first_pid, "a connection not released is never lent again");
        fresh.release();
    }

    #[tokio::test]
    async fn a_query_cancelled_mid_way_leaves_no_answer_behind_for_the_next_one() {
        let Some(database) = temporary().await else { return };
        let mut slow = database.reader().await.unwrap();
        let cancelled_pid = backend_pid(&mut slow).await;
        let cancelled = tokio::time::timeout(
            Duration::from_millis(50),
            sqlx::query_scalar::<_, i32>("SELECT 7 FROM pg_sleep(0.3)").fetch_one(&mut *slow),
        )
        .await;
        assert!(cancelled.is_err(), "the query was cut off");
        drop(slow);
        for _ in 0..5 {
            let mut next = database.reader().await.unwrap();
            assert_ne!(backend_pid(&mut next).await, cancelled_pid, "the cut-off connection is not lent again");
            let answer: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut *next).await.unwrap();
            assert_eq!(answer, 1, "each query gets its own answer");
            next.release();
        }
    }
}
