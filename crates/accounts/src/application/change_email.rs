//! Use case: a signed-in user changes the address they sign in with.

use taskdeck_kernel::{Clock, ConflictAware, EmailAddress, StoreError, UserId, retry_on_conflict};
use thiserror::Error;

use super::ports::{AccountsStore, AccountsTransaction, UserStoreError};
use super::register::RegisteredUser;
use crate::domain::EmailChange;

#[derive(Debug, Clone)]
pub struct ChangeEmail {
    pub user_id: UserId,
    pub email: EmailAddress,
}

#[derive(Debug, Error)]
pub enum ChangeEmailError {
    /// The account behind a still-valid token no longer exists.
    #[error("account not found")]
    UserNotFound,
    #[error("email address is already registered")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ConflictAware for ChangeEmailError {
    fn is_conflict(&self) -> bool {
        matches!(self, Self::Store(StoreError::Conflict))
    }
}

impl From<UserStoreError> for ChangeEmailError {
    fn from(error: UserStoreError) -> Self {
        match error {
            UserStoreError::EmailTaken => Self::EmailTaken,
            UserStoreError::Store(error) => Self::Store(error),
        }
    }
}

/// Changes the account's email; the same address is a no-op that writes nothing.
///
/// # Errors
/// `EmailTaken` when another account owns the address, `UserNotFound` when the
/// account is gone.
pub async fn change_email(
    store: &impl AccountsStore,
    clock: &dyn Clock,
    command: ChangeEmail,
) -> Result<RegisteredUser, ChangeEmailError> {
    retry_on_conflict(|| async {
        let mut transaction = store.begin().await?;
        let mut user = transaction.user(command.user_id).await?.ok_or(ChangeEmailError::UserNotFound)?;
        match user.change_email(command.email.clone(), clock.now()) {
            EmailChange::Unchanged => {}
            EmailChange::Respelled | EmailChange::Changed => {
                transaction.save(&mut user).await?;
                transaction.commit().await?;
            }
        }
        Ok(RegisteredUser { id: user.id(), email: user.email().clone() })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::{RegisterUser, register_user};
    use crate::domain::PlainPassword;
    use crate::testing::{FakeHasher, InMemoryAccounts};
    use taskdeck_kernel::FixedClock;
    use taskdeck_kernel::testing::OutboxProbe;
    use time::macros::datetime;

    fn clock() -> FixedClock {
        FixedClock::at(datetime!(2026-11-24 10:15:00 UTC))
    }

    async fn register(store: &InMemoryAccounts, email: &str) -> UserId {
        let command = RegisterUser {
            email: EmailAddress::parse(email).unwrap(),
            password: PlainPassword::new("correct horse").unwrap(),
        };
        register_user(store, &FakeHasher, &clock(), command, None).await.unwrap().id
    }

    fn command(user_id: UserId, email: &str) -> ChangeEmail {
        ChangeEmail { user_id, email: EmailAddress::parse(email).unwrap() }
    }

    #[tokio::test]
    async fn the_new_address_is_stored_and_the_old_one_is_free_again() {
        let store = InMemoryAccounts::default();
        let bob = register(&store, "bob@example.com").await;

        let changed = change_email(&store, &clock(), command(bob, "robert@example.com")).await.unwrap();

        assert_eq!(changed.email.as_str(), "robert@example.com");
        let old = EmailAddress::parse("bob@example.com").unwrap();
        assert!(store.credentials(&old).await.unwrap().is_none());
        register(&store, "bob@example.com").await;
    }

    #[tokio::test]
    async fn changing_to_the_current_address_writes_nothing() {
        let store = InMemoryAccounts::default();
        let bob = register(&store, "bob@example.com").await;
        let events_before = store.outbox_events().await.len();

        let changed = change_email(&store, &clock(), command(bob, "bob@example.com")).await.unwrap();

        assert_eq!(changed.email.as_str(), "bob@example.com");
        assert_eq!(store.outbox_events().await.len(), events_before);
    }

    #[tokio::test]
    async fn an_address_owned_by_someone_else_is_email_taken() {
        let store = InMemoryAccounts::default();
        register(&store, "alice@example.com").await;
        let bob = register(&store, "bob@example.com").await;

        let outcome = change_email(&store, &clock(), command(bob, "ALICE@example.com")).await;

        assert!(matches!(outcome, Err(ChangeEmailError::EmailTaken)), "{outcome:?}");
    }

    #[tokio::test]
    async fn a_vanished_account_is_user_not_found() {
        let store = InMemoryAccounts::default();
        let outcome = change_email(&store, &clock(), command(UserId::generate(), "bob@example.com")).await;
        assert!(matches!(outcome, Err(ChangeEmailError::UserNotFound)), "{outcome:?}");
    }
}
