//! The error every storage port may return, whatever the context.

use thiserror::Error;

/// What can go wrong when a use case talks to storage, beyond the domain's own rules.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The aggregate changed since it was loaded (optimistic concurrency). The
    /// application layer retries the whole command on a fresh unit of work.
    #[error("the record was changed by someone else; retry")]
    Conflict,
    /// The storage backend failed: unreachable, timed out, or a real fault.
    #[error("storage failure: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps any backend error.
    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(error))
    }
}
