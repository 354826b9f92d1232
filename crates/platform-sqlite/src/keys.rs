//! The signing keys in the `signing_keys` table.

use rusqlite::Row;
use taskdeck_kernel::StoreError;
use taskdeck_platform::auth::{SigningKeyStore, StoredKey};
use taskdeck_platform::{WriteError, sql};
use time::OffsetDateTime;

use crate::{SqliteDatabase, UnixMicros, write_error};

fn stored_key(row: &Row<'_>) -> rusqlite::Result<StoredKey> {
    Ok(StoredKey {
        kid: row.get("kid")?,
        private_key: row.get("private_key")?,
        public_key: row.get("public_key")?,
        created_at: row.get::<_, UnixMicros>("created_at")?.0,
        superseded_at: row.get::<_, Option<UnixMicros>>("superseded_at")?.map(|UnixMicros(at)| at),
    })
}

impl SigningKeyStore for SqliteDatabase {
    async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        self.read(|connection| connection.prepare_cached(sql::SIGNING_KEYS)?.query_map([], stored_key)?.collect())
    }

    async fn store_first_signing_key(&self, first: StoredKey) -> Result<(), StoreError> {
        self.write(|connection| {
            connection.execute(
                sql::FIRST_SIGNING_KEY,
                (&first.kid, &first.private_key, &first.public_key, UnixMicros(first.created_at)),
            )
        })
        .await?;
        Ok(())
    }

    async fn rotate_signing_key(&self, newer: StoredKey, now: OffsetDateTime) -> Result<(), StoreError> {
        let transaction = self.begin_write().await?;
        let connection = transaction.connection();
        connection.execute(sql::SUPERSEDE_SIGNING_KEY, [UnixMicros(now)]).map_err(StoreError::backend)?;
        connection
            .execute(
                sql::NEWER_SIGNING_KEY,
                (&newer.kid, &newer.private_key, &newer.public_key, UnixMicros(newer.created_at)),
            )
            .map_err(|error| match write_error(error) {
                WriteError::Unique(_) => StoreError::Conflict,
                WriteError::Other(error) => error,
            })?;
        transaction.commit()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::testing::temporary;

    #[tokio::test]
    async fn the_first_key_stored_stays_and_a_rotation_supersedes_it() {
        let database = temporary().await;
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
