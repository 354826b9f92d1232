//! Instance settings in the `settings` table.

use taskdeck_kernel::StoreError;
use taskdeck_platform::settings::SettingsStore;
use taskdeck_platform::sql;

use crate::database::SqliteDatabase;

impl SettingsStore for SqliteDatabase {
    async fn stored_or_generated(&self, key: &str, candidate: String) -> Result<String, StoreError> {
        self.write(|connection| {
            connection.execute(sql::INSERT_SETTING, (key, &candidate))?;
            connection.query_row(sql::SETTING, [key], |row| row.get(0))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use taskdeck_platform::settings::installation_id;

    use super::*;

    #[tokio::test]
    async fn the_first_value_stored_is_the_one_every_later_read_gets() {
        let database = crate::testing::temporary().await;
        let first = database.stored_or_generated("k", "one".into()).await.unwrap();
        let second = database.stored_or_generated("k", "two".into()).await.unwrap();
        assert_eq!((first.as_str(), second.as_str()), ("one", "one"));
        let installation = installation_id(&*database).await.unwrap();
        assert_eq!(installation, installation_id(&*database).await.unwrap());
    }
}
