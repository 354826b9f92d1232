//! `taskdeck serve`: the HTTP API and the outbox relay, until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::open_database;
use crate::cli::ServeArgs;
use crate::composition::Settings;

/// How long the relay may take to finish its current pass after the server stopped.
const RELAY_GRACE: Duration = Duration::from_secs(10);

/// # Errors
/// On bad configuration (database, port) or a server failure.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Bind first: a taken port is reported before anything touches the database.
    let listener = TcpListener::bind(args.bind).await.with_context(|| format!("cannot listen on {}", args.bind))?;
    let address = listener.local_addr().context("cannot read the bound address")?;
    let database = open_database(&args.database).await?;
    let settings = Settings {
        jwt_secret: args.jwt_secret,
        signing_key_file: args.signing_key_file,
        access_token_lifetime: Duration::from_secs(args.access_token_ttl),
        refresh_token_lifetime: Duration::from_secs(args.refresh_token_ttl),
        trusted_proxies: args.trusted_proxies,
        login_rate: args.login_rate,
        hashing_queue: None,
    };
    let application = database.compose(&settings).await?;

    // Listen for the signals before announcing the address: whoever waits for that line
    // may send SIGTERM at once, and an unhandled SIGTERM kills the process outright.
    let shutdown = shutdown_requested().context("cannot listen for SIGTERM and Ctrl-C")?;

    let (stop_relay, relay_stopped) = watch::channel(false);
    let background = application.spawn_background(relay_stopped);

    tracing::info!("listening on http://{address}");
    // The peer's address is what the limits per client address key on.
    axum::serve(listener, application.router.clone().into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
        .context("the HTTP server failed")?;

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
