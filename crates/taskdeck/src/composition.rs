//! The composition root: the list of bounded contexts, and the one function that wires
//! them, the HTTP application and the outbox relay together on a backend. It is
//! generic over the backend, which [`crate::backends::open`] picks once from the
//! configuration; what it returns no longer names the backend.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use axum::Router;
use taskdeck_accounts_adapters::http::{OwnedProject, OwnedProjects, OwnedProjectsFuture};
use taskdeck_accounts_adapters::{Accounts, AccountsBackend, LiveSessions};
use taskdeck_kernel::{Clock, StoreError, SystemClock, UserId};
use taskdeck_platform::auth::{KeyRing, LEEWAY, StoredKey};
use taskdeck_platform::outbox::{BackgroundRelay, DeliverEvents, OutboxWriter, Relay, RelayRun};
use taskdeck_platform::settings::{installation_id, page_cursor_key, request_fingerprint_key};
use taskdeck_platform::{
    BoxFuture, ContextModule, DatabaseProbe, Idempotency, JwtAuthority, Migration, PageCursors, Platform,
};
use taskdeck_platform_http::{AddressRate, TrustedProxies};
use taskdeck_projects::application::ProjectQueries;
use taskdeck_projects_adapters::{Projects, ProjectsBackend};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use utoipa_axum::router::OpenApiRouter;

use crate::http;

/// The shortest signing key accepted from configuration (HS256 wants 256 bits).
const MIN_SECRET_LEN: usize = 32;
/// How often an instance reads the signing keys again, to pick up a rotation.
const KEY_POLL: Duration = Duration::from_secs(1);

/// The backends every context has adapters for. A new context adds its backend trait
/// here and its module to [`contexts`], and nothing else in the binary.
pub trait Supported: AccountsBackend + ProjectsBackend {}

impl<B: AccountsBackend + ProjectsBackend> Supported for B {}

/// Every bounded context, in the order their routes and handlers are mounted.
fn contexts<B: Supported>(settings: &Settings) -> Vec<Box<dyn ContextModule<B>>> {
    let accounts = Accounts::new(projects_of_user::<B>, settings.refresh_token_lifetime)
        .with_address_rate(settings.login_rate)
        .with_hashing_queue(settings.hashing_queue);
    vec![Box::new(accounts), Box::new(Projects)]
}

/// The migrations of every context, for [`taskdeck_platform::Backend::migrate`].
#[must_use]
pub fn migrations<B: Supported>() -> Vec<&'static [Migration]> {
    contexts::<B>(&Settings::default()).iter().map(|context| context.migrations()).collect()
}

/// Applies the migrations `backend` lacks, then lets each context finish what they
/// asked of its data.
///
/// # Errors
/// For a failed migration, or a context that could not finish its data.
pub async fn migrate<B: Supported>(backend: &B) -> anyhow::Result<()> {
    backend.migrate(&migrations::<B>()).await.context("cannot migrate the database")?;
    for context in contexts::<B>(&Settings::default()) {
        context
            .migrate_data(backend)
            .await
            .map_err(|error| anyhow!(error))
            .with_context(|| format!("cannot migrate the data of the {} context", context.name()))?;
    }
    Ok(())
}

/// The OpenAPI document of the whole API on backend `B`, without a database.
#[must_use]
pub fn openapi<B: Supported>() -> utoipa::openapi::OpenApi {
    let mut document = http::health_routes().split_for_parts().1;
    for context in contexts::<B>(&Settings::default()) {
        document.merge(context.openapi());
    }
    http::openapi::document(document)
}

/// The account page's project list, from the projects context's read model: the one
/// place the two contexts meet, outside both.
fn projects_of_user<B: ProjectsBackend>(backend: &B, platform: &Platform) -> Arc<dyn OwnedProjects> {
    Arc::new(ProjectsOfUser(backend.projects_store(&platform.outbox)))
}

struct ProjectsOfUser<Q>(Q);

impl<Q: ProjectQueries> OwnedProjects for ProjectsOfUser<Q> {
    fn owned_projects(&self, owner: UserId) -> OwnedProjectsFuture<'_> {
        Box::pin(async move {
            let projects = self.0.projects_of(owner).await?;
            Ok(projects.into_iter().map(|project| OwnedProject { id: project.id.get(), name: project.name }).collect())
        })
    }
}

/// Settings of the application beyond the database.
#[derive(Debug, Clone)]
pub struct Settings {
    /// HS256 with this secret instead of Ed25519 keys.
    pub jwt_secret: Option<String>,
    /// An Ed25519 key kept outside the database (PEM, PKCS#8).
    pub signing_key_file: Option<std::path::PathBuf>,
    pub access_token_lifetime: Duration,
    pub refresh_token_lifetime: Duration,
    /// Whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// The limit of logins and registrations per client address, if any.
    pub login_rate: Option<AddressRate>,
    /// Which browser origins may call the API.
    pub cors_origins: http::CorsOrigins,
    /// How many password hashes may wait for a hashing thread before the requests
    /// that hash answer 503; `None`: the hasher's default for its threads.
    pub hashing_queue: Option<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            signing_key_file: None,
            access_token_lifetime: Duration::from_secs(900),
            refresh_token_lifetime: Duration::from_secs(30 * 86_400),
            trusted_proxies: TrustedProxies::default(),
            login_rate: None,
            cors_origins: http::CorsOrigins::None,
            hashing_queue: None,
        }
    }
}

/// Work that runs beside the server until shutdown.
type BackgroundTask = Arc<dyn Fn(watch::Receiver<bool>) -> BoxFuture<'static, ()> + Send + Sync>;

/// Everything `serve` runs: the HTTP application, the relay that delivers events, and
/// the watch over sessions revoked on other instances.
pub struct Application {
    pub router: Router,
    /// The database's readiness and gauges, for the admin listener.
    pub probe: Arc<dyn DatabaseProbe>,
    relay: Arc<dyn DeliverEvents>,
    background: Vec<BackgroundTask>,
    authority: Arc<JwtAuthority>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application").field("authority", &self.authority).finish_non_exhaustive()
    }
}

impl Application {
    /// Delivers one batch of pending events; see [`Relay::run_once`].
    ///
    /// # Errors
    /// When the outbox cannot be read or updated.
    pub async fn deliver_events(&self) -> Result<RelayRun, StoreError> {
        self.relay.run_once().await
    }

    /// Runs the background work until `shutdown` turns true: the relay, woken by this
    /// process's commits and, on PostgreSQL, by every instance's; and the watch over
    /// revoked sessions. The handle completes when all of it has stopped.
    #[must_use]
    pub fn spawn_background(&self, shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        let relay = tokio::spawn(Arc::clone(&self.relay).run(shutdown.clone()));
        let others: Vec<JoinHandle<()>> =
            self.background.iter().map(|task| tokio::spawn(task(shutdown.clone()))).collect();
        tokio::spawn(async move {
            let _ = relay.await;
            for task in others {
                let _ = task.await;
            }
        })
    }

    /// The authority that issues and verifies this application's access tokens.
    #[must_use]
    pub fn authority(&self) -> Arc<JwtAuthority> {
        Arc::clone(&self.authority)
    }
}

/// Wires every context, the HTTP application and the relay on a migrated `backend`.
///
/// # Errors
/// When the signing key is too short or cannot be read or stored, or a context cannot
/// be mounted.
pub async fn compose<B: Supported>(backend: &B, settings: &Settings) -> anyhow::Result<Application> {
    // A process serves one backend: its passing failures are answered 503, not 500.
    taskdeck_platform_http::problem::recognise_passing_failures(B::retry_after);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let outbox = OutboxWriter::new();
    // Kept by the accounts context, checked by every context's routes.
    let sessions = Arc::new(LiveSessions::new(
        backend.accounts_store(&outbox),
        Arc::clone(&clock),
        settings.access_token_lifetime,
    ));
    let watching = Arc::clone(&sessions);
    let watch_sessions: BackgroundTask = Arc::new(move |shutdown| {
        let sessions = Arc::clone(&watching);
        Box::pin(async move { sessions.watch(shutdown).await })
    });
    let (authority, keys) = authority(backend, settings).await?;
    let authority = Arc::new(authority);
    let mut background = vec![watch_sessions];
    if keys == Keys::Stored {
        background.push(watch_signing_keys(backend.clone(), Arc::clone(&authority), settings.access_token_lifetime));
    }
    let cursor_key = page_cursor_key(backend).await.context("cannot read or store the page cursor key")?;
    let cursors = PageCursors::new(cursor_key.as_bytes()).context("cannot use the page cursor key")?;
    let fingerprint_key =
        request_fingerprint_key(backend).await.context("cannot read or store the request fingerprint key")?;
    let idempotency = Idempotency::new(Arc::new(backend.clone()), fingerprint_key.as_bytes(), Arc::clone(&clock))
        .context("cannot use the request fingerprint key")?;
    background.push(purge_idempotency_keys(idempotency.clone()));
    let platform = Platform { authority, sessions, clock, outbox, cursors, idempotency };
    let probe: Arc<dyn DatabaseProbe> = Arc::new(backend.clone());
    let mut routes: OpenApiRouter = http::health_routes().with_state(Arc::clone(&probe));
    let mut handlers = Vec::new();
    for context in contexts::<B>(settings) {
        let mounted = context
            .mount(backend, &platform)
            .map_err(|error| anyhow!(error))
            .with_context(|| format!("cannot set up the {} context", context.name()))?;
        routes = routes.merge(mounted.routes);
        handlers.extend(mounted.handlers);
    }
    // Building the relay subscribes the outbox to its handlers' event types: from here
    // on, units of work write only events someone will handle.
    let relay = Relay::new(backend.outbox(), &handlers, &platform.outbox);
    let relay = BackgroundRelay::new(relay, backend.clone(), platform.outbox.signal().clone());
    let (router, document) = routes.split_for_parts();
    Ok(Application {
        router: http::application_router(
            router,
            http::openapi::document(document),
            &http::HttpSettings {
                trusted_proxies: settings.trusted_proxies.clone(),
                cors_origins: settings.cors_origins.clone(),
            },
        ),
        probe,
        relay: Arc::new(relay),
        background,
        authority: platform.authority,
    })
}

/// Where the signing keys come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keys {
    Configured,
    Stored,
}

/// The authority of this installation: HS256 with a configured secret, or EdDSA with
/// the key of a configured file, or with the keys stored in the database (the first one
/// generated on the first start).
async fn authority<B: Supported>(backend: &B, settings: &Settings) -> anyhow::Result<(JwtAuthority, Keys)> {
    let installation = installation_id(backend).await.context("cannot read or store the installation id")?;
    let lifetime = settings.access_token_lifetime;
    match (&settings.jwt_secret, &settings.signing_key_file) {
        (Some(_), Some(_)) => bail!("set TASKDECK_JWT_SECRET or TASKDECK_SIGNING_KEY_FILE, not both"),
        (Some(secret), None) if secret.len() < MIN_SECRET_LEN => {
            bail!("TASKDECK_JWT_SECRET must be at least {MIN_SECRET_LEN} characters long")
        }
        (Some(secret), None) => {
            Ok((JwtAuthority::with_secret(secret.as_bytes(), lifetime, &installation), Keys::Configured))
        }
        (None, Some(path)) => {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the signing key file {}", path.display()))?;
            let key = StoredKey::from_pem(&pem, time::OffsetDateTime::now_utc())
                .with_context(|| format!("cannot use the signing key file {}", path.display()))?;
            let ring = KeyRing::new(vec![key], lifetime, LEEWAY)?;
            Ok((JwtAuthority::with_keys(ring, lifetime, &installation), Keys::Configured))
        }
        (None, None) => {
            let first = StoredKey::generate(time::OffsetDateTime::now_utc())?;
            backend.store_first_signing_key(first).await.context("cannot store the first signing key")?;
            let keys = backend.signing_keys().await.context("cannot read the signing keys")?;
            let ring = KeyRing::new(keys, lifetime, LEEWAY).context("cannot use the stored signing keys")?;
            Ok((JwtAuthority::with_keys(ring, lifetime, &installation), Keys::Stored))
        }
    }
}

/// Forgets idempotency keys past their replay window, hourly: replays never depend on
/// it (an expired key is free whether or not it was purged), it only bounds the table.
fn purge_idempotency_keys(idempotency: Idempotency) -> BackgroundTask {
    Arc::new(move |mut shutdown: watch::Receiver<bool>| {
        let idempotency = idempotency.clone();
        Box::pin(async move {
            while !*shutdown.borrow() {
                match idempotency.purge_expired().await {
                    Ok(0) => {}
                    Ok(purged) => tracing::debug!(purged, "forgot expired idempotency keys"),
                    Err(error) => tracing::warn!(%error, "cannot purge expired idempotency keys; trying again later"),
                }
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(3600)) => {}
                    changed = shutdown.changed() => if changed.is_err() { break },
                }
            }
        })
    })
}

/// Reads the stored signing keys again every second, so a rotation reaches every
/// instance without a restart.
fn watch_signing_keys<B: Supported>(backend: B, authority: Arc<JwtAuthority>, lifetime: Duration) -> BackgroundTask {
    Arc::new(move |mut shutdown: watch::Receiver<bool>| {
        let (backend, authority) = (backend.clone(), Arc::clone(&authority));
        Box::pin(async move {
            let mut failing = false;
            while !*shutdown.borrow() {
                match backend
                    .signing_keys()
                    .await
                    .map_err(anyhow::Error::from)
                    .and_then(|keys| KeyRing::new(keys, lifetime, LEEWAY).map_err(anyhow::Error::from))
                {
                    Ok(ring) => {
                        authority.replace_keys(ring);
                        failing = false;
                    }
                    Err(error) if !failing => {
                        failing = true;
                        tracing::error!(error = %format!("{error:#}"), "cannot read the signing keys; keeping the ones in use");
                    }
                    Err(_) => {}
                }
                tokio::select! {
                    () = tokio::time::sleep(KEY_POLL) => {}
                    changed = shutdown.changed() => if changed.is_err() { break },
                }
            }
        })
    })
}
