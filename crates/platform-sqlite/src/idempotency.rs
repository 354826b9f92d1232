//! Idempotency keys in SQLite: claims in a write transaction of their own (writers
//! are serialised, so the check and the insert cannot interleave with another
//! claim), answers written by the creating unit of work.

use rusqlite::{OptionalExtension, Row};
use taskdeck_kernel::{IdempotencyClaim, IdempotencyKey, RecordedAnswer, StoreError};
use taskdeck_platform::BoxFuture;
use taskdeck_platform::idempotency::{ClaimOutcome, IdempotencyStore, StoredKey, decide, new_claim};
use taskdeck_platform::sql;
use time::OffsetDateTime;

use crate::{CachedStatements, SqliteDatabase, UnixMicros};

fn stored_key(row: &Row<'_>) -> rusqlite::Result<StoredKey> {
    let status: Option<i64> = row.get("status")?;
    let answer = match status {
        None => None,
        Some(status) => Some(RecordedAnswer {
            status: u16::try_from(status).map_err(|error| {
                rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Integer, Box::new(error))
            })?,
            location: row.get("location")?,
            entity_tag: row.get("entity_tag")?,
            body: row.get::<_, Option<Vec<u8>>>("body")?.unwrap_or_default(),
        }),
    };
    Ok(StoredKey {
        fingerprint: row.get("fingerprint")?,
        claimed_at: row.get::<_, UnixMicros>("claimed_at")?.0,
        answer,
    })
}

impl IdempotencyStore for SqliteDatabase {
    fn claim<'a>(
        &'a self,
        caller: &'a str,
        key: &'a IdempotencyKey,
        fingerprint: &'a [u8],
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<ClaimOutcome, StoreError>> {
        Box::pin(async move {
            let candidate = new_claim(caller, key);
            let transaction = self.begin_write().await?;
            let connection = transaction.connection();
            let claim = (caller, key.as_str(), fingerprint, candidate.token, UnixMicros(now));
            let outcome =
                if connection.execute_cached(sql::INSERT_IDEMPOTENCY_CLAIM, claim).map_err(StoreError::backend)? == 1 {
                    ClaimOutcome::Claimed(candidate)
                } else {
                    let stored = connection
                        .query_row_cached(sql::IDEMPOTENCY_KEY, (caller, key.as_str()), stored_key)
                        .optional()
                        .map_err(StoreError::backend)?;
                    // Writers are serialised: the row the insert ran into is still there.
                    match stored.and_then(|stored| decide(stored, fingerprint, now)) {
                        Some(outcome) => outcome,
                        None => {
                            let takeover = (fingerprint, candidate.token, UnixMicros(now), caller, key.as_str());
                            connection
                                .execute_cached(sql::TAKE_OVER_IDEMPOTENCY_KEY, takeover)
                                .map_err(StoreError::backend)?;
                            ClaimOutcome::Claimed(candidate)
                        }
                    }
                };
            transaction.commit()?;
            Ok(outcome)
        })
    }

    fn release<'a>(&'a self, claim: &'a IdempotencyClaim) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.write(|connection| {
                connection
                    .execute_cached(sql::RELEASE_IDEMPOTENCY_CLAIM, (&claim.caller, claim.key.as_str(), claim.token))
            })
            .await
            .map(|_| ())
        })
    }

    fn purge_claimed_before(&self, cutoff: OffsetDateTime) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let purged = self
                .write(|connection| connection.execute_cached(sql::PURGE_IDEMPOTENCY_KEYS, [UnixMicros(cutoff)]))
                .await?;
            Ok(u64::try_from(purged).unwrap_or(u64::MAX))
        })
    }
}

/// Writes `answer` under `claim` in `connection`'s transaction.
///
/// # Errors
/// `StoreError::Conflict` when the claim is no longer this request's (it was taken
/// over after its lease) or already answered; `Backend` on a storage failure.
pub(crate) fn record_answer(
    connection: &rusqlite::Connection,
    claim: &IdempotencyClaim,
    answer: &RecordedAnswer,
) -> Result<(), StoreError> {
    let updated = connection
        .execute_cached(
            sql::RECORD_IDEMPOTENT_ANSWER,
            (
                answer.status,
                answer.location.as_deref(),
                answer.entity_tag.as_deref(),
                answer.body.as_slice(),
                &claim.caller,
                claim.key.as_str(),
                claim.token,
            ),
        )
        .map_err(StoreError::backend)?;
    if updated == 1 { Ok(()) } else { Err(StoreError::Conflict) }
}

#[cfg(test)]
mod tests {
    use taskdeck_kernel::{IdempotencyClaim, RecordedAnswer, StoreError};
    use taskdeck_platform::BoxFuture;
    use taskdeck_platform::idempotency::contract::ContractStore;
    use taskdeck_platform::outbox::OutboxWriter;

    use crate::testing::{Temporary, temporary};
    use crate::{SqliteDatabase, SqliteStore};

    impl ContractStore for SqliteDatabase {
        fn record<'a>(
            &'a self,
            claim: &'a IdempotencyClaim,
            answer: &'a RecordedAnswer,
            commit: bool,
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            Box::pin(async move {
                let mut unit = SqliteStore::new(self.clone(), OutboxWriter::new()).begin().await?;
                unit.record_answer(claim, answer)?;
                if commit { unit.commit() } else { Ok(()) }
            })
        }
    }

    async fn fresh_store() -> Option<(SqliteDatabase, Temporary)> {
        let temporary = temporary().await;
        Some(((*temporary).clone(), temporary))
    }

    taskdeck_platform::idempotency_store_contract!(fresh_store);
}
