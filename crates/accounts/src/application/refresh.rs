//! Use case: a client trades its refresh token for new tokens (RFC 6749 §6). Every
//! refresh rotates the refresh token; a spent one presented again revokes the session.

use taskdeck_kernel::{Clock, StoreError};
use thiserror::Error;

use super::login::SessionTokens;
use super::ports::{AccountsStore, AccountsTransaction, Grant, RefreshTokens, TokenError, TokenIssuer};
use crate::domain::RefreshRefusal;

/// Why a refresh token earns nothing. Clients get one answer for all of them
/// (`invalid_grant`); the reason is for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum InvalidGrant {
    #[error("no session issued this refresh token")]
    Unknown,
    #[error(transparent)]
    Refused(#[from] RefreshRefusal),
}

#[derive(Debug, Error)]
pub enum RefreshError {
    #[error("invalid grant: {0}")]
    InvalidGrant(#[from] InvalidGrant),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Spends `presented` and grants the session's next tokens.
///
/// # Errors
/// `InvalidGrant` for a token no session issued, an expired one, one of a revoked
/// session, or a spent one (which revokes its session first).
pub async fn refresh_session<T: TokenIssuer, R: RefreshTokens>(
    store: &impl AccountsStore,
    tokens: SessionTokens<'_, T, R>,
    clock: &dyn Clock,
    presented: &str,
) -> Result<Grant, RefreshError> {
    let digest = tokens.refresh.digest(presented).ok_or(InvalidGrant::Unknown)?;
    let next = tokens.refresh.mint()?;
    let lifetime = tokens.refresh.lifetime();
    let mut transaction = store.begin().await?;
    let (mut session, state) = transaction.session_by_refresh_token(&digest).await?.ok_or(InvalidGrant::Unknown)?;
    match session.refresh(state, next.digest, clock.now(), lifetime) {
        Ok(()) => {
            transaction.save_session(&mut session).await?;
            transaction.commit().await?;
            Ok(Grant {
                session: session.id(),
                access: tokens.access.issue(session.user(), session.id())?,
                refresh_token: next.token,
                refresh_expires_in_seconds: lifetime.as_secs(),
            })
        }
        Err(RefreshRefusal::Reused) => {
            // The revocation must hold even though the answer is a refusal.
            transaction.save_session(&mut session).await?;
            transaction.commit().await?;
            Err(InvalidGrant::Refused(RefreshRefusal::Reused).into())
        }
        Err(refusal) => Err(InvalidGrant::Refused(refusal).into()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use taskdeck_kernel::FixedClock;
    use time::macros::datetime;

    use super::*;
    use crate::application::{AccountQueries, LoginRequest, RegisterUser, log_in, register_user};
    use crate::domain::PlainPassword;
    use crate::testing::{FakeHasher, FakeRefreshTokens, FakeTokens, InMemoryAccounts};

    const TOKENS: SessionTokens<'static, FakeTokens, FakeRefreshTokens> =
        SessionTokens { access: &FakeTokens, refresh: &FakeRefreshTokens };

    fn at(seconds: u64) -> FixedClock {
        FixedClock::at(datetime!(2026-12-02 10:00:00 UTC) + Duration::from_secs(seconds))
    }

    async fn logged_in() -> (InMemoryAccounts, Grant) {
        let store = InMemoryAccounts::default();
        let email = taskdeck_kernel::EmailAddress::parse("bob@example.com").unwrap();
        let command = RegisterUser { email, password: PlainPassword::new("correct horse").unwrap() };
        register_user(&store, &FakeHasher, &at(0), command, None).await.unwrap();
        let request =
            LoginRequest { email: "bob@example.com".into(), password: "correct horse".into(), user_agent: None };
        let grant = log_in(&store, &FakeHasher, TOKENS, &at(0), request).await.unwrap();
        (store, grant)
    }

    #[tokio::test]
    async fn a_refresh_grants_new_tokens_for_the_same_session_and_spends_the_old_refresh_token() {
        let (store, login) = logged_in().await;
        let refreshed = refresh_session(&store, TOKENS, &at(60), &login.refresh_token).await.unwrap();
        assert_eq!(refreshed.session, login.session);
        assert_ne!(refreshed.refresh_token, login.refresh_token);
        let again = refresh_session(&store, TOKENS, &at(120), &refreshed.refresh_token).await.unwrap();
        assert_eq!(again.session, login.session, "the new token refreshes in turn");
    }

    #[tokio::test]
    async fn a_spent_refresh_token_presented_again_revokes_the_whole_session() {
        let (store, login) = logged_in().await;
        let refreshed = refresh_session(&store, TOKENS, &at(60), &login.refresh_token).await.unwrap();

        let replay = refresh_session(&store, TOKENS, &at(90), &login.refresh_token).await;
        assert!(matches!(replay, Err(RefreshError::InvalidGrant(InvalidGrant::Refused(RefreshRefusal::Reused)))));

        let legitimate = refresh_session(&store, TOKENS, &at(100), &refreshed.refresh_token).await;
        assert!(
            matches!(legitimate, Err(RefreshError::InvalidGrant(InvalidGrant::Refused(RefreshRefusal::Revoked)))),
            "the thief's copy and the owner's token are both dead: {legitimate:?}"
        );
        assert_eq!(store.live_session_owner(login.session).await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_expired_refresh_token_is_refused() {
        let (store, login) = logged_in().await;
        let expired = at(FakeRefreshTokens::LIFETIME.as_secs());
        let outcome = refresh_session(&store, TOKENS, &expired, &login.refresh_token).await;
        assert!(matches!(outcome, Err(RefreshError::InvalidGrant(InvalidGrant::Refused(RefreshRefusal::Expired)))));
    }

    #[tokio::test]
    async fn a_token_no_session_issued_is_refused_and_changes_nothing() {
        let (store, login) = logged_in().await;
        for presented in ["", "garbage", "refresh-0000"] {
            let outcome = refresh_session(&store, TOKENS, &at(60), presented).await;
            assert!(matches!(outcome, Err(RefreshError::InvalidGrant(InvalidGrant::Unknown))), "{presented}");
        }
        refresh_session(&store, TOKENS, &at(60), &login.refresh_token).await.expect("the real token still works");
    }
}
