//! Fakes: an in-memory `AccountsStore`, a transparent hasher and a token issuer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use taskdeck_kernel::testing::OutboxProbe;
use taskdeck_kernel::{EmailAddress, EventEnvelope, RecordedEvent, StoreError, UserId};

use crate::application::{
    AccessToken, AccountQueries, AccountsStore, AccountsTransaction, Credentials, HashingError, PasswordHasher,
    TokenError, TokenIssuer, UserProfile, UserStoreError,
};
use crate::domain::{PasswordHash, PlainPassword, User};

#[derive(Debug, Clone)]
struct StoredUser {
    email: EmailAddress,
    password_hash: PasswordHash,
    version: i64,
}

#[derive(Debug, Default)]
struct State {
    users: HashMap<UserId, StoredUser>,
    outbox: Vec<EventEnvelope>,
}

impl State {
    fn email_owner(&self, email: &EmailAddress) -> Option<UserId> {
        self.users.iter().find(|(_, stored)| stored.email == *email).map(|(id, _)| *id)
    }
}

/// An `AccountsStore` in memory. Transactions stage their writes and apply them on
/// commit after checking versions, as a database with optimistic locking would.
#[derive(Debug, Clone, Default)]
pub struct InMemoryAccounts {
    state: Arc<Mutex<State>>,
}

impl InMemoryAccounts {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl AccountsStore for InMemoryAccounts {
    type Transaction = InMemoryAccountsTransaction;

    async fn begin(&self) -> Result<Self::Transaction, StoreError> {
        Ok(InMemoryAccountsTransaction { store: self.clone(), staged: HashMap::new(), events: Vec::new() })
    }

    async fn credentials(&self, email: &EmailAddress) -> Result<Option<Credentials>, StoreError> {
        let state = self.lock();
        Ok(state.email_owner(email).and_then(|user_id| {
            state.users.get(&user_id).map(|stored| Credentials { user_id, password_hash: stored.password_hash.clone() })
        }))
    }
}

impl AccountQueries for InMemoryAccounts {
    async fn profile(&self, id: UserId) -> Result<Option<UserProfile>, StoreError> {
        Ok(self.lock().users.get(&id).map(|stored| UserProfile { id, email: stored.email.as_str().to_owned() }))
    }
}

impl OutboxProbe for InMemoryAccounts {
    async fn outbox_events(&self) -> Vec<EventEnvelope> {
        self.lock().outbox.clone()
    }
}

/// A unit of work of [`InMemoryAccounts`].
#[derive(Debug)]
pub struct InMemoryAccountsTransaction {
    store: InMemoryAccounts,
    /// New state per user, with the version it must still have at commit (None = new).
    staged: HashMap<UserId, (StoredUser, Option<i64>)>,
    events: Vec<EventEnvelope>,
}

impl InMemoryAccountsTransaction {
    fn email_taken_by_other(&self, email: &EmailAddress, me: UserId) -> bool {
        let staged_owner = self.staged.iter().find(|(id, (stored, _))| **id != me && stored.email == *email);
        let state = self.store.lock();
        staged_owner.is_some()
            || state.email_owner(email).is_some_and(|owner| owner != me && !self.staged.contains_key(&owner))
    }

    fn stage(&mut self, user: &mut User, expected: Option<i64>) -> Result<(), UserStoreError> {
        if self.email_taken_by_other(user.email(), user.id()) {
            return Err(UserStoreError::EmailTaken);
        }
        for event in user.take_events() {
            self.events.push(event.to_envelope().map_err(StoreError::backend)?);
        }
        user.mark_saved();
        self.staged.insert(
            user.id(),
            (
                StoredUser {
                    email: user.email().clone(),
                    password_hash: user.password_hash().clone(),
                    version: user.version(),
                },
                expected,
            ),
        );
        Ok(())
    }
}

impl AccountsTransaction for InMemoryAccountsTransaction {
    async fn user(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
        let stored = match self.staged.get(&id) {
            Some((stored, _)) => Some(stored.clone()),
            None => self.store.lock().users.get(&id).cloned(),
        };
        Ok(stored.map(|stored| User::restore(id, stored.email, stored.password_hash, stored.version)))
    }

    async fn add(&mut self, user: &mut User) -> Result<(), UserStoreError> {
        if self.store.lock().users.contains_key(&user.id()) {
            return Err(StoreError::Conflict.into());
        }
        self.stage(user, None)
    }

    async fn save(&mut self, user: &mut User) -> Result<(), UserStoreError> {
        let version = user.version();
        self.stage(user, Some(version))
    }

    async fn commit(self) -> Result<(), StoreError> {
        let mut state = self.store.lock();
        for (id, (stored, expected)) in &self.staged {
            let current = state.users.get(id).map(|user| user.version);
            if current != *expected {
                return Err(StoreError::Conflict);
            }
            if state.email_owner(&stored.email).is_some_and(|owner| owner != *id) {
                return Err(StoreError::Conflict);
            }
        }
        for (id, (stored, _)) in self.staged {
            state.users.insert(id, stored);
        }
        state.outbox.extend(self.events);
        Ok(())
    }
}

/// A hasher that "hashes" by prefixing: fast and predictable, for use-case tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct FakeHasher;

impl PasswordHasher for FakeHasher {
    async fn hash(&self, password: PlainPassword) -> Result<PasswordHash, HashingError> {
        Ok(PasswordHash::from_phc(format!("fake${}", password.expose())))
    }

    async fn verify(&self, candidate: String, hash: Option<PasswordHash>) -> Result<bool, HashingError> {
        Ok(hash.is_some_and(|hash| hash.as_phc() == format!("fake${candidate}")))
    }
}

/// Issues `token-for-<user id>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FakeTokens;

impl TokenIssuer for FakeTokens {
    fn issue(&self, user: UserId) -> Result<AccessToken, TokenError> {
        Ok(AccessToken { token: format!("token-for-{user}"), expires_in_seconds: 3600 })
    }
}
