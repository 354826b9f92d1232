//! Instance settings in the `settings` table, shared by every instance.

use taskdeck_kernel::StoreError;
use taskdeck_platform::settings::SettingsStore;
use taskdeck_platform::sql;

use crate::PostgresDatabase;

impl SettingsStore for PostgresDatabase {
    async fn stored_or_generated(&self, key: &str, candidate: String) -> Result<String, StoreError> {
        sqlx::query(sql::INSERT_SETTING)
            .bind(key)
            .bind(&candidate)
            .execute(self.pool())
            .await
            .map_err(StoreError::backend)?;
        sqlx::query_scalar(sql::SETTING).bind(key).fetch_one(self.pool()).await.map_err(StoreError::backend)
    }
}
