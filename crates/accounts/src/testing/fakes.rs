//! Fakes: an in-memory `AccountsStore`, a transparent hasher and a token issuer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use taskdeck_kernel::testing::OutboxProbe;
use taskdeck_kernel::{
    EmailAddress, EventEnvelope, IdempotencyClaim, RecordedAnswer, RecordedEvent, StoreError, UserId,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::application::{
    AccessToken, AccountQueries, AccountsStore, AccountsTransaction, Credentials, HashingError, IssuedRefreshToken,
    PasswordHasher, RefreshTokens, SessionView, TokenError, TokenIssuer, UserProfile, UserStoreError,
};
use crate::domain::{
    LoginThrottle, LoginThrottleState, PasswordHash, PlainPassword, PresentedToken, RefreshDigest, Session, SessionId,
    SessionState, ThrottleKey, User,
};

#[derive(Debug, Clone)]
struct StoredUser {
    email: EmailAddress,
    password_hash: PasswordHash,
    version: i64,
}

#[derive(Debug, Default)]
struct State {
    users: HashMap<UserId, StoredUser>,
    sessions: HashMap<SessionId, SessionState>,
    /// Every refresh token issued, with its session and whether a refresh spent it.
    refresh_tokens: HashMap<RefreshDigest, (SessionId, bool)>,
    throttles: HashMap<ThrottleKey, LoginThrottleState>,
    outbox: Vec<EventEnvelope>,
    answers: Vec<(IdempotencyClaim, RecordedAnswer)>,
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

    /// The answers of idempotent requests committed so far, oldest first.
    #[must_use]
    pub fn recorded_answers(&self) -> Vec<(IdempotencyClaim, RecordedAnswer)> {
        self.lock().answers.clone()
    }

    /// Every stored session, revoked or not.
    #[must_use]
    pub fn all_sessions(&self) -> Vec<SessionState> {
        self.lock().sessions.values().cloned().collect()
    }
}

impl AccountsStore for InMemoryAccounts {
    type Transaction = InMemoryAccountsTransaction;

    async fn begin(&self) -> Result<Self::Transaction, StoreError> {
        Ok(InMemoryAccountsTransaction {
            store: self.clone(),
            staged: HashMap::new(),
            staged_sessions: HashMap::new(),
            staged_throttles: HashMap::new(),
            forget_throttles_before: None,
            removed: Vec::new(),
            events: Vec::new(),
            answers: Vec::new(),
        })
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

    async fn sessions_of(&self, user: UserId, now: OffsetDateTime) -> Result<Vec<SessionView>, StoreError> {
        let mut live: Vec<SessionState> = self
            .lock()
            .sessions
            .values()
            .filter(|session| session.user == user && session.revoked_at.is_none() && session.refresh_expires_at > now)
            .cloned()
            .collect();
        live.sort_by_key(|session| std::cmp::Reverse((session.created_at, session.id)));
        Ok(live
            .into_iter()
            .map(|session| SessionView {
                id: session.id,
                created_at: session.created_at,
                last_used_at: session.last_used_at,
                user_agent: session.user_agent,
            })
            .collect())
    }

    async fn live_session_owner(&self, id: SessionId) -> Result<Option<UserId>, StoreError> {
        Ok(self.lock().sessions.get(&id).filter(|session| session.revoked_at.is_none()).map(|session| session.user))
    }

    async fn sessions_revoked_since(&self, since: OffsetDateTime) -> Result<Vec<SessionId>, StoreError> {
        Ok(self
            .lock()
            .sessions
            .values()
            .filter(|session| session.revoked_at.is_some_and(|revoked| revoked >= since))
            .map(|session| session.id)
            .collect())
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
    /// New state per session, the version it must still have (None = new), and the
    /// refresh tokens it spent.
    staged_sessions: HashMap<SessionId, (SessionState, Option<i64>, Vec<RefreshDigest>)>,
    /// New state per throttle and the version it must still have (0 = not stored).
    staged_throttles: HashMap<ThrottleKey, (LoginThrottleState, i64)>,
    forget_throttles_before: Option<OffsetDateTime>,
    /// Accounts to remove, with the version they must still have.
    removed: Vec<(UserId, i64)>,
    events: Vec<EventEnvelope>,
    answers: Vec<(IdempotencyClaim, RecordedAnswer)>,
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

    async fn remove(&mut self, user: &mut User) -> Result<(), StoreError> {
        for event in user.take_events() {
            self.events.push(event.to_envelope().map_err(StoreError::backend)?);
        }
        self.staged.remove(&user.id());
        self.removed.push((user.id(), user.version()));
        Ok(())
    }

    async fn revoke_sessions_of(
        &mut self,
        user: UserId,
        except: Option<SessionId>,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionId>, StoreError> {
        let live: Vec<SessionState> = self
            .store
            .lock()
            .sessions
            .values()
            .filter(|session| session.user == user && session.revoked_at.is_none() && Some(session.id) != except)
            .cloned()
            .collect();
        let mut revoked = Vec::new();
        for state in live {
            let mut session = Session::restore(state);
            session.revoke(now);
            revoked.push(session.id());
            self.save_session(&mut session).await?;
        }
        Ok(revoked)
    }

    async fn add_session(&mut self, session: &mut Session) -> Result<(), StoreError> {
        if self.store.lock().sessions.contains_key(&session.id()) || self.staged_sessions.contains_key(&session.id()) {
            return Err(StoreError::Conflict);
        }
        session.mark_saved();
        self.staged_sessions.insert(session.id(), (session.state().clone(), None, Vec::new()));
        Ok(())
    }

    async fn session_by_refresh_token(
        &mut self,
        digest: &RefreshDigest,
    ) -> Result<Option<(Session, PresentedToken)>, StoreError> {
        let state = self.store.lock();
        let Some((id, spent)) = state.refresh_tokens.get(digest) else { return Ok(None) };
        let presented = if *spent { PresentedToken::Spent } else { PresentedToken::Live };
        Ok(state.sessions.get(id).map(|stored| (Session::restore(stored.clone()), presented)))
    }

    async fn session(&mut self, id: SessionId) -> Result<Option<Session>, StoreError> {
        let stored = match self.staged_sessions.get(&id) {
            Some((stored, _, _)) => Some(stored.clone()),
            None => self.store.lock().sessions.get(&id).cloned(),
        };
        Ok(stored.map(Session::restore))
    }

    async fn save_session(&mut self, session: &mut Session) -> Result<(), StoreError> {
        let expected = session.state().version;
        let spent = session.spent_tokens().to_vec();
        session.mark_saved();
        self.staged_sessions.insert(session.id(), (session.state().clone(), Some(expected), spent));
        Ok(())
    }

    async fn login_throttle(&mut self, key: &ThrottleKey) -> Result<LoginThrottle, StoreError> {
        let stored = match self.staged_throttles.get(key) {
            Some((stored, _)) => Some(stored.clone()),
            None => self.store.lock().throttles.get(key).cloned(),
        };
        Ok(stored.map_or_else(|| LoginThrottle::new(*key), LoginThrottle::restore))
    }

    async fn save_login_throttle(&mut self, throttle: &mut LoginThrottle) -> Result<(), StoreError> {
        let expected = throttle.state().version;
        throttle.mark_saved();
        let state = throttle.state().clone();
        self.staged_throttles
            .entry(state.key)
            .and_modify(|staged| staged.0 = state.clone())
            .or_insert((state, expected));
        Ok(())
    }

    async fn forget_login_throttles_started_before(&mut self, cutoff: OffsetDateTime) -> Result<u64, StoreError> {
        self.forget_throttles_before = Some(cutoff);
        let state = self.store.lock();
        let expired = state.throttles.values().filter(|throttle| started_before(throttle, cutoff)).count();
        Ok(u64::try_from(expired).unwrap_or(u64::MAX))
    }

    async fn record_answer(&mut self, claim: &IdempotencyClaim, answer: &RecordedAnswer) -> Result<(), StoreError> {
        self.answers.push((claim.clone(), answer.clone()));
        Ok(())
    }

    async fn commit(self) -> Result<(), StoreError> {
        let mut state = self.store.lock();
        for (key, (_, expected)) in &self.staged_throttles {
            if state.throttles.get(key).map_or(0, |throttle| throttle.version) != *expected {
                return Err(StoreError::Conflict);
            }
        }
        for (id, (_, expected, _)) in &self.staged_sessions {
            if state.sessions.get(id).map(|session| session.version) != *expected {
                return Err(StoreError::Conflict);
            }
        }
        for (id, expected) in &self.removed {
            if state.users.get(id).map(|user| user.version) != Some(*expected) {
                return Err(StoreError::Conflict);
            }
        }
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
        for (id, _) in self.removed {
            state.users.remove(&id);
        }
        for (id, (stored, _, spent)) in self.staged_sessions {
            for digest in spent {
                state.refresh_tokens.insert(digest, (id, true));
            }
            state.refresh_tokens.insert(stored.refresh, (id, false));
            state.sessions.insert(id, stored);
        }
        if let Some(cutoff) = self.forget_throttles_before {
            state.throttles.retain(|_, throttle| !started_before(throttle, cutoff));
        }
        for (key, (stored, _)) in self.staged_throttles {
            state.throttles.insert(key, stored);
        }
        state.outbox.extend(self.events);
        state.answers.extend(self.answers);
        Ok(())
    }
}

fn started_before(throttle: &LoginThrottleState, cutoff: OffsetDateTime) -> bool {
    throttle.window_started_at.is_none_or(|started| started < cutoff)
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

/// A hasher whose queue is always full: every hash and check is shed.
#[derive(Debug, Clone, Copy, Default)]
pub struct OverloadedHasher;

impl PasswordHasher for OverloadedHasher {
    async fn hash(&self, _password: PlainPassword) -> Result<PasswordHash, HashingError> {
        Err(HashingError::Overloaded)
    }

    async fn verify(&self, _candidate: String, _hash: Option<PasswordHash>) -> Result<bool, HashingError> {
        Err(HashingError::Overloaded)
    }
}

/// Issues `token-for-<user id>-in-<session id>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FakeTokens;

impl TokenIssuer for FakeTokens {
    fn issue(&self, user: UserId, session: SessionId) -> Result<AccessToken, TokenError> {
        Ok(AccessToken { token: format!("token-for-{user}-in-{session}"), expires_in_seconds: 900 })
    }
}

/// Mints `refresh-<uuid>`, whose digest is the UUID's bytes twice over.
#[derive(Debug, Clone, Copy, Default)]
pub struct FakeRefreshTokens;

impl FakeRefreshTokens {
    pub const LIFETIME: Duration = Duration::from_secs(30 * 86_400);

    fn digest_of(id: Uuid) -> RefreshDigest {
        let mut bytes = [0_u8; 32];
        bytes[..16].copy_from_slice(id.as_bytes());
        bytes[16..].copy_from_slice(id.as_bytes());
        RefreshDigest::from_bytes(bytes)
    }
}

impl RefreshTokens for FakeRefreshTokens {
    fn mint(&self) -> Result<IssuedRefreshToken, TokenError> {
        let id = Uuid::new_v4();
        Ok(IssuedRefreshToken { token: format!("refresh-{id}"), digest: Self::digest_of(id) })
    }

    fn digest(&self, presented: &str) -> Option<RefreshDigest> {
        let id = presented.strip_prefix("refresh-").and_then(|id| Uuid::parse_str(id).ok())?;
        Some(Self::digest_of(id))
    }

    fn lifetime(&self) -> Duration {
        Self::LIFETIME
    }
}
