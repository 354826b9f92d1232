//! Which sessions are live, kept in memory so that checking a token costs no database
//! round trip: every route of every context asks this on every request.
//!
//! A session is looked up once, then remembered: as live (with its user) until it is
//! revoked, or as dead until its access tokens would have expired anyway. Revocations
//! reach every instance through [`LiveSessions::watch`], which asks storage twice a
//! second for the sessions revoked lately: a session revoked on another instance is
//! refused here within a second. One revoked here is refused at once.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use taskdeck_accounts::application::AccountQueries;
use taskdeck_accounts::domain::SessionId;
use taskdeck_kernel::{Clock, StoreError, UserId};
use taskdeck_platform::{BoxFuture, SessionCheck};
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

/// How often the sessions revoked by other instances are fetched.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How far back each fetch looks: wide enough for the clocks of two instances to
/// differ and for a fetch to be late, since each revocation needs to be seen once.
const LOOK_BACK: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct Known {
    /// Sessions seen live, with their user and when that was checked.
    live: HashMap<Uuid, (UserId, OffsetDateTime)>,
    /// Sessions seen revoked or unknown, with when they may be forgotten.
    dead: HashMap<Uuid, OffsetDateTime>,
}

/// The live sessions of one instance; see the module documentation.
pub struct LiveSessions<Q> {
    queries: Q,
    clock: Arc<dyn Clock>,
    /// How long an access token lives: a dead session is remembered that long (its
    /// tokens are refused by their expiry after that), a live one re-checked as often.
    token_lifetime: Duration,
    known: RwLock<Known>,
}

impl<Q> std::fmt::Debug for LiveSessions<Q> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSessions").field("token_lifetime", &self.token_lifetime).finish_non_exhaustive()
    }
}

impl<Q: AccountQueries> LiveSessions<Q> {
    #[must_use]
    pub fn new(queries: Q, clock: Arc<dyn Clock>, token_lifetime: Duration) -> Self {
        Self { queries, clock, token_lifetime, known: RwLock::default() }
    }

    fn remember_dead(&self, session: Uuid) {
        let until = self.clock.now() + self.token_lifetime + LOOK_BACK;
        let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
        known.live.remove(&session);
        known.dead.insert(session, until);
    }

    /// Forgets the sessions revoked since the last look, and what is past remembering.
    ///
    /// # Errors
    /// `StoreError` when storage cannot be reached (the next pass tries again).
    pub async fn catch_up(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let revoked = self.queries.sessions_revoked_since(now - LOOK_BACK).await?;
        let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
        for session in &revoked {
            known.live.remove(&session.as_uuid());
            known.dead.insert(session.as_uuid(), now + self.token_lifetime + LOOK_BACK);
        }
        let recheck_before = now - self.token_lifetime;
        known.live.retain(|_, (_, checked)| *checked > recheck_before);
        known.dead.retain(|_, until| *until > now);
        Ok(revoked.len())
    }

    /// Keeps up with the sessions other instances revoke, until `shutdown` turns true.
    pub async fn watch(&self, mut shutdown: watch::Receiver<bool>) {
        let mut failing = false;
        while !*shutdown.borrow() {
            match self.catch_up().await {
                Ok(_) => failing = false,
                Err(error) if !failing => {
                    failing = true;
                    tracing::error!(%error, "cannot fetch revoked sessions; retrying");
                }
                Err(_) => {}
            }
            tokio::select! {
                () = tokio::time::sleep(POLL_INTERVAL) => {}
                changed = shutdown.changed() => if changed.is_err() { break },
            }
        }
    }
}

impl<Q: AccountQueries> SessionCheck for LiveSessions<Q> {
    fn known(&self, session: Uuid, user: UserId) -> Option<bool> {
        let known = self.known.read().unwrap_or_else(PoisonError::into_inner);
        if known.dead.contains_key(&session) {
            return Some(false);
        }
        known.live.get(&session).map(|(owner, _)| *owner == user)
    }

    fn look_up(&self, session: Uuid, user: UserId) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            match self.queries.live_session_owner(SessionId::from_uuid(session)).await? {
                Some(owner) => {
                    let now = self.clock.now();
                    let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
                    if !known.dead.contains_key(&session) {
                        known.live.insert(session, (owner, now));
                    }
                    Ok(owner == user)
                }
                None => {
                    self.remember_dead(session);
                    Ok(false)
                }
            }
        })
    }

    fn forget(&self, session: Uuid) {
        self.remember_dead(session);
    }
}

#[cfg(test)]
mod tests {
    use taskdeck_accounts::application::{
        LoginRequest, RegisterUser, SessionTokens, end_session, log_in, register_user,
    };
    use taskdeck_accounts::domain::PlainPassword;
    use taskdeck_accounts::testing::{FakeHasher, FakeRefreshTokens, FakeTokens, InMemoryAccounts};
    use taskdeck_kernel::{EmailAddress, SystemClock};

    use super::*;

    async fn signed_in(store: &InMemoryAccounts) -> (UserId, Uuid) {
        let command = RegisterUser {
            email: EmailAddress::parse("bob@example.com").unwrap(),
            password: PlainPassword::new("password!").unwrap(),
        };
        let user = register_user(store, &FakeHasher, &SystemClock, command, None).await.unwrap().id;
        let tokens = SessionTokens { access: &FakeTokens, refresh: &FakeRefreshTokens };
        let request = LoginRequest { email: "bob@example.com".into(), password: "password!".into(), user_agent: None };
        (user, log_in(store, &FakeHasher, tokens, &SystemClock, request).await.unwrap().session.as_uuid())
    }

    fn sessions(store: &InMemoryAccounts) -> LiveSessions<InMemoryAccounts> {
        LiveSessions::new(store.clone(), Arc::new(SystemClock), Duration::from_secs(900))
    }

    #[tokio::test]
    async fn a_live_session_is_looked_up_once_then_known() {
        let store = InMemoryAccounts::default();
        let (user, session) = signed_in(&store).await;
        let live = sessions(&store);
        assert_eq!(live.known(session, user), None);
        assert!(live.look_up(session, user).await.unwrap());
        assert_eq!(live.known(session, user), Some(true));
        assert_eq!(live.known(session, UserId::generate()), Some(false), "someone else's session");
    }

    #[tokio::test]
    async fn a_session_nobody_opened_is_remembered_as_dead() {
        let store = InMemoryAccounts::default();
        let live = sessions(&store);
        let (user, session) = (UserId::generate(), Uuid::new_v4());
        assert!(!live.look_up(session, user).await.unwrap());
        assert_eq!(live.known(session, user), Some(false));
    }

    #[tokio::test]
    async fn a_revocation_by_another_instance_is_picked_up_by_catching_up() {
        let store = InMemoryAccounts::default();
        let (user, session) = signed_in(&store).await;
        let here = sessions(&store);
        assert!(here.look_up(session, user).await.unwrap());

        // Another instance: same storage, its own memory.
        end_session(&store, &SystemClock, user, SessionId::from_uuid(session)).await.unwrap();
        assert_eq!(here.known(session, user), Some(true), "not seen yet");
        assert_eq!(here.catch_up().await.unwrap(), 1);
        assert_eq!(here.known(session, user), Some(false));
    }

    #[tokio::test]
    async fn a_session_revoked_here_is_refused_at_once() {
        let store = InMemoryAccounts::default();
        let (user, session) = signed_in(&store).await;
        let live = sessions(&store);
        assert!(live.look_up(session, user).await.unwrap());
        live.forget(session);
        assert_eq!(live.known(session, user), Some(false));
    }
}
