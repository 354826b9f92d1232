//! Use case: a signed-in user replaces their password. Every other session of theirs
//! ends (other devices must sign in again); the one that asked stays.

use taskdeck_kernel::{Clock, StoreError, UserId};
use thiserror::Error;

use super::ports::{AccountsStore, AccountsTransaction, HashingError, PasswordHasher, UserStoreError};
use crate::domain::{PlainPassword, SessionId};

/// The new password meets the policy already (it is parsed at the edge); the current
/// one is as typed.
#[derive(Debug, Clone)]
pub struct ChangePassword {
    pub user: UserId,
    /// The session that asks: it stays signed in.
    pub session: SessionId,
    pub current_password: String,
    pub new_password: PlainPassword,
}

#[derive(Debug, Error)]
pub enum ChangePasswordError {
    /// The account the token names is gone: as good as a revoked token.
    #[error("the account does not exist")]
    UserNotFound,
    #[error("the current password is wrong")]
    WrongPassword,
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<UserStoreError> for ChangePasswordError {
    fn from(error: UserStoreError) -> Self {
        match error {
            // A password change does not touch the address.
            UserStoreError::EmailTaken => Self::Store(StoreError::Conflict),
            UserStoreError::Store(store) => Self::Store(store),
        }
    }
}

/// Checks the current password, stores the new one, and ends every other session of
/// the user; returns the sessions it ended.
///
/// # Errors
/// `WrongPassword` when the current password does not match (nothing changes).
pub async fn change_password(
    store: &impl AccountsStore,
    hasher: &impl PasswordHasher,
    clock: &dyn Clock,
    command: ChangePassword,
) -> Result<Vec<SessionId>, ChangePasswordError> {
    let stored = {
        let mut transaction = store.begin().await?;
        transaction.user(command.user).await?.ok_or(ChangePasswordError::UserNotFound)?
    };
    // Both hashes run outside any transaction: they take tens of milliseconds.
    if !hasher.verify(command.current_password, Some(stored.password_hash().clone())).await? {
        return Err(ChangePasswordError::WrongPassword);
    }
    let hash = hasher.hash(command.new_password).await?;
    let mut transaction = store.begin().await?;
    let mut user = transaction.user(command.user).await?.ok_or(ChangePasswordError::UserNotFound)?;
    if user.password_hash() != stored.password_hash() {
        // Changed meanwhile: the password just checked is no longer the current one.
        return Err(StoreError::Conflict.into());
    }
    user.change_password(hash);
    transaction.save(&mut user).await?;
    let ended = transaction.revoke_sessions_of(command.user, Some(command.session), clock.now()).await?;
    transaction.commit().await?;
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use taskdeck_kernel::{EmailAddress, FixedClock};
    use time::macros::datetime;

    use super::*;
    use crate::application::{AccountQueries, LoginError, LoginRequest, SessionTokens, log_in};
    use crate::application::{RegisterUser, register_user};
    use crate::testing::{FakeHasher, FakeRefreshTokens, FakeTokens, InMemoryAccounts, OverloadedHasher};

    fn clock() -> FixedClock {
        FixedClock::at(datetime!(2026-12-02 10:00:00 UTC))
    }

    async fn log_in_as(store: &InMemoryAccounts, password: &str) -> Result<SessionId, LoginError> {
        let tokens = SessionTokens { access: &FakeTokens, refresh: &FakeRefreshTokens };
        let request = LoginRequest { email: "bob@example.com".into(), password: password.into(), user_agent: None };
        log_in(store, &FakeHasher, tokens, &clock(), request).await.map(|grant| grant.session)
    }

    async fn bob_on_two_devices(store: &InMemoryAccounts) -> (UserId, SessionId, SessionId) {
        let email = EmailAddress::parse("bob@example.com").unwrap();
        let command = RegisterUser { email, password: PlainPassword::new("old password").unwrap() };
        let user = register_user(store, &FakeHasher, &clock(), command, None).await.unwrap().id;
        (user, log_in_as(store, "old password").await.unwrap(), log_in_as(store, "old password").await.unwrap())
    }

    fn command(user: UserId, session: SessionId, current: &str) -> ChangePassword {
        ChangePassword {
            user,
            session,
            current_password: current.into(),
            new_password: PlainPassword::new("new password").unwrap(),
        }
    }

    #[tokio::test]
    async fn the_new_password_signs_in_the_old_no_longer_and_other_sessions_end() {
        let store = InMemoryAccounts::default();
        let (user, laptop, phone) = bob_on_two_devices(&store).await;

        let ended = change_password(&store, &FakeHasher, &clock(), command(user, laptop, "old password")).await;

        assert_eq!(ended.unwrap(), [phone]);
        assert_eq!(store.live_session_owner(laptop).await.unwrap(), Some(user), "the asking session stays");
        assert_eq!(store.live_session_owner(phone).await.unwrap(), None);
        assert!(matches!(log_in_as(&store, "old password").await, Err(LoginError::InvalidCredentials(_))));
        assert!(log_in_as(&store, "new password").await.is_ok());
    }

    #[tokio::test]
    async fn a_wrong_current_password_changes_nothing() {
        let store = InMemoryAccounts::default();
        let (user, laptop, phone) = bob_on_two_devices(&store).await;

        let outcome = change_password(&store, &FakeHasher, &clock(), command(user, laptop, "guess")).await;

        assert!(matches!(outcome, Err(ChangePasswordError::WrongPassword)), "{outcome:?}");
        assert_eq!(store.live_session_owner(phone).await.unwrap(), Some(user));
        assert!(log_in_as(&store, "old password").await.is_ok());
    }

    #[tokio::test]
    async fn a_change_the_hasher_sheds_is_overloaded_and_changes_nothing() {
        let store = InMemoryAccounts::default();
        let (user, laptop, phone) = bob_on_two_devices(&store).await;

        let outcome = change_password(&store, &OverloadedHasher, &clock(), command(user, laptop, "old password")).await;

        assert!(matches!(outcome, Err(ChangePasswordError::Hashing(HashingError::Overloaded))), "{outcome:?}");
        assert_eq!(store.live_session_owner(phone).await.unwrap(), Some(user));
        assert!(log_in_as(&store, "old password").await.is_ok());
    }

    #[tokio::test]
    async fn a_user_that_no_longer_exists_is_not_found() {
        let store = InMemoryAccounts::default();
        let outcome =
            change_password(&store, &FakeHasher, &clock(), command(UserId::generate(), SessionId::generate(), "x"))
                .await;
        assert!(matches!(outcome, Err(ChangePasswordError::UserNotFound)), "{outcome:?}");
    }
}
