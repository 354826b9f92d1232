//! Use case: someone registers an account.

use taskdeck_kernel::{Clock, EmailAddress, Receipt, StoreError, UserId};
use thiserror::Error;

use super::ports::{AccountsStore, AccountsTransaction, HashingError, PasswordHasher, UserStoreError};
use crate::domain::{PlainPassword, User};

/// A registration whose values are already valid.
#[derive(Debug, Clone)]
pub struct RegisterUser {
    pub email: EmailAddress,
    pub password: PlainPassword,
}

/// The account that was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredUser {
    pub id: UserId,
    pub email: EmailAddress,
}

#[derive(Debug, Error)]
pub enum RegisterError {
    #[error("email address is already registered")]
    EmailTaken,
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<UserStoreError> for RegisterError {
    fn from(error: UserStoreError) -> Self {
        match error {
            UserStoreError::EmailTaken => Self::EmailTaken,
            UserStoreError::Store(error) => Self::Store(error),
        }
    }
}

/// Registers an account. The password is hashed before the unit of work begins, so the
/// slow hash never holds a database transaction open.
///
/// # Errors
/// `EmailTaken` when the address is registered already, otherwise infrastructure errors.
pub async fn register_user(
    store: &impl AccountsStore,
    hasher: &impl PasswordHasher,
    clock: &dyn Clock,
    command: RegisterUser,
    receipt: Option<Receipt<'_, RegisteredUser>>,
) -> Result<RegisteredUser, RegisterError> {
    let password_hash = hasher.hash(command.password).await?;
    let mut user = User::register(UserId::generate(), command.email, password_hash, clock.now());
    let mut transaction = store.begin().await?;
    transaction.add(&mut user).await?;
    let registered = RegisteredUser { id: user.id(), email: user.email().clone() };
    if let Some(receipt) = receipt {
        transaction.record_answer(receipt.claim, &receipt.answer(&registered)).await?;
    }
    transaction.commit().await?;
    Ok(registered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakeHasher, InMemoryAccounts, OverloadedHasher};
    use taskdeck_kernel::testing::OutboxProbe;
    use taskdeck_kernel::{FixedClock, UserAccountCreated};
    use time::macros::datetime;

    fn command(email: &str) -> RegisterUser {
        RegisterUser {
            email: EmailAddress::parse(email).unwrap(),
            password: PlainPassword::new("correct horse").unwrap(),
        }
    }

    #[tokio::test]
    async fn registering_stores_the_account_with_a_hashed_password_and_publishes_the_event() {
        let store = InMemoryAccounts::default();
        let clock = FixedClock::at(datetime!(2026-11-24 10:15:00 UTC));

        let registered = register_user(&store, &FakeHasher, &clock, command("bob@example.com"), None).await.unwrap();

        let credentials = store.credentials(&registered.email).await.unwrap().unwrap();
        assert_eq!(credentials.user_id, registered.id);
        assert_eq!(credentials.password_hash.as_phc(), "fake$correct horse");
        let events = store.outbox_events().await;
        assert_eq!(events.len(), 1);
        let event: UserAccountCreated = events[0].decode().unwrap();
        assert_eq!(event.user_id, registered.id);
        assert_eq!(event.occurred_at, datetime!(2026-11-24 10:15:00 UTC));
    }

    #[tokio::test]
    async fn registering_an_address_twice_in_any_case_is_email_taken() {
        let store = InMemoryAccounts::default();
        let clock = FixedClock::at(datetime!(2026-11-24 10:15:00 UTC));
        register_user(&store, &FakeHasher, &clock, command("bob@example.com"), None).await.unwrap();

        let again = register_user(&store, &FakeHasher, &clock, command("BOB@example.com"), None).await;

        assert!(matches!(again, Err(RegisterError::EmailTaken)), "{again:?}");
        assert_eq!(store.outbox_events().await.len(), 1, "the refused registration publishes nothing");
    }

    #[tokio::test]
    async fn a_registration_the_hasher_sheds_is_overloaded_and_stores_nothing() {
        let store = InMemoryAccounts::default();
        let clock = FixedClock::at(datetime!(2026-11-24 10:15:00 UTC));

        let outcome = register_user(&store, &OverloadedHasher, &clock, command("bob@example.com"), None).await;

        assert!(matches!(outcome, Err(RegisterError::Hashing(HashingError::Overloaded))), "{outcome:?}");
        let email = EmailAddress::parse("bob@example.com").unwrap();
        assert!(store.credentials(&email).await.unwrap().is_none());
        assert!(store.outbox_events().await.is_empty());
    }
}
