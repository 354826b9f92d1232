//! Use case: someone signs in with email and password; a session opens and grants an
//! access token and a refresh token. The address's login throttle is asked first,
//! before any password is hashed.

use std::time::Duration;

use taskdeck_kernel::{Clock, ConflictAware, EmailAddress, StoreError, UserId, retry_on_conflict};
use thiserror::Error;

use super::ports::{
    AccountsStore, AccountsTransaction, Grant, HashingError, PasswordHasher, RefreshTokens, TokenError, TokenIssuer,
};
use crate::domain::{Admission, LoginThrottle, Session, SessionId, ThrottleKey, UserAgent, WINDOW};

/// Credentials as the client sent them: login does not apply the registration rules,
/// anything that does not match an account is simply wrong.
#[derive(Debug, Clone)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// The client's `User-Agent`, shown in the session list.
    pub user_agent: Option<String>,
}

/// What issues a session's tokens.
#[derive(Debug, Clone, Copy)]
pub struct SessionTokens<'a, T, R> {
    pub access: &'a T,
    pub refresh: &'a R,
}

/// Why credentials were refused. The client is told neither (the answers are alike);
/// the log is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No account has this address, or it is no address at all.
    UnknownAccount,
    /// The account exists and the password is not its own.
    WrongPassword { account: UserId },
}

#[derive(Debug, Error)]
pub enum LoginError {
    /// Unknown address or wrong password; deliberately indistinguishable to the client.
    #[error("invalid email or password")]
    InvalidCredentials(Refusal),
    /// Too many failed logins for this address lately (known or not): no password is
    /// checked until `retry_after` has passed.
    #[error("too many failed logins for this address; retry in {} s", retry_after.as_secs())]
    Throttled { retry_after: Duration },
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ConflictAware for LoginError {
    fn is_conflict(&self) -> bool {
        matches!(self, Self::Store(StoreError::Conflict))
    }
}

/// Checks the credentials, opens a session and grants its first tokens.
///
/// # Errors
/// `Throttled` while the address's throttle is closed, whatever the password;
/// `InvalidCredentials` for an unknown address or a wrong password, after the same
/// amount of hashing work in both cases; `Hashing(Overloaded)` when the hasher sheds
/// the check, which then does not count as a failed login.
pub async fn log_in<T: TokenIssuer, R: RefreshTokens>(
    store: &impl AccountsStore,
    hasher: &impl PasswordHasher,
    tokens: SessionTokens<'_, T, R>,
    clock: &dyn Clock,
    request: LoginRequest,
) -> Result<Grant, LoginError> {
    let key = ThrottleKey::for_login(&request.email);
    let admission = admit(store, clock, key).await?;
    // Looked up under the rules stored addresses are held to (v1's), not the stricter
    // ones of registration: every account v1 accepted stays reachable.
    let credentials = match EmailAddress::restore(&request.email) {
        Ok(email) => store.credentials(&email).await?,
        Err(_) => None,
    };
    let (user_id, hash) = match credentials {
        Some(found) => (Some(found.user_id), Some(found.password_hash)),
        None => (None, None),
    };
    let matches = match hasher.verify(request.password, hash).await {
        Ok(matches) => matches,
        Err(HashingError::Overloaded) => {
            forget_unchecked_attempt(store, key, admission).await?;
            return Err(HashingError::Overloaded.into());
        }
        Err(error) => return Err(error.into()),
    };
    let user_id = match (user_id, matches) {
        (Some(user_id), true) => user_id,
        (Some(account), false) => return Err(LoginError::InvalidCredentials(Refusal::WrongPassword { account })),
        (None, _) => return Err(LoginError::InvalidCredentials(Refusal::UnknownAccount)),
    };
    let user_agent = request.user_agent.as_deref().and_then(UserAgent::parse);
    open_session(store, tokens, clock, user_id, user_agent, (key, admission)).await
}

/// Counts the attempt as failed in its own unit of work, committed before the password
/// is checked, so that every instance sees it at once.
async fn admit(store: &impl AccountsStore, clock: &dyn Clock, key: ThrottleKey) -> Result<Admission, LoginError> {
    retry_on_conflict(|| async {
        let now = clock.now();
        let mut transaction = store.begin().await?;
        let mut throttle = transaction.login_throttle(&key).await?;
        if throttle.state().version == 0 {
            // A new address to count: a good moment to forget the ones whose windows
            // have passed, so that a stream of made-up addresses cannot pile up.
            transaction.forget_login_throttles_started_before(now - WINDOW).await?;
        }
        let admitted = throttle.admit(now);
        if let Ok(admission) = admitted {
            transaction.save_login_throttle(&mut throttle).await?;
            transaction.commit().await?;
            return Ok(admission);
        }
        admitted.map_err(|throttled| LoginError::Throttled { retry_after: throttled.retry_after })
    })
    .await
}

/// Gives an attempt whose password was never checked back to the throttle.
async fn forget_unchecked_attempt(
    store: &impl AccountsStore,
    key: ThrottleKey,
    admission: Admission,
) -> Result<(), LoginError> {
    retry_on_conflict(|| async {
        let mut transaction = store.begin().await?;
        let mut throttle = transaction.login_throttle(&key).await?;
        // Gone only if its window passed meanwhile: nothing to give back.
        if throttle.state().version > 0 {
            throttle.not_checked(admission);
            transaction.save_login_throttle(&mut throttle).await?;
            transaction.commit().await?;
        }
        Ok::<_, LoginError>(())
    })
    .await
}

/// Opens a session for `user` and grants its first tokens; the attempt that proved
/// the password was no failure, so it is given back to the throttle in the same unit.
async fn open_session<T: TokenIssuer, R: RefreshTokens>(
    store: &impl AccountsStore,
    tokens: SessionTokens<'_, T, R>,
    clock: &dyn Clock,
    user: UserId,
    user_agent: Option<UserAgent>,
    (key, admission): (ThrottleKey, Admission),
) -> Result<Grant, LoginError> {
    let refresh = tokens.refresh.mint()?;
    let lifetime = tokens.refresh.lifetime();
    let session = Session::open(SessionId::generate(), user, user_agent, refresh.digest, clock.now(), lifetime);
    let session = retry_on_conflict(|| async {
        let mut session = session.clone();
        let mut transaction = store.begin().await?;
        let mut throttle: LoginThrottle = transaction.login_throttle(&key).await?;
        // Gone only if its window passed while the password was checked: nothing to give back.
        if throttle.state().version > 0 {
            throttle.succeeded(admission);
            transaction.save_login_throttle(&mut throttle).await?;
        }
        transaction.add_session(&mut session).await?;
        transaction.commit().await?;
        Ok::<_, LoginError>(session)
    })
    .await?;
    Ok(Grant {
        session: session.id(),
        access: tokens.access.issue(user, session.id())?,
        refresh_token: refresh.token,
        refresh_expires_in_seconds: lifetime.as_secs(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::{AccountQueries, RegisterUser, register_user};
    use crate::domain::PlainPassword;
    use crate::testing::{FakeHasher, FakeRefreshTokens, FakeTokens, InMemoryAccounts, OverloadedHasher};
    use taskdeck_kernel::FixedClock;
    use time::macros::datetime;

    const TOKENS: SessionTokens<'static, FakeTokens, FakeRefreshTokens> =
        SessionTokens { access: &FakeTokens, refresh: &FakeRefreshTokens };

    fn clock() -> FixedClock {
        FixedClock::at(datetime!(2026-11-24 10:15:00 UTC))
    }

    async fn store_with_bob() -> (InMemoryAccounts, UserId) {
        let store = InMemoryAccounts::default();
        let clock = clock();
        let command = RegisterUser {
            email: EmailAddress::parse("bob@example.com").unwrap(),
            password: PlainPassword::new("correct horse").unwrap(),
        };
        let user = register_user(&store, &FakeHasher, &clock, command, None).await.unwrap();
        (store, user.id)
    }

    fn request(email: &str, password: &str) -> LoginRequest {
        LoginRequest { email: email.into(), password: password.into(), user_agent: Some("curl/8.5".into()) }
    }

    #[tokio::test]
    async fn the_right_password_opens_a_session_and_grants_its_tokens() {
        let (store, id) = store_with_bob().await;
        let grant =
            log_in(&store, &FakeHasher, TOKENS, &clock(), request("Bob@Example.com", "correct horse")).await.unwrap();
        assert_eq!(grant.access.token, format!("token-for-{id}-in-{}", grant.session));
        assert_eq!(grant.refresh_expires_in_seconds, FakeRefreshTokens::LIFETIME.as_secs());
        let sessions = store.sessions_of(id, clock().now()).await.unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0].id, grant.session);
        assert_eq!(sessions[0].user_agent.as_ref().map(|agent| agent.as_str()), Some("curl/8.5"));
    }

    #[tokio::test]
    async fn every_login_opens_a_session_of_its_own() {
        let (store, id) = store_with_bob().await;
        let clock = clock();
        let first = log_in(&store, &FakeHasher, TOKENS, &clock, request("bob@example.com", "correct horse"));
        let first = first.await.unwrap();
        let second = log_in(&store, &FakeHasher, TOKENS, &clock, request("bob@example.com", "correct horse"));
        let second = second.await.unwrap();
        assert_ne!(first.session, second.session);
        assert_ne!(first.refresh_token, second.refresh_token);
        assert_eq!(store.sessions_of(id, clock.now()).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_wrong_password_and_an_unknown_address_are_the_same_error_with_the_reason_for_the_log() {
        let (store, bob) = store_with_bob().await;
        let wrong_password = Refusal::WrongPassword { account: bob };
        for (email, password, refusal) in [
            ("bob@example.com", "wrong horse", wrong_password),
            ("alice@example.com", "correct horse", Refusal::UnknownAccount),
            ("not an email", "correct horse", Refusal::UnknownAccount),
            ("bob@example.com", "", wrong_password),
        ] {
            let outcome = log_in(&store, &FakeHasher, TOKENS, &clock(), request(email, password)).await;
            let Err(error @ LoginError::InvalidCredentials(reason)) = outcome else { panic!("{email}: {outcome:?}") };
            assert_eq!(reason, refusal, "{email}");
            assert_eq!(error.to_string(), "invalid email or password", "the message names no reason");
        }
        assert!(store.all_sessions().is_empty(), "a refused login opens no session");
    }

    #[tokio::test]
    async fn a_login_the_hasher_sheds_is_overloaded_and_not_counted_as_a_failure() {
        let (store, _) = store_with_bob().await;
        let clock = clock();
        for _ in 0..10 {
            let outcome = log_in(&store, &OverloadedHasher, TOKENS, &clock, request("bob@example.com", "guess")).await;
            assert!(matches!(outcome, Err(LoginError::Hashing(HashingError::Overloaded))), "{outcome:?}");
        }
        for _ in 0..5 {
            let outcome = log_in(&store, &FakeHasher, TOKENS, &clock, request("bob@example.com", "guess")).await;
            assert!(matches!(outcome, Err(LoginError::InvalidCredentials(_))), "{outcome:?}");
        }
        let outcome = log_in(&store, &FakeHasher, TOKENS, &clock, request("bob@example.com", "correct horse")).await;
        assert!(matches!(outcome, Err(LoginError::Throttled { .. })), "five real failures still close it: {outcome:?}");
        assert!(store.all_sessions().is_empty());
    }

    /// `FakeHasher` that counts the passwords it checks.
    #[derive(Default)]
    struct CountingHasher(std::sync::atomic::AtomicUsize);

    impl CountingHasher {
        fn verified(&self) -> usize {
            self.0.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    impl PasswordHasher for CountingHasher {
        async fn hash(&self, password: PlainPassword) -> Result<crate::domain::PasswordHash, HashingError> {
            FakeHasher.hash(password).await
        }

        async fn verify(
            &self,
            candidate: String,
            hash: Option<crate::domain::PasswordHash>,
        ) -> Result<bool, HashingError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            FakeHasher.verify(candidate, hash).await
        }
    }

    #[tokio::test]
    async fn five_failures_throttle_the_address_for_the_rest_of_the_window_without_checking_passwords() {
        let (store, _) = store_with_bob().await;
        let clock = clock();
        let hasher = CountingHasher::default();
        for _ in 0..5 {
            let outcome = log_in(&store, &hasher, TOKENS, &clock, request("bob@example.com", "guess")).await;
            assert!(matches!(outcome, Err(LoginError::InvalidCredentials(_))), "{outcome:?}");
            clock.advance(time::Duration::minutes(1));
        }
        assert_eq!(hasher.verified(), 5);

        let outcome = log_in(&store, &hasher, TOKENS, &clock, request("Bob@Example.com", "correct horse")).await;
        let Err(LoginError::Throttled { retry_after }) = outcome else { panic!("not throttled: {outcome:?}") };
        assert_eq!(retry_after, WINDOW - Duration::from_secs(5 * 60), "until 15 minutes after the first failure");
        assert_eq!(hasher.verified(), 5, "a throttled attempt checks no password");
        assert!(store.all_sessions().is_empty());

        clock.advance(time::Duration::try_from(retry_after).unwrap());
        log_in(&store, &hasher, TOKENS, &clock, request("bob@example.com", "correct horse")).await.unwrap();
    }

    #[tokio::test]
    async fn an_unknown_address_is_throttled_like_a_known_one_and_other_addresses_are_not() {
        let (store, _) = store_with_bob().await;
        for _ in 0..5 {
            let outcome = log_in(&store, &FakeHasher, TOKENS, &clock(), request("nobody@example.com", "guess")).await;
            assert!(matches!(outcome, Err(LoginError::InvalidCredentials(_))), "{outcome:?}");
        }
        let outcome = log_in(&store, &FakeHasher, TOKENS, &clock(), request("nobody@example.com", "guess")).await;
        assert!(matches!(outcome, Err(LoginError::Throttled { .. })), "{outcome:?}");
        log_in(&store, &FakeHasher, TOKENS, &clock(), request("bob@example.com", "correct horse")).await.unwrap();
    }

    #[tokio::test]
    async fn a_successful_login_is_not_counted_as_a_failure() {
        let (store, _) = store_with_bob().await;
        for _ in 0..4 {
            let _ = log_in(&store, &FakeHasher, TOKENS, &clock(), request("bob@example.com", "guess")).await;
        }
        for _ in 0..3 {
            log_in(&store, &FakeHasher, TOKENS, &clock(), request("bob@example.com", "correct horse")).await.unwrap();
        }
        let fifth = log_in(&store, &FakeHasher, TOKENS, &clock(), request("bob@example.com", "guess")).await;
        assert!(matches!(fifth, Err(LoginError::InvalidCredentials(_))), "{fifth:?}");
        let sixth = log_in(&store, &FakeHasher, TOKENS, &clock(), request("bob@example.com", "correct horse")).await;
        assert!(matches!(sixth, Err(LoginError::Throttled { .. })), "{sixth:?}");
    }
}
