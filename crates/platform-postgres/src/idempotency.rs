//! Idempotency keys in PostgreSQL, shared by every instance. A claim inserts the key or,
//! when it is held, locks its row to decide: of concurrent claims the primary key lets
//! one insert, and the others wait for it and then see its row.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use taskdeck_kernel::{IdempotencyClaim, IdempotencyKey, RecordedAnswer, StoreError};
use taskdeck_platform::BoxFuture;
use taskdeck_platform::idempotency::{ClaimOutcome, IdempotencyStore, StoredKey, decide, new_claim};
use taskdeck_platform::sql;
use time::OffsetDateTime;

use crate::PostgresDatabase;

/// Insert-then-read rounds a claim tries before it reports a conflict.
const CLAIM_ROUNDS: usize = 3;

const LOCK_IDEMPOTENCY_KEY: &str =
    "SELECT fingerprint, claimed_at, status, location, entity_tag, body FROM idempotency_keys
     WHERE caller = $1 AND idempotency_key = $2 FOR UPDATE";

fn stored_key(row: &PgRow) -> Result<StoredKey, sqlx::Error> {
    let status: Option<i32> = row.try_get("status")?;
    let answer = match status {
        None => None,
        Some(status) => Some(RecordedAnswer {
            status: u16::try_from(status).map_err(|error| sqlx::Error::Decode(Box::new(error)))?,
            location: row.try_get("location")?,
            entity_tag: row.try_get("entity_tag")?,
            body: row.try_get::<Option<Vec<u8>>, _>("body")?.unwrap_or_default(),
        }),
    };
    Ok(StoredKey { fingerprint: row.try_get("fingerprint")?, claimed_at: row.try_get("claimed_at")?, answer })
}

impl IdempotencyStore for PostgresDatabase {
    fn claim<'a>(
        &'a self,
        caller: &'a str,
        key: &'a IdempotencyKey,
        fingerprint: &'a [u8],
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<ClaimOutcome, StoreError>> {
        Box::pin(async move {
            let candidate = new_claim(caller, key);
            let mut transaction = self.begin().await?;
            // A key released or purged between the insert and the read is free again:
            // insert once more. Each round means another request changed the key, so a
            // few rounds end every real race.
            for _ in 0..CLAIM_ROUNDS {
                let inserted = sqlx::query(sql::INSERT_IDEMPOTENCY_CLAIM)
                    .bind(caller)
                    .bind(key.as_str())
                    .bind(fingerprint)
                    .bind(candidate.token)
                    .bind(now)
                    .execute(&mut *transaction)
                    .await
                    .map_err(StoreError::backend)?;
                let outcome = if inserted.rows_affected() == 1 {
                    ClaimOutcome::Claimed(candidate)
                } else {
                    let Some(stored) = sqlx::query(LOCK_IDEMPOTENCY_KEY)
                        .bind(caller)
                        .bind(key.as_str())
                        .fetch_optional(&mut *transaction)
                        .await
                        .map_err(StoreError::backend)?
                    else {
                        continue;
                    };
                    match decide(stored_key(&stored).map_err(StoreError::backend)?, fingerprint, now) {
                        Some(outcome) => outcome,
                        None => {
                            take_over(&mut transaction, &candidate, fingerprint, now).await?;
                            ClaimOutcome::Claimed(candidate)
                        }
                    }
                };
                transaction.commit().await.map_err(StoreError::backend)?;
                return Ok(outcome);
            }
            Err(StoreError::Conflict)
        })
    }

    fn release<'a>(&'a self, claim: &'a IdempotencyClaim) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query(sql::RELEASE_IDEMPOTENCY_CLAIM)
                .bind(&claim.caller)
                .bind(claim.key.as_str())
                .bind(claim.token)
                .execute(self.pool())
                .await
                .map_err(StoreError::backend)?;
            Ok(())
        })
    }

    fn purge_claimed_before(&self, cutoff: OffsetDateTime) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let purged = sqlx::query(sql::PURGE_IDEMPOTENCY_KEYS)
                .bind(cutoff)
                .execute(self.pool())
                .await
                .map_err(StoreError::backend)?;
            Ok(purged.rows_affected())
        })
    }
}

async fn take_over(
    connection: &mut PgConnection,
    candidate: &IdempotencyClaim,
    fingerprint: &[u8],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(sql::TAKE_OVER_IDEMPOTENCY_KEY)
        .bind(fingerprint)
        .bind(candidate.token)
        .bind(now)
        .bind(&candidate.caller)
        .bind(candidate.key.as_str())
        .execute(connection)
        .await
        .map_err(StoreError::backend)?;
    Ok(())
}

/// Writes `answer` under `claim` in `connection`'s transaction.
///
/// # Errors
/// `StoreError::Conflict` when the claim is no longer this request's (it was taken
/// over after its lease) or already answered; `Backend` on a storage failure.
pub(crate) async fn record_answer(
    connection: &mut PgConnection,
    claim: &IdempotencyClaim,
    answer: &RecordedAnswer,
) -> Result<(), StoreError> {
    let updated = sqlx::query(sql::RECORD_IDEMPOTENT_ANSWER)
        .bind(i32::from(answer.status))
        .bind(answer.location.as_deref())
        .bind(answer.entity_tag.as_deref())
        .bind(answer.body.as_slice())
        .bind(&claim.caller)
        .bind(claim.key.as_str())
        .bind(claim.token)
        .execute(connection)
        .await
        .map_err(StoreError::backend)?;
    if updated.rows_affected() == 1 { Ok(()) } else { Err(StoreError::Conflict) }
}

#[cfg(test)]
mod tests {
    use taskdeck_kernel::{IdempotencyClaim, RecordedAnswer, StoreError};
    use taskdeck_platform::BoxFuture;
    use taskdeck_platform::idempotency::contract::ContractStore;
    use taskdeck_platform::outbox::OutboxWriter;

    use crate::testing::{Temporary, temporary};
    use crate::{PostgresDatabase, PostgresStore};

    impl ContractStore for PostgresDatabase {
        fn record<'a>(
            &'a self,
            claim: &'a IdempotencyClaim,
            answer: &'a RecordedAnswer,
            commit: bool,
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            Box::pin(async move {
                let mut unit = PostgresStore::new(self.clone(), OutboxWriter::new()).begin().await?;
                unit.record_answer(claim, answer).await?;
                if commit { unit.commit().await } else { Ok(()) }
            })
        }
    }

    async fn fresh_store() -> Option<(PostgresDatabase, Temporary)> {
        let temporary = temporary().await?;
        Some(((*temporary).clone(), temporary))
    }

    taskdeck_platform::idempotency_store_contract!(fresh_store);
}
