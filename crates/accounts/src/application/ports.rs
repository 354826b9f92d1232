//! Ports of the accounts context: what its use cases need from the outside world.

use std::future::Future;
use std::time::Duration;

use taskdeck_kernel::{EmailAddress, IdempotencyClaim, RecordedAnswer, StoreError, UserId};
use thiserror::Error;
use time::OffsetDateTime;

use crate::domain::{
    LoginThrottle, PasswordHash, PresentedToken, RefreshDigest, Session, SessionId, ThrottleKey, User, UserAgent,
};

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

    /// Removes an erased account and stores the events it recorded. Its email address
    /// can be registered again afterwards.
    ///
    /// # Errors
    /// `StoreError::Conflict` when the stored version is no longer the one the account
    /// was loaded at (or it is gone); `Backend` on a storage failure.
    fn remove(&mut self, user: &mut User) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Revokes, at `now`, every live session of `user` but `except`; returns the ids of
    /// the sessions it revoked.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn revoke_sessions_of(
        &mut self,
        user: UserId,
        except: Option<SessionId>,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<SessionId>, StoreError>> + Send;

    /// Stores a newly opened session with its live refresh token.
    ///
    /// # Errors
    /// `StoreError::Conflict` if the id is taken, `Backend` on a storage failure.
    fn add_session(&mut self, session: &mut Session) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The session that issued the refresh token with this digest, and whether it is
    /// the session's live token or one a refresh spent. The session stays locked until
    /// the unit of work ends, so two refreshes with one token run one after the other.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure; an unknown digest is `Ok(None)`.
    fn session_by_refresh_token(
        &mut self,
        digest: &RefreshDigest,
    ) -> impl Future<Output = Result<Option<(Session, PresentedToken)>, StoreError>> + Send;

    /// Loads a session, revoked or not.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure; an unknown session is `Ok(None)`.
    fn session(&mut self, id: SessionId) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Stores the changes of a loaded session: its live refresh token, the tokens it
    /// spent, its last use and its revocation.
    ///
    /// # Errors
    /// `StoreError::Conflict` when the stored version is no longer the one the session
    /// was loaded at; `Backend` on a storage failure.
    fn save_session(&mut self, session: &mut Session) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The failed logins counted for `key`; a new throttle (version 0) when none are.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn login_throttle(&mut self, key: &ThrottleKey) -> impl Future<Output = Result<LoginThrottle, StoreError>> + Send;

    /// Stores a throttle's count.
    ///
    /// # Errors
    /// `StoreError::Conflict` when the stored version is no longer the one the throttle
    /// was loaded at (for a new one: when another attempt stored it first), so that
    /// concurrent attempts are counted one after the other; `Backend` otherwise.
    fn save_login_throttle(
        &mut self,
        throttle: &mut LoginThrottle,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes the throttles whose window started before `cutoff`: they count nothing
    /// any more. Returns how many it removed.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn forget_login_throttles_started_before(
        &mut self,
        cutoff: OffsetDateTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Writes the answer of an idempotent request beside the effect it describes, so
    /// both are committed or neither is.
    ///
    /// # Errors
    /// `StoreError::Conflict` when the claim no longer holds its key (its lease ran out
    /// and another request took it over); `Backend` on a storage failure.
    fn record_answer(
        &mut self,
        claim: &IdempotencyClaim,
        answer: &RecordedAnswer,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Makes every change of this unit of work durable, atomically.
    ///
    /// # Errors
    /// `StoreError::Backend` when the commit fails; nothing is stored then.
    fn commit(self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A password could not be hashed or checked (not "wrong password": that is `Ok(false)`).
#[derive(Debug, Error)]
pub enum HashingError {
    /// The scheme failed, or the stored hash is unreadable: a fault.
    #[error("password hashing failed: {0}")]
    Failed(String),
    /// Too many hashes are waiting already. The request is refused at once rather than
    /// queued behind work it would wait for past its timeout; trying again shortly is
    /// the answer, so this is no fault.
    #[error("too many passwords are waiting to be hashed")]
    Overloaded,
}

/// Slow, salted password hashing. Implementations keep the work off the async workers.
pub trait PasswordHasher: Send + Sync + 'static {
    /// Hashes a new password with a fresh salt.
    ///
    /// # Errors
    /// `Failed` when the scheme fails; `Overloaded` when the hasher sheds the work.
    fn hash(
        &self,
        password: crate::domain::PlainPassword,
    ) -> impl Future<Output = Result<PasswordHash, HashingError>> + Send;

    /// Checks a candidate against a stored hash. With no hash (unknown account) it MUST
    /// still spend the time of one verification and answer `false`, so response times
    /// do not reveal which addresses are registered.
    ///
    /// # Errors
    /// `Failed` when the stored hash is unreadable or the scheme fails; `Overloaded`
    /// when the hasher sheds the work.
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

/// Issues bearer access tokens for a user's session.
pub trait TokenIssuer: Send + Sync + 'static {
    /// An access token naming `user` and `session`.
    ///
    /// # Errors
    /// `TokenError` when signing fails.
    fn issue(&self, user: UserId, session: SessionId) -> Result<AccessToken, TokenError>;
}

/// A refresh token as the client receives it, and the digest it is stored as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedRefreshToken {
    pub token: String,
    pub digest: RefreshDigest,
}

/// Makes opaque refresh tokens and recognises presented ones.
pub trait RefreshTokens: Send + Sync + 'static {
    /// A fresh token of at least 256 random bits.
    ///
    /// # Errors
    /// `TokenError` when no randomness is available.
    fn mint(&self) -> Result<IssuedRefreshToken, TokenError>;

    /// The digest a presented token is stored under; `None` when the text cannot be a
    /// token of ours at all.
    fn digest(&self, presented: &str) -> Option<RefreshDigest>;

    /// How long a refresh token is valid after it is issued.
    fn lifetime(&self) -> Duration;
}

/// What a login or a refresh grants: an access token and the session's new refresh
/// token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub session: SessionId,
    pub access: AccessToken,
    pub refresh_token: String,
    pub refresh_expires_in_seconds: u64,
}

/// A session as listed to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    pub id: SessionId,
    pub created_at: OffsetDateTime,
    pub last_used_at: OffsetDateTime,
    pub user_agent: Option<UserAgent>,
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

    /// The user's sessions that are neither revoked nor past their refresh token's
    /// expiry at `now`, newest first.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn sessions_of(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<SessionView>, StoreError>> + Send;

    /// The user of a session that is not revoked; `None` for a revoked or unknown one.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn live_session_owner(&self, id: SessionId) -> impl Future<Output = Result<Option<UserId>, StoreError>> + Send;

    /// The sessions revoked at or after `since`, for instances that cache live sessions.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn sessions_revoked_since(
        &self,
        since: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<SessionId>, StoreError>> + Send;
}
