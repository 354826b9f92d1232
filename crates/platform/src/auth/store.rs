//! Where the Ed25519 signing keys live: a table every instance shares.

use std::future::Future;

use taskdeck_kernel::StoreError;
use time::OffsetDateTime;

use super::StoredKey;

/// The signing keys of an installation.
pub trait SigningKeyStore: Send + Sync {
    /// Every stored key, in no particular order.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn signing_keys(&self) -> impl Future<Output = Result<Vec<StoredKey>, StoreError>> + Send;

    /// Stores `first` as the first key unless there is one already: instances starting
    /// together on an empty database agree on one key, the first insert wins.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn store_first_signing_key(&self, first: StoredKey) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Makes `newer` the signing key and marks the one it replaces superseded at `now`.
    ///
    /// # Errors
    /// `StoreError::Conflict` when another rotation ran at the same moment (try again);
    /// `Backend` on a storage failure.
    fn rotate_signing_key(
        &self,
        newer: StoredKey,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
