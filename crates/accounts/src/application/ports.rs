//! Ports of the accounts context: what its use cases need from the outside world.

use std::future::Future;

use taskdeck_kernel::{EmailAddress, StoreError, UserId};
use thiserror::Error;

use crate::domain::{PasswordHash, User};

/// Errors of the user repository beyond plain storage failures.
#[derive(Debug, Error)]
pub enum UserStoreError {
    /// Another account already has this address (compared case-insensitively).
    #[error("email address is already registered")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What login needs to check a password: the account's id and its hash.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user_id: UserId,
    pub password_hash: PasswordHash,
}

/// Storage of user accounts: opens units of work and answers the login lookup.
pub trait AccountsStore: Send + Sync + 'static {
    type Transaction: AccountsTransaction;

    /// Starts a unit of work. Dropping it without `commit` discards every change.
    ///
    /// # Errors
    /// `StoreError::Backend` when storage cannot be reached.
    fn begin(&self) -> impl Future<Output = Result<Self::Transaction, StoreError>> + Send;

    /// The credentials of the account with this address (case-insensitively), if any.
    ///
    /// # Errors
    /// `StoreError::Backend` when storage cannot be reached.
    fn credentials(&self, email: &EmailAddress)
    -> impl Future<Output = Result<Option<Credentials>, StoreError>> + Send;
}

/// One unit of work on accounts: the user repository inside one transaction, plus the
/// outbox the aggregate's events go to.
pub trait AccountsTransaction: Send {
    /// Loads an account.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure; a missing account is `Ok(None)`.
    fn user(&mut self, id: UserId) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Stores a newly registered account and the events it recorded.
    ///
    /// # Errors
    /// `UserStoreError::EmailTaken` when the address belongs to another account (the
    /// adapter MUST translate its uniqueness constraint into this), `Store` otherwise.
    fn add(&mut self, user: &mut User) -> impl Future<Output = Result<(), UserStoreError>> + Send;

    /// Stores the changes of a loaded account and the events it recorded.
    ///
    /// # Errors
    /// `UserStoreError::EmailTaken` as for `add`; `Store(StoreError::Conflict)` when the
    /// stored version is no longer the one the account was loaded at.
    fn save(&mut self, user: &mut User) -> impl Future<Output = Result<(), UserStoreError>> + Send;

    /// Makes every change of this unit of work durable, atomically.
    ///
    /// # Errors
    /// `StoreError::Backend` when the commit fails; nothing is stored then.
    fn commit(self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The password hashing scheme failed (not "wrong password": that is `Ok(false)`).
#[derive(Debug, Error)]
#[error("password hashing failed: {0}")]
pub struct HashingError(pub String);

/// Slow, salted password hashing. Implementations keep the work off the async workers.
pub trait PasswordHasher: Send + Sync + 'static {
    /// Hashes a new password with a fresh salt.
    ///
    /// # Errors
    /// `HashingError` when the scheme fails.
    fn hash(
        &self,
        password: crate::domain::PlainPassword,
    ) -> impl Future<Output = Result<PasswordHash, HashingError>> + Send;

    /// Checks a candidate against a stored hash. With no hash (unknown account) it MUST
    /// still spend the time of one verification and answer `false`, so response times
    /// do not reveal which addresses are registered.
    ///
    /// # Errors
    /// `HashingError` when the stored hash is unreadable or the scheme fails.
    fn verify(
        &self,
        candidate: String,
        hash: Option<PasswordHash>,
    ) -> impl Future<Output = Result<bool, HashingError>> + Send;
}

/// A signed access token and its lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub token: String,
    pub expires_in_seconds: u64,
}

/// Signing the token failed.
#[derive(Debug, Error)]
#[error("issuing the access token failed: {0}")]
pub struct TokenError(pub String);

/// Issues bearer tokens for authenticated users.
pub trait TokenIssuer: Send + Sync + 'static {
    /// # Errors
    /// `TokenError` when signing fails.
    fn issue(&self, user: UserId) -> Result<AccessToken, TokenError>;
}

/// An account as shown to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    pub id: UserId,
    pub email: String,
}

/// The read side of accounts: answers straight from storage.
pub trait AccountQueries: Send + Sync + 'static {
    /// # Errors
    /// `StoreError::Backend` on a storage failure; an unknown account is `Ok(None)`.
    fn profile(&self, id: UserId) -> impl Future<Output = Result<Option<UserProfile>, StoreError>> + Send;
}
