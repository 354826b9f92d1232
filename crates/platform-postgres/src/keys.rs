//! The signing keys in the `signing_keys` table, shared by every instance.

use sqlx::Row;
use taskdeck_kernel::StoreError;
use taskdeck_platform::auth::{SigningKeyStore, StoredKey};
use taskdeck_platform::{WriteError, sql};
use time::OffsetDateTime;

use crate::{PostgresDatabase, write_error};

impl SigningKeyStore for PostgresDatabase {
    async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let rows = sqlx::query(sql::SIGNING_KEYS).fetch_all(self.pool()).await.map_err(StoreError::backend)?;
        rows.iter()
            .map(|row| {
                Ok(StoredKey {
                    kid: row.try_get("kid")?,
                    private_key: row.try_get("private_key")?,
                    public_key: row.try_get("public_key")?,
                    created_at: row.try_get("created_at")?,
                    superseded_at: row.try_get("superseded_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::backend)
    }

    async fn store_first_signing_key(&self, first: StoredKey) -> Result<(), StoreError> {
        sqlx::query(sql::FIRST_SIGNING_KEY)
            .bind(&first.kid)
            .bind(&first.private_key)
            .bind(&first.public_key)
            .bind(first.created_at)
            .execute(self.pool())
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }

    async fn rotate_signing_key(&self, newer: StoredKey, now: OffsetDateTime) -> Result<(), StoreError> {
        let mut transaction = self.begin().await?;
        sqlx::query(sql::SUPERSEDE_SIGNING_KEY)
            .bind(now)
            .execute(&mut *transaction)
            .await
            .map_err(StoreError::backend)?;
        sqlx::query(sql::NEWER_SIGNING_KEY)
            .bind(&newer.kid)
            .bind(&newer.private_key)
            .bind(&newer.public_key)
            .bind(newer.created_at)
            .execute(&mut *transaction)
            .await
            .map_err(|error| match write_error(error) {
                WriteError::Unique(_) => StoreError::Conflict,
                WriteError::Other(error) => error,
            })?;
        transaction.commit().await.map_err(StoreError::backend)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::testing::temporary;

    #[tokio::test]
    async fn the_first_key_stored_stays_and_a_rotation_supersedes_it() {
        let Some(database) = temporary().await else { return };
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let first = StoredKey::generate(now).unwrap();
        database.store_first_signing_key(first.clone()).await.unwrap();
        database.store_first_signing_key(StoredKey::generate(now).unwrap()).await.unwrap();
        assert_eq!(database.signing_keys().await.unwrap(), std::slice::from_ref(&first), "the first insert wins");

        let later = now + Duration::from_secs(60);
        let newer = StoredKey::generate(later).unwrap();
        database.rotate_signing_key(newer.clone(), later).await.unwrap();

        let mut keys = database.signing_keys().await.unwrap();
        keys.sort_by_key(|key| key.created_at);
        assert_eq!(keys, [StoredKey { superseded_at: Some(later), ..first }, newer]);
    }
}
