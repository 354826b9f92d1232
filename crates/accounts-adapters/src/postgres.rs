//! The accounts ports on PostgreSQL: the user repository inside READ COMMITTED units
//! of work, the credentials lookup and the profile read model on the read pool.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use taskdeck_accounts::application::{
    AccountQueries, AccountsStore, AccountsTransaction, Credentials, SessionView, UserProfile, UserStoreError,
};
use taskdeck_accounts::domain::{
    LoginThrottle, PasswordHash, PresentedToken, RefreshDigest, Session, SessionId, ThrottleKey, User,
};
use taskdeck_kernel::{EmailAddress, IdempotencyClaim, RecordedAnswer, StoreError, UserId};
use taskdeck_platform::Migration;
use taskdeck_platform::outbox::OutboxWriter;
use taskdeck_platform_postgres::{PostgresDatabase, PostgresStore, PostgresUnitOfWork, write_error};
use time::OffsetDateTime;

use crate::email_keys::{self, EmailKeyRewrite, StoredKey};
use crate::module::AccountsBackend;
use crate::rows::{LoginThrottleRow, SessionListRow, SessionRow, UserRow, throttle_values};
use crate::sql;

/// The accounts tables on PostgreSQL.
const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, description: "accounts", sql: include_str!("../migrations/postgres/0001_accounts.sql") },
    Migration { version: 5, description: "sessions", sql: include_str!("../migrations/postgres/0005_sessions.sql") },
    Migration {
        version: 7,
        description: "login throttles",
        sql: include_str!("../migrations/postgres/0007_login_throttles.sql"),
    },
    Migration {
        version: 11,
        description: "email key rewrites",
        sql: include_str!("../migrations/postgres/0011_email_key_rewrites.sql"),
    },
];

impl AccountsBackend for PostgresDatabase {
    type Store = PostgresAccounts;

    const MIGRATIONS: &'static [Migration] = MIGRATIONS;

    fn accounts_store(&self, outbox: &OutboxWriter) -> PostgresAccounts {
        PostgresAccounts { store: PostgresStore::new(self.clone(), outbox.clone()) }
    }

    async fn rewrite_email_keys(&self) -> Result<EmailKeyRewrite, StoreError> {
        let mut transaction = self.begin().await?;
        // Another instance deleting the request first holds its row until it commits;
        // this one then deletes nothing and has nothing to do.
        let asked = sqlx::query(sql::TAKE_EMAIL_KEY_REWRITES)
            .execute(&mut *transaction)
            .await
            .map_err(StoreError::backend)?
            .rows_affected();
        if asked == 0 {
            return Ok(EmailKeyRewrite::default());
        }
        let rows = sqlx::query(sql::STORED_EMAIL_KEYS)
            .fetch_all(&mut *transaction)
            .await
            .map_err(StoreError::backend)?
            .iter()
            .map(|row| {
                Ok(StoredKey {
                    id: row.try_get("id")?,
                    email: row.try_get("email")?,
                    key: row.try_get("email_normalized")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(StoreError::backend)?;
        let mut rewriting = email_keys::plan(rows);
        while let Some((id, key)) = rewriting.next_rewrite() {
            let written = sqlx::query(sql::REWRITE_EMAIL_KEY)
                .bind(&key)
                .bind(id)
                .execute(&mut *transaction)
                .await
                .map_err(StoreError::backend)?
                .rows_affected()
                == 1;
            rewriting.record(id, key, written);
        }
        transaction.commit().await.map_err(StoreError::backend)?;
        Ok(rewriting.finish())
    }
}

/// User accounts in the PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresAccounts {
    store: PostgresStore,
}

fn user_row(row: &PgRow) -> Result<UserRow, sqlx::Error> {
    Ok(UserRow {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        version: row.try_get("version")?,
    })
}

fn session_row(row: &PgRow) -> Result<SessionRow, sqlx::Error> {
    Ok(SessionRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        user_agent: row.try_get("user_agent")?,
        refresh_expires_at: row.try_get("refresh_expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        version: row.try_get("version")?,
        refresh: row.try_get("refresh")?,
    })
}

fn user_write_error(error: sqlx::Error) -> UserStoreError {
    write_error(error).on(&sql::EMAIL_KEY, UserStoreError::EmailTaken)
}

impl AccountsStore for PostgresAccounts {
    type Transaction = PostgresAccountsTransaction;

    async fn begin(&self) -> Result<Self::Transaction, StoreError> {
        Ok(PostgresAccountsTransaction(self.store.begin().await?))
    }

    async fn credentials(&self, email: &EmailAddress) -> Result<Option<Credentials>, StoreError> {
        let mut connection = self.store.reader().await?;
        let row = sqlx::query(sql::CREDENTIALS)
            .bind(email.normalized())
            .fetch_optional(&mut *connection)
            .await
            .map_err(StoreError::backend)?;
        connection.release();
        row.map(|row| {
            Ok(Credentials {
                user_id: UserId::from_uuid(row.try_get("id").map_err(StoreError::backend)?),
                password_hash: PasswordHash::from_phc(row.try_get("password_hash").map_err(StoreError::backend)?),
            })
        })
        .transpose()
    }
}

impl AccountQueries for PostgresAccounts {
    async fn profile(&self, id: UserId) -> Result<Option<UserProfile>, StoreError> {
        let mut connection = self.store.reader().await?;
        let row = sqlx::query(sql::PROFILE)
            .bind(id.as_uuid())
            .fetch_optional(&mut *connection)
            .await
            .map_err(StoreError::backend)?;
        connection.release();
        row.map(|row| Ok(UserProfile { id, email: row.try_get("email").map_err(StoreError::backend)? })).transpose()
    }

    async fn sessions_of(&self, user: UserId, now: OffsetDateTime) -> Result<Vec<SessionView>, StoreError> {
        let mut connection = self.store.reader().await?;
        let rows = sqlx::query(sql::SESSIONS_OF)
            .bind(user.as_uuid())
            .bind(now)
            .fetch_all(&mut *connection)
            .await
            .map_err(StoreError::backend)?;
        connection.release();
        rows.iter()
            .map(|row| {
                Ok(SessionListRow {
                    id: row.try_get("id")?,
                    created_at: row.try_get("created_at")?,
                    last_used_at: row.try_get("last_used_at")?,
                    user_agent: row.try_get("user_agent")?,
                }
                .into_view())
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::backend)
    }

    async fn live_session_owner(&self, id: SessionId) -> Result<Option<UserId>, StoreError> {
        let mut connection = self.store.reader().await?;
        let owner: Option<uuid::Uuid> = sqlx::query_scalar(sql::LIVE_SESSION_OWNER)
            .bind(id.as_uuid())
            .fetch_optional(&mut *connection)
            .await
            .map_err(StoreError::backend)?;
        connection.release();
        Ok(owner.map(UserId::from_uuid))
    }

    async fn sessions_revoked_since(&self, since: OffsetDateTime) -> Result<Vec<SessionId>, StoreError> {
        let mut connection = self.store.reader().await?;
        let ids: Vec<uuid::Uuid> = sqlx::query_scalar(sql::SESSIONS_REVOKED_SINCE)
            .bind(since)
            .fetch_all(&mut *connection)
            .await
            .map_err(StoreError::backend)?;
        connection.release();
        Ok(ids.into_iter().map(SessionId::from_uuid).collect())
    }
}

/// A unit of work on accounts: one READ COMMITTED transaction. A stale save is caught
/// by the version in its `WHERE` clause.
#[derive(Debug)]
pub struct PostgresAccountsTransaction(PostgresUnitOfWork);

impl AccountsTransaction for PostgresAccountsTransaction {
    async fn user(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(sql::USER)
            .bind(id.as_uuid())
            .fetch_optional(self.0.connection())
            .await
            .map_err(StoreError::backend)?;
        row.as_ref().map(|row| user_row(row).map_err(StoreError::backend)?.into_user()).transpose()
    }

    async fn add(&mut self, user: &mut User) -> Result<(), UserStoreError> {
        sqlx::query(sql::INSERT_USER)
            .bind(user.id().as_uuid())
            .bind(user.email().as_str())
            .bind(user.email().normalized())
            .bind(user.password_hash().as_phc())
            .bind(OffsetDateTime::now_utc())
            .execute(self.0.connection())
            .await
            .map_err(user_write_error)?;
        self.0.record(&user.take_events()).await?;
        user.mark_saved();
        Ok(())
    }

    async fn save(&mut self, user: &mut User) -> Result<(), UserStoreError> {
        let updated = sqlx::query(sql::UPDATE_USER)
            .bind(user.email().as_str())
            .bind(user.email().normalized())
            .bind(user.password_hash().as_phc())
            .bind(user.id().as_uuid())
            .bind(user.version())
            .execute(self.0.connection())
            .await
            .map_err(user_write_error)?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Conflict.into());
        }
        self.0.record(&user.take_events()).await?;
        user.mark_saved();
        Ok(())
    }

    async fn remove(&mut self, user: &mut User) -> Result<(), StoreError> {
        let deleted = sqlx::query(sql::DELETE_USER)
            .bind(user.id().as_uuid())
            .bind(user.version())
            .execute(self.0.connection())
            .await
            .map_err(StoreError::backend)?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        self.0.record(&user.take_events()).await?;
        Ok(())
    }

    async fn revoke_sessions_of(
        &mut self,
        user: UserId,
        except: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>, StoreError> {
        let spared = except.map_or_else(uuid::Uuid::nil, |session| session.as_uuid());
        let ids: Vec<uuid::Uuid> = sqlx::query_scalar(sql::REVOKE_SESSIONS_OF)
            .bind(now)
            .bind(user.as_uuid())
            .bind(spared)
            .fetch_all(self.0.connection())
            .await
            .map_err(StoreError::backend)?;
        Ok(ids.into_iter().map(SessionId::from_uuid).collect())
    }

    async fn add_session(&mut self, session: &mut Session) -> Result<(), StoreError> {
        let state = session.state();
        let connection = self.0.connection();
        sqlx::query(sql::INSERT_SESSION)
            .bind(state.id.as_uuid())
            .bind(state.user.as_uuid())
            .bind(state.created_at)
            .bind(state.last_used_at)
            .bind(state.user_agent.as_ref().map(|agent| agent.as_str()))
            .bind(state.refresh_expires_at)
            .bind(state.revoked_at)
            .execute(&mut *connection)
            .await
            .map_err(|error| StoreError::from(write_error(error)))?;
        insert_refresh_token(connection, &state.refresh, state.id).await?;
        session.mark_saved();
        Ok(())
    }

    async fn session_by_refresh_token(
        &mut self,
        digest: &RefreshDigest,
    ) -> Result<Option<(Session, PresentedToken)>, StoreError> {
        let row = sqlx::query(sql::SESSION_BY_REFRESH_TOKEN_FOR_UPDATE)
            .bind(&digest.as_bytes()[..])
            .fetch_optional(self.0.connection())
            .await
            .map_err(StoreError::backend)?;
        let Some(row) = row else { return Ok(None) };
        let spent: bool = row.try_get("spent").map_err(StoreError::backend)?;
        let state = session_row(&row).map_err(StoreError::backend)?.into_state()?;
        let presented = if spent { PresentedToken::Spent } else { PresentedToken::Live };
        Ok(Some((Session::restore(state), presented)))
    }

    async fn session(&mut self, id: SessionId) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(sql::SESSION_FOR_UPDATE)
            .bind(id.as_uuid())
            .fetch_optional(self.0.connection())
            .await
            .map_err(StoreError::backend)?;
        row.as_ref()
            .map(|row| Ok(Session::restore(session_row(row).map_err(StoreError::backend)?.into_state()?)))
            .transpose()
    }

    async fn save_session(&mut self, session: &mut Session) -> Result<(), StoreError> {
        let state = session.state();
        let connection = self.0.connection();
        let updated = sqlx::query(sql::UPDATE_SESSION)
            .bind(state.last_used_at)
            .bind(state.refresh_expires_at)
            .bind(state.revoked_at)
            .bind(state.id.as_uuid())
            .bind(state.version)
            .execute(&mut *connection)
            .await
            .map_err(StoreError::backend)?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        if !session.spent_tokens().is_empty() {
            for spent in session.spent_tokens() {
                sqlx::query(sql::SPEND_REFRESH_TOKEN)
                    .bind(state.last_used_at)
                    .bind(&spent.as_bytes()[..])
                    .execute(&mut *connection)
                    .await
                    .map_err(StoreError::backend)?;
            }
            insert_refresh_token(connection, &state.refresh, state.id).await?;
        }
        session.mark_saved();
        Ok(())
    }

    async fn login_throttle(&mut self, key: &ThrottleKey) -> Result<LoginThrottle, StoreError> {
        let row = sqlx::query(sql::LOGIN_THROTTLE_FOR_UPDATE)
            .bind(&key.as_bytes()[..])
            .fetch_optional(self.0.connection())
            .await
            .map_err(StoreError::backend)?;
        let Some(row) = row else { return Ok(LoginThrottle::new(*key)) };
        let row = LoginThrottleRow {
            key: row.try_get("key").map_err(StoreError::backend)?,
            window_started_at: row.try_get("window_started_at").map_err(StoreError::backend)?,
            failures: i64::from(row.try_get::<i32, _>("failures").map_err(StoreError::backend)?),
            version: row.try_get("version").map_err(StoreError::backend)?,
        };
        Ok(LoginThrottle::restore(row.into_state()?))
    }

    async fn save_login_throttle(&mut self, throttle: &mut LoginThrottle) -> Result<(), StoreError> {
        let state = throttle.state();
        let (started, failures) = throttle_values(state)?;
        let failures = i32::try_from(failures).map_err(StoreError::backend)?;
        let key = &state.key.as_bytes()[..];
        let query = if state.version == 0 {
            sqlx::query(sql::INSERT_LOGIN_THROTTLE).bind(key).bind(started).bind(failures)
        } else {
            sqlx::query(sql::UPDATE_LOGIN_THROTTLE).bind(started).bind(failures).bind(key).bind(state.version)
        };
        let changed = query.execute(self.0.connection()).await.map_err(StoreError::backend)?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        throttle.mark_saved();
        Ok(())
    }

    async fn forget_login_throttles_started_before(&mut self, cutoff: OffsetDateTime) -> Result<u64, StoreError> {
        let removed = sqlx::query(sql::FORGET_LOGIN_THROTTLES_SKIP_LOCKED)
            .bind(cutoff)
            .execute(self.0.connection())
            .await
            .map_err(StoreError::backend)?;
        Ok(removed.rows_affected())
    }

    async fn record_answer(&mut self, claim: &IdempotencyClaim, answer: &RecordedAnswer) -> Result<(), StoreError> {
        self.0.record_answer(claim, answer).await
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.0.commit().await
    }
}

async fn insert_refresh_token(
    connection: &mut PgConnection,
    digest: &RefreshDigest,
    session: SessionId,
) -> Result<(), StoreError> {
    sqlx::query(sql::INSERT_REFRESH_TOKEN)
        .bind(&digest.as_bytes()[..])
        .bind(session.as_uuid())
        .execute(connection)
        .await
        .map_err(|error| StoreError::from(write_error(error)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use taskdeck_kernel::EventEnvelope;
    use taskdeck_kernel::testing::OutboxProbe;
    use taskdeck_platform_postgres::PostgresSettings;
    use taskdeck_testkit::{TestBackend, TestDatabase};

    use super::*;

    impl OutboxProbe for PostgresAccounts {
        async fn outbox_events(&self) -> Vec<EventEnvelope> {
            self.store.outbox_events().await
        }
    }

    /// Each check on a fresh database; SKIPPED (loudly) without a PostgreSQL server.
    async fn fresh_store() -> Option<(PostgresAccounts, TestDatabase)> {
        let test = TestDatabase::new(TestBackend::Postgres).await?;
        let database = PostgresDatabase::connect(&PostgresSettings::from_url(test.url()).expect("testkit's URL"))
            .await
            .expect("the test server answers");
        database.migrate(&[MIGRATIONS]).await.expect("the accounts tables");
        Some((database.accounts_store(&OutboxWriter::new()), test))
    }

    taskdeck_accounts::accounts_store_contract!(fresh_store);

    #[tokio::test]
    async fn the_email_keys_of_v1_accounts_are_rewritten_once_into_their_canonical_form() {
        let Some(test) = TestDatabase::new(TestBackend::Postgres).await else { return };
        let mut settings = PostgresSettings::from_url(test.url()).expect("testkit's URL");
        settings.pool_size = 4;
        let database = PostgresDatabase::connect(&settings).await.expect("the test server answers");
        database.migrate(&[MIGRATIONS]).await.expect("the accounts tables");
        for (id, email, key, created_at) in email_keys::scenario::v1_rows() {
            sqlx::query(sql::INSERT_USER)
                .bind(id)
                .bind(email)
                .bind(key)
                .bind("hash")
                .bind(created_at)
                .execute(database.pool())
                .await
                .expect("a v1 row");
        }
        // Two instances starting together: one rewrites, the other waits and finds
        // nothing left to do.
        let (first, second) = tokio::join!(database.rewrite_email_keys(), database.rewrite_email_keys());
        let (first, second) = (first.expect("rewrite"), second.expect("rewrite"));
        let (report, idle) = if first.rewritten.is_empty() { (second, first) } else { (first, second) };
        assert_eq!(idle, EmailKeyRewrite::default());
        email_keys::scenario::check(&database, report).await;
    }
}
