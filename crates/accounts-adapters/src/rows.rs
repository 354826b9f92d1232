//! Stored rows to domain values, shared by both backends: each reads its own row type
//! into these plain structs (the columns are the same); turning them into domain
//! values, and reporting a corrupt one, is done once, here.

use taskdeck_accounts::application::SessionView;
use taskdeck_accounts::domain::{
    LoginThrottleState, PasswordHash, RefreshDigest, SessionId, SessionState, ThrottleKey, User, UserAgent,
};
use taskdeck_kernel::{EmailAddress, StoreError, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

fn corrupt(what: &str) -> StoreError {
    StoreError::backend(std::io::Error::other(format!("a stored row has an invalid {what}")))
}

/// A stored digest: exactly 32 bytes.
pub(crate) fn digest(bytes: &[u8]) -> Result<RefreshDigest, StoreError> {
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| corrupt("refresh token digest"))?;
    Ok(RefreshDigest::from_bytes(bytes))
}

/// A whole `sessions` row with its live refresh token.
#[derive(Debug)]
pub(crate) struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: OffsetDateTime,
    pub last_used_at: OffsetDateTime,
    pub user_agent: Option<String>,
    pub refresh_expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub version: i64,
    pub refresh: Vec<u8>,
}

impl SessionRow {
    pub(crate) fn into_state(self) -> Result<SessionState, StoreError> {
        Ok(SessionState {
            id: SessionId::from_uuid(self.id),
            user: UserId::from_uuid(self.user_id),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            user_agent: self.user_agent.map(UserAgent::restore),
            refresh: digest(&self.refresh)?,
            refresh_expires_at: self.refresh_expires_at,
            revoked_at: self.revoked_at,
            version: self.version,
        })
    }
}

/// A whole `login_throttles` row.
#[derive(Debug)]
pub(crate) struct LoginThrottleRow {
    pub key: Vec<u8>,
    pub window_started_at: OffsetDateTime,
    pub failures: i64,
    pub version: i64,
}

impl LoginThrottleRow {
    pub(crate) fn into_state(self) -> Result<LoginThrottleState, StoreError> {
        let key: [u8; 32] = self.key.as_slice().try_into().map_err(|_| corrupt("login throttle key"))?;
        Ok(LoginThrottleState {
            key: ThrottleKey::from_bytes(key),
            window_started_at: Some(self.window_started_at),
            failures: u32::try_from(self.failures).map_err(|_| corrupt("failed login count"))?,
            version: self.version,
        })
    }
}

/// The values a throttle is stored with: only throttles that counted an attempt are.
pub(crate) fn throttle_values(state: &LoginThrottleState) -> Result<(OffsetDateTime, i64), StoreError> {
    let started = state.window_started_at.ok_or_else(|| {
        StoreError::backend(std::io::Error::other("a login throttle without a window cannot be stored"))
    })?;
    Ok((started, i64::from(state.failures)))
}

/// A session as listed.
#[derive(Debug)]
pub(crate) struct SessionListRow {
    pub id: Uuid,
    pub created_at: OffsetDateTime,
    pub last_used_at: OffsetDateTime,
    pub user_agent: Option<String>,
}

impl SessionListRow {
    pub(crate) fn into_view(self) -> SessionView {
        SessionView {
            id: SessionId::from_uuid(self.id),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            user_agent: self.user_agent.map(UserAgent::restore),
        }
    }
}

/// A whole `users` row, for the repository.
#[derive(Debug)]
pub(crate) struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub version: i64,
}

impl UserRow {
    pub(crate) fn into_user(self) -> Result<User, StoreError> {
        Ok(User::restore(
            UserId::from_uuid(self.id),
            EmailAddress::restore(&self.email).map_err(|_| corrupt("email"))?,
            PasswordHash::from_phc(self.password_hash),
            self.version,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_with_an_address_that_is_no_longer_valid_is_reported_as_corrupt() {
        let row = UserRow { id: Uuid::new_v4(), email: "not an address".into(), password_hash: "x".into(), version: 1 };
        assert!(matches!(row.into_user(), Err(StoreError::Backend(_))));
    }

    #[test]
    fn an_address_stored_before_format_characters_were_refused_still_loads() {
        let row = UserRow {
            id: Uuid::new_v4(),
            email: "old\u{200b}@example.com".into(),
            password_hash: "x".into(),
            version: 1,
        };
        assert_eq!(row.into_user().unwrap().email().as_str(), "old\u{200b}@example.com");
    }
}
