//! Instance settings kept in the database.

use std::future::Future;

use taskdeck_kernel::StoreError;

use crate::postgres::PostgresDatabase;
use crate::sqlite::SqliteDatabase;

const JWT_SECRET_KEY: &str = "jwt_secret";
const INSTALLATION_ID_KEY: &str = "installation_id";

/// The token signing key stored in the database, generated on first use. Several
/// instances starting together agree on one key: the first insert wins and everyone
/// reads the winner back.
///
/// # Errors
/// `StoreError::Backend` on a storage failure or when no randomness is available.
pub async fn stored_jwt_secret(database: &impl SettingsStore) -> Result<String, StoreError> {
    database.stored_or_generated(JWT_SECRET_KEY, random_secret()?).await
}

/// A random identifier of this database, generated on first use. Access tokens carry it,
/// so a token issued against another database (say, one since reset) is refused even
/// when the signing key is the same.
///
/// # Errors
/// `StoreError::Backend` on a storage failure or when no randomness is available.
pub async fn installation_id(database: &impl SettingsStore) -> Result<String, StoreError> {
    database.stored_or_generated(INSTALLATION_ID_KEY, random_secret()?).await
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

impl SettingsStore for SqliteDatabase {
    async fn stored_or_generated(&self, key: &str, candidate: String) -> Result<String, StoreError> {
        self.write(|connection| {
            connection.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (key, &candidate),
            )?;
            connection.query_row("SELECT value FROM settings WHERE key = ?", [key], |row| row.get(0))
        })
        .await
    }
}

impl SettingsStore for PostgresDatabase {
    async fn stored_or_generated(&self, key: &str, candidate: String) -> Result<String, StoreError> {
        sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(&candidate)
            .execute(self.pool())
            .await
            .map_err(StoreError::backend)?;
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::backend)
    }
}

/// 256 random bits, hex-encoded.
fn random_secret() -> Result<String, StoreError> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| StoreError::backend(std::io::Error::other(error.to_string())))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::SqliteSettings;

    #[tokio::test]
    async fn the_secret_is_generated_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("taskdeck-settings-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let settings = SqliteSettings { path: dir.join("settings.db"), readers: 1 };
        let database = SqliteDatabase::open(&settings).await.unwrap();
        database.migrate().await.unwrap();

        let first = stored_jwt_secret(&database).await.unwrap();
        let second = stored_jwt_secret(&database).await.unwrap();

        assert_eq!(first.len(), 64);
        assert_eq!(first, second);
        let installation = installation_id(&database).await.unwrap();
        assert_ne!(installation, first, "each setting has its own value");
        assert_eq!(installation, installation_id(&database).await.unwrap());
        database.close().await;
        std::fs::remove_dir_all(dir).unwrap();
    }
}
