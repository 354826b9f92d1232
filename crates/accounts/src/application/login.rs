//! Use case: someone signs in with email and password; a session opens and grants an
//! access token and a refresh token.

use taskdeck_kernel::{Clock, EmailAddress, StoreError, UserId};
use thiserror::Error;

use super::ports::{
    AccountsStore, AccountsTransaction, Grant, HashingError, PasswordHasher, RefreshTokens, TokenError, TokenIssuer,
};
use crate::domain::{Session, SessionId, UserAgent};

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

#[derive(Debug, Error)]
pub enum LoginError {
    /// Unknown address or wrong password; deliberately indistinguishable.
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks the credentials, opens a session and grants its first tokens.
///
/// # Errors
/// `InvalidCredentials` for an unknown address or a wrong password, after the same
/// amount of hashing work in both cases.
pub async fn log_in<T: TokenIssuer, R: RefreshTokens>(
    store: &impl AccountsStore,
    hasher: &impl PasswordHasher,
    tokens: SessionTokens<'_, T, R>,
    clock: &dyn Clock,
    request: LoginRequest,
) -> Result<Grant, LoginError> {
    let credentials = match EmailAddress::parse(&request.email) {
        Ok(email) => store.credentials(&email).await?,
        Err(_) => None,
    };
    let (user_id, hash) = match credentials {
        Some(found) => (Some(found.user_id), Some(found.password_hash)),
        None => (None, None),
    };
    let matches = hasher.verify(request.password, hash).await?;
    let user_id = match (user_id, matches) {
        (Some(user_id), true) => user_id,
        (Some(_) | None, _) => return Err(LoginError::InvalidCredentials),
    };
    let user_agent = request.user_agent.as_deref().and_then(UserAgent::parse);
    open_session(store, tokens, clock, user_id, user_agent).await
}

/// Opens a session for `user` and grants its first tokens.
async fn open_session<T: TokenIssuer, R: RefreshTokens>(
    store: &impl AccountsStore,
    tokens: SessionTokens<'_, T, R>,
    clock: &dyn Clock,
    user: UserId,
    user_agent: Option<UserAgent>,
) -> Result<Grant, LoginError> {
    let refresh = tokens.refresh.mint()?;
    let lifetime = tokens.refresh.lifetime();
    let mut session = Session::open(SessionId::generate(), user, user_agent, refresh.digest, clock.now(), lifetime);
    let mut transaction = store.begin().await?;
    transaction.add_session(&mut session).await?;
    transaction.commit().await?;
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
    use crate::testing::{FakeHasher, FakeRefreshTokens, FakeTokens, InMemoryAccounts};
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
        let user = register_user(&store, &FakeHasher, &clock, command).await.unwrap();
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
    async fn a_wrong_password_and_an_unknown_address_are_the_same_error() {
        let (store, _) = store_with_bob().await;
        for (email, password) in [
            ("bob@example.com", "wrong horse"),
            ("alice@example.com", "correct horse"),
            ("not an email", "correct horse"),
            ("bob@example.com", ""),
        ] {
            let outcome = log_in(&store, &FakeHasher, TOKENS, &clock(), request(email, password)).await;
            assert!(matches!(outcome, Err(LoginError::InvalidCredentials)), "{email}: {outcome:?}");
        }
        assert!(store.all_sessions().is_empty(), "a refused login opens no session");
    }
}
