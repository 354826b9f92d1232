//! The composition root: the one place that picks implementations for every port and
//! wires the contexts, the HTTP application and the outbox relay together, for the
//! backend the configuration chose.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use taskdeck_accounts::application::{AccountQueries, AccountsStore};
use taskdeck_accounts_adapters::http::{AccountsState, OwnedProject, OwnedProjects, OwnedProjectsFuture};
use taskdeck_accounts_adapters::{Argon2Hasher, JwtTokens, PostgresAccounts, SqliteAccounts};
use taskdeck_kernel::{Clock, StoreError, SystemClock, UserId};
use taskdeck_platform::JwtAuthority;
use taskdeck_platform::outbox::postgres::{PostgresOutbox, forward_notifications};
use taskdeck_platform::outbox::sqlite::SqliteOutbox;
use taskdeck_platform::outbox::{EventHandler, OutboxFilter, OutboxStats, OutboxStore, Relay, RelayRun, RelaySignal};
use taskdeck_platform::postgres::PostgresDatabase;
use taskdeck_platform::settings::{SettingsStore, installation_id, stored_jwt_secret};
use taskdeck_platform::sqlite::SqliteDatabase;
use taskdeck_projects::application::{ProjectQueries, ProjectsStore};
use taskdeck_projects_adapters::http::ProjectsState;
use taskdeck_projects_adapters::{
    PostgresProjects, STARTER_PROJECT_SUBSCRIPTIONS, SqliteProjects, StarterProjectHandler,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::http::{Readiness, application_router};

/// The shortest signing key accepted from configuration (HS256 wants 256 bits).
const MIN_SECRET_LEN: usize = 32;
/// How long a relay on PostgreSQL keeps the events it claimed before another
/// instance may take them over (a relay that died holds nothing longer than this).
const OUTBOX_LEASE: Duration = Duration::from_secs(10);

/// Settings of the application beyond the database.
#[derive(Debug, Clone)]
pub struct Settings {
    pub jwt_secret: Option<String>,
    pub access_token_lifetime: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self { jwt_secret: None, access_token_lifetime: Duration::from_secs(3600) }
    }
}

/// The open, migrated database of the chosen backend.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(SqliteDatabase),
    Postgres(PostgresDatabase),
}

impl Database {
    pub async fn is_reachable(&self) -> bool {
        match self {
            Self::Sqlite(database) => database.is_reachable().await,
            Self::Postgres(database) => database.is_reachable().await,
        }
    }

    pub async fn close(&self) {
        match self {
            Self::Sqlite(database) => database.close().await,
            Self::Postgres(database) => database.close().await,
        }
    }

    /// The outbox as operators see it.
    #[must_use]
    pub fn outbox(&self) -> AnyOutbox {
        match self {
            Self::Sqlite(database) => AnyOutbox::Sqlite(SqliteOutbox::new(database.clone())),
            Self::Postgres(database) => AnyOutbox::Postgres(PostgresOutbox::new(database.clone(), OUTBOX_LEASE)),
        }
    }
}

impl SettingsStore for Database {
    async fn stored_or_generated(&self, key: &str, candidate: String) -> Result<String, StoreError> {
        match self {
            Self::Sqlite(database) => database.stored_or_generated(key, candidate).await,
            Self::Postgres(database) => database.stored_or_generated(key, candidate).await,
        }
    }
}

/// The outbox of either backend.
#[derive(Debug, Clone)]
pub enum AnyOutbox {
    Sqlite(SqliteOutbox),
    Postgres(PostgresOutbox),
}

impl AnyOutbox {
    /// # Errors
    /// On a storage failure.
    pub async fn stats(&self) -> Result<OutboxStats, StoreError> {
        match self {
            Self::Sqlite(outbox) => outbox.stats().await,
            Self::Postgres(outbox) => outbox.stats().await,
        }
    }

    /// # Errors
    /// On a storage failure.
    pub async fn requeue_dead(&self) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(outbox) => outbox.requeue_dead().await,
            Self::Postgres(outbox) => outbox.requeue_dead().await,
        }
    }
}

/// The relay of either backend.
#[derive(Debug)]
pub enum AnyRelay {
    Sqlite(Relay<SqliteOutbox>),
    Postgres(Relay<PostgresOutbox>),
}

impl AnyRelay {
    /// Delivers one batch; see [`Relay::run_once`].
    ///
    /// # Errors
    /// When the outbox cannot be read or updated.
    pub async fn run_once(&self) -> Result<RelayRun, StoreError> {
        match self {
            Self::Sqlite(relay) => relay.run_once().await,
            Self::Postgres(relay) => relay.run_once().await,
        }
    }
}

/// Everything `serve` runs: the HTTP application and the relay that delivers events.
#[derive(Debug)]
pub struct Application {
    pub router: Router,
    pub relay: AnyRelay,
    pub database: Database,
    signal: RelaySignal,
}

impl Application {
    /// Starts delivering events in the background until `shutdown` turns true. On
    /// PostgreSQL the relay is also woken by commits of the other instances.
    pub fn spawn_relay(
        relay: AnyRelay,
        database: &Database,
        signal: &RelaySignal,
        shutdown: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        match (relay, database) {
            (AnyRelay::Postgres(relay), Database::Postgres(database)) => {
                let listener = forward_notifications(database.clone(), signal.clone(), shutdown.clone());
                tokio::spawn(async move {
                    let listening = tokio::spawn(listener);
                    relay.run(shutdown).await;
                    let _ = listening.await;
                })
            }
            (AnyRelay::Sqlite(relay), _) => tokio::spawn(relay.run(shutdown)),
            (AnyRelay::Postgres(relay), Database::Sqlite(_)) => tokio::spawn(relay.run(shutdown)),
        }
    }

    /// Splits the application into what `serve` runs.
    pub fn into_parts(self) -> (Router, AnyRelay, Database, RelaySignal) {
        (self.router, self.relay, self.database, self.signal)
    }
}

/// Lists a user's projects for the accounts context, from the projects read model.
struct ProjectsOfUser<Q>(Q);

impl<Q: ProjectQueries> OwnedProjects for ProjectsOfUser<Q> {
    fn owned_projects(&self, owner: UserId) -> OwnedProjectsFuture<'_> {
        Box::pin(async move {
            let projects = self.0.projects_of(owner).await?;
            Ok(projects.into_iter().map(|project| OwnedProject { id: project.id.get(), name: project.name }).collect())
        })
    }
}

/// Wires the application on a migrated SQLite database.
///
/// # Errors
/// As [`application`].
pub async fn sqlite_application(database: SqliteDatabase, settings: &Settings) -> anyhow::Result<Application> {
    application(Database::Sqlite(database), settings).await
}

/// Wires the application on a migrated database of either backend.
///
/// # Errors
/// When the signing key is too short or cannot be read or stored.
pub async fn application(database: Database, settings: &Settings) -> anyhow::Result<Application> {
    let secret = match &settings.jwt_secret {
        Some(secret) if secret.len() < MIN_SECRET_LEN => {
            bail!("TASKDECK_JWT_SECRET must be at least {MIN_SECRET_LEN} characters long")
        }
        Some(secret) => secret.clone(),
        None => stored_jwt_secret(&database).await.context("cannot read or store the token signing key")?,
    };
    let installation = installation_id(&database).await.context("cannot read or store the installation id")?;
    let shared = Shared {
        authority: Arc::new(JwtAuthority::new(secret.as_bytes(), settings.access_token_lifetime, &installation)),
        clock: Arc::new(SystemClock),
        signal: RelaySignal::default(),
        // Only events someone subscribes to are worth writing to the outbox.
        outbox: OutboxFilter::only(STARTER_PROJECT_SUBSCRIPTIONS),
        hasher: Argon2Hasher::new(Argon2Hasher::default_threads()).context("cannot initialise password hashing")?,
        readiness: Readiness::new(database.clone()),
    };
    let signal = shared.signal.clone();
    let (router, relay) = match &database {
        Database::Sqlite(sqlite) => {
            let accounts = SqliteAccounts::new(sqlite.clone(), shared.outbox.clone(), signal.clone());
            let projects = SqliteProjects::new(sqlite.clone(), shared.outbox.clone(), signal.clone());
            let (router, relay) = wire(&shared, accounts, projects, SqliteOutbox::new(sqlite.clone()))?;
            (router, AnyRelay::Sqlite(relay))
        }
        Database::Postgres(postgres) => {
            let accounts = PostgresAccounts::new(postgres.clone(), shared.outbox.clone(), signal.clone());
            let projects = PostgresProjects::new(postgres.clone(), shared.outbox.clone(), signal.clone());
            let outbox = PostgresOutbox::new(postgres.clone(), OUTBOX_LEASE);
            let (router, relay) = wire(&shared, accounts, projects, outbox)?;
            (router, AnyRelay::Postgres(relay))
        }
    };
    Ok(Application { router, relay, database, signal })
}

/// What every backend's wiring shares.
struct Shared {
    authority: Arc<JwtAuthority>,
    clock: Arc<dyn Clock>,
    signal: RelaySignal,
    outbox: OutboxFilter,
    hasher: Argon2Hasher,
    readiness: Readiness,
}

/// Connects the stores of one backend to the HTTP routes and the relay.
fn wire<A, P, O>(shared: &Shared, accounts: A, projects: P, outbox: O) -> anyhow::Result<(Router, Relay<O>)>
where
    A: AccountsStore + AccountQueries + Clone,
    P: ProjectsStore + ProjectQueries + Clone,
    O: OutboxStore,
{
    let handlers: Vec<Arc<dyn EventHandler>> = vec![Arc::new(StarterProjectHandler::new(projects.clone()))];
    if let Some(unserved) = handlers.iter().find(|handler| !shared.outbox.serves(handler.as_ref())) {
        bail!("the outbox does not keep the events handler {} needs", unserved.name());
    }
    let relay = Relay::new(outbox, &handlers, shared.signal.clone());
    let accounts_state = AccountsState {
        store: accounts,
        hasher: shared.hasher.clone(),
        tokens: JwtTokens::new(Arc::clone(&shared.authority), Arc::clone(&shared.clock)),
        authority: Arc::clone(&shared.authority),
        clock: Arc::clone(&shared.clock),
        owned_projects: Arc::new(ProjectsOfUser(projects.clone())),
    };
    let projects_state =
        ProjectsState { store: projects, authority: Arc::clone(&shared.authority), clock: Arc::clone(&shared.clock) };
    Ok((application_router(accounts_state, projects_state, shared.readiness.clone()), relay))
}
