//! Instance settings kept in the database.

use std::future::Future;

use taskdeck_kernel::StoreError;

// v1 also kept a generated HS256 secret here (`jwt_secret`); v2 signs with the
// Ed25519 keys of `signing_keys` instead, and migration 6 removes that row.
const INSTALLATION_ID_KEY: &str = "installation_id";
const PAGE_CURSOR_KEY: &str = "page_cursor_key";
const REQUEST_FINGERPRINT_KEY: &str = "request_fingerprint_key";

/// A random identifier of this database, generated on first use. Access tokens carry it,
/// so a token issued against another database (say, one since reset) is refused even
/// when the signing key is the same.
///
/// # Errors
/// `StoreError::Backend` on a storage failure or when no randomness is available.
pub async fn installation_id(database: &impl SettingsStore) -> Result<String, StoreError> {
    database.stored_or_generated(INSTALLATION_ID_KEY, random_secret()?).await
}

/// The key page cursors are sealed with, generated on first use and shared by every
/// instance of the database, so a cursor from one instance continues on another.
///
/// # Errors
/// `StoreError::Backend` on a storage failure or when no randomness is available.
pub async fn page_cursor_key(database: &impl SettingsStore) -> Result<String, StoreError> {
    database.stored_or_generated(PAGE_CURSOR_KEY, random_secret()?).await
}

/// The key idempotent requests are fingerprinted with, generated on first use and
/// shared by every instance, so a retry reaching another instance is recognised.
///
/// # Errors
/// `StoreError::Backend` on a storage failure or when no randomness is available.
pub async fn request_fingerprint_key(database: &impl SettingsStore) -> Result<String, StoreError> {
    database.stored_or_generated(REQUEST_FINGERPRINT_KEY, random_secret()?).await
}

/// Where settings live: a key-value table every instance shares.
pub trait SettingsStore: Send + Sync {
    /// The value under `key`; if there is none, `candidate` is stored first. When
    /// several instances race, the first insert wins and all read the winner back.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn stored_or_generated(
        &self,
        key: &str,
        candidate: String,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
}

/// 256 random bits, hex-encoded.
fn random_secret() -> Result<String, StoreError> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| StoreError::backend(std::io::Error::other(error.to_string())))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    /// Settings in memory, first insert wins, as the SQL tables behave.
    #[derive(Default)]
    struct InMemory(Mutex<HashMap<String, String>>);

    impl SettingsStore for InMemory {
        async fn stored_or_generated(&self, key: &str, candidate: String) -> Result<String, StoreError> {
            let mut values = self.0.lock().unwrap();
            Ok(values.entry(key.to_owned()).or_insert(candidate).clone())
        }
    }

    #[tokio::test]
    async fn the_installation_id_is_generated_once_and_kept() {
        let store = InMemory::default();
        let first = installation_id(&store).await.unwrap();
        assert_eq!(first.len(), 64);
        assert!(first.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_eq!(first, installation_id(&store).await.unwrap());
        assert_ne!(first, installation_id(&InMemory::default()).await.unwrap(), "random per installation");
    }
}
