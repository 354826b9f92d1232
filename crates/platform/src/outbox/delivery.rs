//! The relay together with its backend's wake-ups, behind a trait object, so that what
//! the composition root hands on no longer names the backend.

use std::sync::Arc;

use taskdeck_kernel::StoreError;
use tokio::sync::watch;

use super::{RESTART_BACKOFF, Relay, RelayRun, RelaySignal, supervise};
use crate::BoxFuture;
use crate::backend::Backend;

/// Delivers outbox events, whatever the backend.
pub trait DeliverEvents: Send + Sync + 'static {
    /// Delivers one batch; see [`Relay::run_once`].
    ///
    /// # Errors
    /// When the outbox cannot be read or updated.
    fn run_once(&self) -> BoxFuture<'_, Result<RelayRun, StoreError>>;

    /// Delivers in the background until `shutdown` turns true, woken by this process's
    /// commits and by those of every other process the backend can hear. A relay that
    /// dies before then is started again.
    fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) -> BoxFuture<'static, ()>;
}

/// A relay on backend `B`'s outbox.
#[derive(Debug)]
pub struct BackgroundRelay<B: Backend> {
    relay: Relay<B::Outbox>,
    backend: B,
    signal: RelaySignal,
}

impl<B: Backend> BackgroundRelay<B> {
    #[must_use]
    pub fn new(relay: Relay<B::Outbox>, backend: B, signal: RelaySignal) -> Self {
        Self { relay, backend, signal }
    }
}

impl<B: Backend> DeliverEvents for BackgroundRelay<B> {
    fn run_once(&self) -> BoxFuture<'_, Result<RelayRun, StoreError>> {
        Box::pin(self.relay.run_once())
    }

    fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let listening = tokio::spawn(self.backend.forward_commits(self.signal.clone(), shutdown.clone()));
            let relay = Arc::clone(&self);
            let watching = shutdown.clone();
            supervise("outbox relay", shutdown, RESTART_BACKOFF, move || {
                let (relay, shutdown) = (Arc::clone(&relay), watching.clone());
                async move { relay.relay.run(shutdown).await }
            })
            .await;
            let _ = listening.await;
        })
    }
}
