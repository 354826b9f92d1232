//! Use case: a user erases their account. The account goes, every session of it ends,
//! and `UserAccountDeleted` tells the other contexts to erase what they keep of it.

use taskdeck_kernel::{Clock, StoreError, UserId};
use thiserror::Error;

use super::ports::{AccountsStore, AccountsTransaction, HashingError, PasswordHasher};
use crate::domain::SessionId;

#[derive(Debug, Error)]
pub enum EraseAccountError {
    /// The account the token names is gone already.
    #[error("the account does not exist")]
    UserNotFound,
    #[error("the password is wrong")]
    WrongPassword,
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks the password, then erases the account and ends all its sessions in one unit
/// of work, which also records `UserAccountDeleted`; returns the sessions it ended.
///
/// # Errors
/// `WrongPassword` when the password does not match (nothing changes).
pub async fn erase_account(
    store: &impl AccountsStore,
    hasher: &impl PasswordHasher,
    clock: &dyn Clock,
    user: UserId,
    password: String,
) -> Result<Vec<SessionId>, EraseAccountError> {
    let stored = {
        let mut transaction = store.begin().await?;
        transaction.user(user).await?.ok_or(EraseAccountError::UserNotFound)?
    };
    if !hasher.verify(password, Some(stored.password_hash().clone())).await? {
        return Err(EraseAccountError::WrongPassword);
    }
    let now = clock.now();
    let mut transaction = store.begin().await?;
    let mut account = transaction.user(user).await?.ok_or(EraseAccountError::UserNotFound)?;
    if account.password_hash() != stored.password_hash() {
        return Err(StoreError::Conflict.into());
    }
    account.erase(now);
    transaction.remove(&mut account).await?;
    let ended = transaction.revoke_sessions_of(user, None, now).await?;
    transaction.commit().await?;
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use taskdeck_kernel::testing::OutboxProbe;
    use taskdeck_kernel::{EmailAddress, FixedClock, UserAccountDeleted};
    use time::macros::datetime;

    use super::*;
    use crate::application::{AccountQueries, LoginRequest, RegisterUser, SessionTokens, log_in, register_user};
    use crate::domain::PlainPassword;
    use crate::testing::{FakeHasher, FakeRefreshTokens, FakeTokens, InMemoryAccounts, OverloadedHasher};

    fn clock() -> FixedClock {
        FixedClock::at(datetime!(2026-12-02 10:00:00 UTC))
    }

    async fn signed_in(store: &InMemoryAccounts) -> (UserId, SessionId) {
        let command = RegisterUser {
            email: EmailAddress::parse("bob@example.com").unwrap(),
            password: PlainPassword::new("password!").unwrap(),
        };
        let user = register_user(store, &FakeHasher, &clock(), command.clone(), None).await.unwrap().id;
        let tokens = SessionTokens { access: &FakeTokens, refresh: &FakeRefreshTokens };
        let request = LoginRequest { email: "bob@example.com".into(), password: "password!".into(), user_agent: None };
        (user, log_in(store, &FakeHasher, tokens, &clock(), request).await.unwrap().session)
    }

    #[tokio::test]
    async fn erasing_removes_the_account_ends_its_sessions_and_publishes_the_deletion() {
        let store = InMemoryAccounts::default();
        let (user, session) = signed_in(&store).await;

        let ended = erase_account(&store, &FakeHasher, &clock(), user, "password!".into()).await.unwrap();

        assert_eq!(ended, [session]);
        assert_eq!(store.profile(user).await.unwrap(), None);
        assert_eq!(store.live_session_owner(session).await.unwrap(), None);
        let deleted: Vec<UserAccountDeleted> = store
            .outbox_events()
            .await
            .iter()
            .filter(|event| event.event_type == UserAccountDeleted::EVENT_TYPE)
            .map(|event| event.decode().unwrap())
            .collect();
        assert_eq!(deleted, [UserAccountDeleted { user_id: user, occurred_at: clock().now() }]);
        let again = RegisterUser {
            email: EmailAddress::parse("bob@example.com").unwrap(),
            password: PlainPassword::new("password!").unwrap(),
        };
        assert!(register_user(&store, &FakeHasher, &clock(), again, None).await.is_ok(), "the address is free again");
    }

    #[tokio::test]
    async fn a_wrong_password_erases_nothing() {
        let store = InMemoryAccounts::default();
        let (user, session) = signed_in(&store).await;
        let events = store.outbox_events().await.len();

        let outcome = erase_account(&store, &FakeHasher, &clock(), user, "guess".into()).await;

        assert!(matches!(outcome, Err(EraseAccountError::WrongPassword)), "{outcome:?}");
        assert!(store.profile(user).await.unwrap().is_some());
        assert_eq!(store.live_session_owner(session).await.unwrap(), Some(user));
        assert_eq!(store.outbox_events().await.len(), events);
    }

    #[tokio::test]
    async fn an_erasure_the_hasher_sheds_is_overloaded_and_erases_nothing() {
        let store = InMemoryAccounts::default();
        let (user, session) = signed_in(&store).await;

        let outcome = erase_account(&store, &OverloadedHasher, &clock(), user, "password!".into()).await;

        assert!(matches!(outcome, Err(EraseAccountError::Hashing(HashingError::Overloaded))), "{outcome:?}");
        assert!(store.profile(user).await.unwrap().is_some());
        assert_eq!(store.live_session_owner(session).await.unwrap(), Some(user));
    }
}
