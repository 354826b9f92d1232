//! Test support shared by the contexts' fakes and the adapters' contract tests.

use std::future::Future;

use crate::EventEnvelope;

/// Lets a contract test see what a store wrote to its outbox.
pub trait OutboxProbe: Send + Sync {
    /// Every event written to the outbox and not yet delivered, oldest first.
    fn outbox_events(&self) -> impl Future<Output = Vec<EventEnvelope>> + Send;
}
