//! `taskdeck serve`: the HTTP API and the outbox relay, until SIGTERM or Ctrl-C.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::open_database;
use crate::cli::ServeArgs;
use crate::composition::Settings;
use crate::http::admin;
use crate::http::server::{self, ConnectionLimits};

/// How long the relay may take to finish its current pass after the server stopped.
const RELAY_GRACE: Duration = Duration::from_secs(10);

/// The admin listener serves a few operators and their scrapers.
const ADMIN_LIMITS: ConnectionLimits = ConnectionLimits {
    max_connections: 64,
    header_timeout: Duration::from_secs(10),
    idle_timeout: Duration::from_secs(60),
    max_header_bytes: 8 * 1024,
    shutdown_deadline: Duration::from_secs(5),
};

/// # Errors
/// On bad configuration (database, port) or a server failure.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Bind first: a taken port is reported before anything touches the database.
    let listener = TcpListener::bind(args.bind).await.with_context(|| format!("cannot listen on {}", args.bind))?;
    let address = listener.local_addr().context("cannot read the bound address")?;
    let admin_listener = match args.admin_bind {
        Some(bind) => Some(TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind} (admin)"))?),
        None => None,
    };
    // Before anything records: what is recorded without a recorder is lost.
    let metrics = admin_listener.as_ref().map(|_| admin::install_recorder()).transpose()?;
    let database = open_database(&args.database).await?;
    let settings = Settings {
        jwt_secret: args.jwt_secret,
        signing_key_file: args.signing_key_file,
        access_token_lifetime: Duration::from_secs(args.access_token_ttl),
        refresh_token_lifetime: Duration::from_secs(args.refresh_token_ttl),
        trusted_proxies: args.trusted_proxies,
        login_rate: args.login_rate,
        hashing_queue: None,
        cors_origins: args.cors_origins,
    };
    let limits = ConnectionLimits {
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        ..ConnectionLimits::default()
    };
    let application = database.compose(&settings).await?;

    // Listen for the signals before announcing the address: whoever waits for that line
    // may send SIGTERM at once, and an unhandled SIGTERM kills the process outright.
    let shutdown = shutdown_requested().context("cannot listen for SIGTERM and Ctrl-C")?;

    let (stop_relay, relay_stopped) = watch::channel(false);
    let background = application.spawn_background(relay_stopped);

    let (stop_admin, admin_stopped) = watch::channel(false);
    let admin = match (admin_listener, metrics) {
        (Some(admin_listener), Some(handle)) => {
            let admin_address = admin_listener.local_addr().context("cannot read the bound admin address")?;
            let router = admin::router(handle.clone(), Arc::clone(&application.probe), Vec::new());
            let mut stopped = admin_stopped.clone();
            let stopping = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            tokio::spawn(admin::upkeep(handle, admin_stopped));
            tracing::info!("admin listener at http://{admin_address}");
            Some(tokio::spawn(server::serve(admin_listener, router, ADMIN_LIMITS, stopping)))
        }
        _ => None,
    };

    tracing::info!("listening on http://{address}");
    server::serve(listener, application.router.clone(), limits, shutdown).await;
    let _ = stop_admin.send(true);
    if let Some(admin) = admin {
        let _ = admin.await;
    }

    tracing::info!("in-flight requests finished; stopping the outbox relay");
    let _ = stop_relay.send(true);
    if tokio::time::timeout(RELAY_GRACE, background).await.is_err() {
        tracing::warn!("the outbox relay did not stop in time; undelivered events stay in the outbox");
    }
    database.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Installs the SIGTERM and Ctrl-C (SIGINT) handlers now, and returns a future that
/// completes when either signal arrives.
#[cfg(unix)]
fn shutdown_requested() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("Ctrl-C received; shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM received; shutting down"),
        }
    })
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_requested() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        match tokio::signal::ctrl_c().await {
            Ok(()) => tracing::info!("Ctrl-C received; shutting down"),
            Err(_) => std::future::pending::<()>().await,
        }
    })
}
