//! The accounts ports on SQLite.

use rusqlite::{Connection, OptionalExtension, Row};
use taskdeck_accounts::application::{
    AccountQueries, AccountsStore, AccountsTransaction, Credentials, SessionView, UserProfile, UserStoreError,
};
use taskdeck_accounts::domain::{
    LoginThrottle, PasswordHash, PresentedToken, RefreshDigest, Session, SessionId, ThrottleKey, User,
};
use taskdeck_kernel::{EmailAddress, IdempotencyClaim, RecordedAnswer, StoreError, UserId};
use taskdeck_platform::Migration;
use taskdeck_platform::outbox::OutboxWriter;
use taskdeck_platform_sqlite::{
    CachedStatements, SqliteDatabase, SqliteStore, SqliteUnitOfWork, Timestamp, UnixMicros, write_error,
};
use time::OffsetDateTime;

use crate::email_keys::{self, EmailKeyRewrite, Rewriting, StoredKey};
use crate::module::AccountsBackend;
use crate::rows::{LoginThrottleRow, SessionListRow, SessionRow, UserRow, throttle_values};
use crate::sql;

/// The accounts tables on SQLite.
const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, description: "accounts", sql: include_str!("../migrations/sqlite/0001_accounts.sql") },
    Migration { version: 5, description: "sessions", sql: include_str!("../migrations/sqlite/0005_sessions.sql") },
    Migration {
        version: 7,
        description: "login throttles",
        sql: include_str!("../migrations/sqlite/0007_login_throttles.sql"),
    },
    Migration {
        version: 11,
        description: "email key rewrites",
        sql: include_str!("../migrations/sqlite/0011_email_key_rewrites.sql"),
    },
];

impl AccountsBackend for SqliteDatabase {
    type Store = SqliteAccounts;

    const MIGRATIONS: &'static [Migration] = MIGRATIONS;

    fn accounts_store(&self, outbox: &OutboxWriter) -> SqliteAccounts {
        SqliteAccounts { store: SqliteStore::new(self.clone(), outbox.clone()) }
    }

    async fn rewrite_email_keys(&self) -> Result<EmailKeyRewrite, StoreError> {
        // One write transaction: another process's start waits for the write lock.
        let transaction = self.begin_write().await?;
        let connection = transaction.connection();
        let rewriting = rewrite_email_keys(connection).map_err(StoreError::backend)?;
        let report = rewriting.map(Rewriting::finish).unwrap_or_default();
        transaction.commit()?;
        Ok(report)
    }
}

/// The rewrite of the email keys, if a migration asked for one.
fn rewrite_email_keys(connection: &Connection) -> rusqlite::Result<Option<Rewriting>> {
    if connection.execute(sql::TAKE_EMAIL_KEY_REWRITES, [])? == 0 {
        return Ok(None);
    }
    let rows = connection
        .prepare(sql::STORED_EMAIL_KEYS)?
        .query_map([], |row| {
            Ok(StoredKey {
                id: row.get("id")?,
                email: row.get("email")?,
                key: row.get("email_normalized")?,
                created_at: row.get::<_, Timestamp>("created_at")?.0,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut rewriting = email_keys::plan(rows);
    while let Some((id, key)) = rewriting.next_rewrite() {
        let written = connection.execute(sql::REWRITE_EMAIL_KEY, (&key, id))? == 1;
        rewriting.record(id, key, written);
    }
    Ok(Some(rewriting))
}

/// User accounts in the SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteAccounts {
    store: SqliteStore,
}

fn user_row(row: &Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: row.get("id")?,
        email: row.get("email")?,
        password_hash: row.get("password_hash")?,
        version: row.get("version")?,
    })
}

fn micros(row: &Row<'_>, column: &str) -> rusqlite::Result<OffsetDateTime> {
    row.get::<_, UnixMicros>(column).map(|UnixMicros(instant)| instant)
}

fn session_row(row: &Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: row.get("id")?,
        user_id: row.get("user_id")?,
        created_at: micros(row, "created_at")?,
        last_used_at: micros(row, "last_used_at")?,
        user_agent: row.get("user_agent")?,
        refresh_expires_at: micros(row, "refresh_expires_at")?,
        revoked_at: row.get::<_, Option<UnixMicros>>("revoked_at")?.map(|UnixMicros(instant)| instant),
        version: row.get("version")?,
        refresh: row.get("refresh")?,
    })
}

fn user_write_error(error: rusqlite::Error) -> UserStoreError {
    write_error(error).on(&sql::EMAIL_KEY, UserStoreError::EmailTaken)
}

impl AccountsStore for SqliteAccounts {
    type Transaction = SqliteAccountsTransaction;

    async fn begin(&self) -> Result<Self::Transaction, StoreError> {
        Ok(SqliteAccountsTransaction(self.store.begin().await?))
    }

    async fn credentials(&self, email: &EmailAddress) -> Result<Option<Credentials>, StoreError> {
        self.store.read(|connection| {
            connection
                .query_row_cached(sql::CREDENTIALS, [email.normalized()], |row| {
                    Ok(Credentials {
                        user_id: UserId::from_uuid(row.get("id")?),
                        password_hash: PasswordHash::from_phc(row.get("password_hash")?),
                    })
                })
                .optional()
        })
    }
}

impl AccountQueries for SqliteAccounts {
    async fn profile(&self, id: UserId) -> Result<Option<UserProfile>, StoreError> {
        self.store.read(|connection| {
            connection
                .query_row_cached(sql::PROFILE, [id.as_uuid()], |row| Ok(UserProfile { id, email: row.get("email")? }))
                .optional()
        })
    }

    async fn sessions_of(&self, user: UserId, now: OffsetDateTime) -> Result<Vec<SessionView>, StoreError> {
        let rows = self.store.read(|connection| {
            connection
                .prepare_cached(sql::SESSIONS_OF)?
                .query_map((user.as_uuid(), UnixMicros(now)), |row| {
                    Ok(SessionListRow {
                        id: row.get("id")?,
                        created_at: micros(row, "created_at")?,
                        last_used_at: micros(row, "last_used_at")?,
                        user_agent: row.get("user_agent")?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(rows.into_iter().map(SessionListRow::into_view).collect())
    }

    async fn live_session_owner(&self, id: SessionId) -> Result<Option<UserId>, StoreError> {
        self.store.read(|connection| {
            connection
                .query_row_cached(sql::LIVE_SESSION_OWNER, [id.as_uuid()], |row| {
                    row.get("user_id").map(UserId::from_uuid)
                })
                .optional()
        })
    }

    async fn sessions_revoked_since(&self, since: OffsetDateTime) -> Result<Vec<SessionId>, StoreError> {
        self.store.read(|connection| {
            connection
                .prepare_cached(sql::SESSIONS_REVOKED_SINCE)?
                .query_map([UnixMicros(since)], |row| row.get("id").map(SessionId::from_uuid))?
                .collect()
        })
    }
}

/// A unit of work on accounts.
#[derive(Debug)]
pub struct SqliteAccountsTransaction(SqliteUnitOfWork);

impl AccountsTransaction for SqliteAccountsTransaction {
    async fn user(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = self
            .0
            .connection()
            .query_row_cached(sql::USER, [id.as_uuid()], user_row)
            .optional()
            .map_err(StoreError::backend)?;
        row.map(UserRow::into_user).transpose()
    }

    async fn add(&mut self, user: &mut User) -> Result<(), UserStoreError> {
        self.0
            .connection()
            .execute_cached(
                sql::INSERT_USER,
                (
                    user.id().as_uuid(),
                    user.email().as_str(),
                    user.email().normalized(),
                    user.password_hash().as_phc(),
                    Timestamp(OffsetDateTime::now_utc()),
                ),
            )
            .map_err(user_write_error)?;
        self.0.record(&user.take_events())?;
        user.mark_saved();
        Ok(())
    }

    async fn save(&mut self, user: &mut User) -> Result<(), UserStoreError> {
        let updated = self
            .0
            .connection()
            .execute_cached(
                sql::UPDATE_USER,
                (
                    user.email().as_str(),
                    user.email().normalized(),
                    user.password_hash().as_phc(),
                    user.id().as_uuid(),
                    user.version(),
                ),
            )
            .map_err(user_write_error)?;
        if updated == 0 {
            return Err(StoreError::Conflict.into());
        }
        self.0.record(&user.take_events())?;
        user.mark_saved();
        Ok(())
    }

    async fn remove(&mut self, user: &mut User) -> Result<(), StoreError> {
        let deleted = self
            .0
            .connection()
            .execute_cached(sql::DELETE_USER, (user.id().as_uuid(), user.version()))
            .map_err(StoreError::backend)?;
        if deleted == 0 {
            return Err(StoreError::Conflict);
        }
        self.0.record(&user.take_events())?;
        Ok(())
    }

    async fn revoke_sessions_of(
        &mut self,
        user: UserId,
        except: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>, StoreError> {
        let spared = except.map_or_else(uuid::Uuid::nil, |session| session.as_uuid());
        self.0
            .connection()
            .prepare_cached(sql::REVOKE_SESSIONS_OF)
            .and_then(|mut statement| {
                statement
                    .query_map((UnixMicros(now), user.as_uuid(), spared), |row| {
                        row.get("id").map(SessionId::from_uuid)
                    })?
                    .collect()
            })
            .map_err(StoreError::backend)
    }

    async fn add_session(&mut self, session: &mut Session) -> Result<(), StoreError> {
        let state = session.state();
        let connection = self.0.connection();
        connection
            .execute_cached(
                sql::INSERT_SESSION,
                (
                    state.id.as_uuid(),
                    state.user.as_uuid(),
                    UnixMicros(state.created_at),
                    UnixMicros(state.last_used_at),
                    state.user_agent.as_ref().map(|agent| agent.as_str()),
                    UnixMicros(state.refresh_expires_at),
                    state.revoked_at.map(UnixMicros),
                ),
            )
            .map_err(|error| StoreError::from(write_error(error)))?;
        insert_refresh_token(connection, &state.refresh, state.id)?;
        session.mark_saved();
        Ok(())
    }

    async fn session_by_refresh_token(
        &mut self,
        digest: &RefreshDigest,
    ) -> Result<Option<(Session, PresentedToken)>, StoreError> {
        let found = self
            .0
            .connection()
            .query_row_cached(sql::SESSION_BY_REFRESH_TOKEN, [&digest.as_bytes()[..]], |row| {
                Ok((session_row(row)?, row.get::<_, bool>("spent")?))
            })
            .optional()
            .map_err(StoreError::backend)?;
        let Some((row, spent)) = found else { return Ok(None) };
        let presented = if spent { PresentedToken::Spent } else { PresentedToken::Live };
        Ok(Some((Session::restore(row.into_state()?), presented)))
    }

    async fn session(&mut self, id: SessionId) -> Result<Option<Session>, StoreError> {
        let row = self
            .0
            .connection()
            .query_row_cached(sql::SESSION, [id.as_uuid()], session_row)
            .optional()
            .map_err(StoreError::backend)?;
        row.map(|row| row.into_state().map(Session::restore)).transpose()
    }

    async fn save_session(&mut self, session: &mut Session) -> Result<(), StoreError> {
        let state = session.state();
        let connection = self.0.connection();
        let updated = connection
            .execute_cached(
                sql::UPDATE_SESSION,
                (
                    UnixMicros(state.last_used_at),
                    UnixMicros(state.refresh_expires_at),
                    state.revoked_at.map(UnixMicros),
                    state.id.as_uuid(),
                    state.version,
                ),
            )
            .map_err(StoreError::backend)?;
        if updated == 0 {
            return Err(StoreError::Conflict);
        }
        if !session.spent_tokens().is_empty() {
            for spent in session.spent_tokens() {
                connection
                    .execute_cached(sql::SPEND_REFRESH_TOKEN, (UnixMicros(state.last_used_at), &spent.as_bytes()[..]))
                    .map_err(StoreError::backend)?;
            }
            insert_refresh_token(connection, &state.refresh, state.id)?;
        }
        session.mark_saved();
        Ok(())
    }

    async fn login_throttle(&mut self, key: &ThrottleKey) -> Result<LoginThrottle, StoreError> {
        let row = self
            .0
            .connection()
            .query_row_cached(sql::LOGIN_THROTTLE, [&key.as_bytes()[..]], |row| {
                Ok(LoginThrottleRow {
                    key: row.get("key")?,
                    window_started_at: micros(row, "window_started_at")?,
                    failures: row.get("failures")?,
                    version: row.get("version")?,
                })
            })
            .optional()
            .map_err(StoreError::backend)?;
        Ok(match row {
            Some(row) => LoginThrottle::restore(row.into_state()?),
            None => LoginThrottle::new(*key),
        })
    }

    async fn save_login_throttle(&mut self, throttle: &mut LoginThrottle) -> Result<(), StoreError> {
        let state = throttle.state();
        let (started, failures) = throttle_values(state)?;
        let key = &state.key.as_bytes()[..];
        let connection = self.0.connection();
        let changed = if state.version == 0 {
            connection.execute_cached(sql::INSERT_LOGIN_THROTTLE, (key, UnixMicros(started), failures))
        } else {
            connection.execute_cached(sql::UPDATE_LOGIN_THROTTLE, (UnixMicros(started), failures, key, state.version))
        }
        .map_err(StoreError::backend)?;
        if changed == 0 {
            return Err(StoreError::Conflict);
        }
        throttle.mark_saved();
        Ok(())
    }

    async fn forget_login_throttles_started_before(&mut self, cutoff: OffsetDateTime) -> Result<u64, StoreError> {
        let removed = self
            .0
            .connection()
            .execute_cached(sql::FORGET_LOGIN_THROTTLES, [UnixMicros(cutoff)])
            .map_err(StoreError::backend)?;
        Ok(u64::try_from(removed).unwrap_or(u64::MAX))
    }

    async fn record_answer(&mut self, claim: &IdempotencyClaim, answer: &RecordedAnswer) -> Result<(), StoreError> {
        self.0.record_answer(claim, answer)
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.0.commit()
    }
}

fn insert_refresh_token(connection: &Connection, digest: &RefreshDigest, session: SessionId) -> Result<(), StoreError> {
    connection
        .execute_cached(sql::INSERT_REFRESH_TOKEN, (&digest.as_bytes()[..], session.as_uuid()))
        .map_err(|error| StoreError::from(write_error(error)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use taskdeck_kernel::EventEnvelope;
    use taskdeck_kernel::testing::OutboxProbe;
    use taskdeck_platform_sqlite::SqliteSettings;
    use taskdeck_testkit::{TestBackend, TestDatabase};

    use super::*;

    impl OutboxProbe for SqliteAccounts {
        async fn outbox_events(&self) -> Vec<EventEnvelope> {
            self.store.outbox_events().await
        }
    }

    /// A migrated database on testkit's temporary file, and the file's guard.
    async fn migrated() -> (SqliteDatabase, TestDatabase) {
        let test = TestDatabase::new(TestBackend::Sqlite).await.expect("SQLite needs no server");
        let settings = SqliteSettings::from_url(test.url()).expect("testkit's URL");
        let database = SqliteDatabase::open(&settings).await.expect("a fresh file opens");
        database.migrate(&[MIGRATIONS]).await.expect("the accounts tables");
        (database, test)
    }

    async fn fresh_store() -> Option<(SqliteAccounts, TestDatabase)> {
        let (database, test) = migrated().await;
        Some((database.accounts_store(&OutboxWriter::new()), test))
    }

    taskdeck_accounts::accounts_store_contract!(fresh_store);

    #[tokio::test]
    async fn the_email_keys_of_v1_accounts_are_rewritten_once_into_their_canonical_form() {
        let (database, _test) = migrated().await;
        database
            .write(|connection| {
                for (id, email, key, created_at) in email_keys::scenario::v1_rows() {
                    connection.execute(sql::INSERT_USER, (id, email, key, "hash", Timestamp(created_at)))?;
                }
                Ok(())
            })
            .await
            .expect("v1's rows");
        let report = database.rewrite_email_keys().await.expect("rewrite");
        email_keys::scenario::check(&database, report).await;
    }

    #[tokio::test]
    async fn the_statements_shared_with_postgres_number_their_parameters_in_order() {
        migrated().await.0.assert_parameters_numbered_in_order(sql::ALL);
    }
}
