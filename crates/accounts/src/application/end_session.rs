//! Use case: a user ends one of their sessions (logging out ends the current one).

use taskdeck_kernel::{Clock, StoreError, UserId};
use thiserror::Error;

use super::ports::{AccountsStore, AccountsTransaction};
use crate::domain::SessionId;

#[derive(Debug, Error)]
pub enum EndSessionError {
    /// No live session of this user has this id (someone else's looks the same).
    #[error("no such session")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Revokes the user's session `session`: its refresh token and access tokens are
/// refused from now on.
///
/// # Errors
/// `NotFound` for an unknown session, a revoked one, or another user's.
pub async fn end_session(
    store: &impl AccountsStore,
    clock: &dyn Clock,
    user: UserId,
    session: SessionId,
) -> Result<(), EndSessionError> {
    let mut transaction = store.begin().await?;
    let mut found = match transaction.session(session).await? {
        Some(found) if found.user() == user && !found.is_revoked() => found,
        Some(_) | None => return Err(EndSessionError::NotFound),
    };
    found.revoke(clock.now());
    transaction.save_session(&mut found).await?;
    transaction.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use taskdeck_kernel::{EmailAddress, FixedClock};
    use time::macros::datetime;

    use super::*;
    use crate::application::{AccountQueries, LoginRequest, RegisterUser, SessionTokens, log_in, register_user};
    use crate::domain::PlainPassword;
    use crate::testing::{FakeHasher, FakeRefreshTokens, FakeTokens, InMemoryAccounts};

    fn clock() -> FixedClock {
        FixedClock::at(datetime!(2026-12-02 10:00:00 UTC))
    }

    async fn signed_in(store: &InMemoryAccounts, email: &str) -> (UserId, SessionId) {
        let command = RegisterUser {
            email: EmailAddress::parse(email).unwrap(),
            password: PlainPassword::new("password!").unwrap(),
        };
        let user = register_user(store, &FakeHasher, &clock(), command, None).await.unwrap().id;
        let tokens = SessionTokens { access: &FakeTokens, refresh: &FakeRefreshTokens };
        let request = LoginRequest { email: email.into(), password: "password!".into(), user_agent: None };
        (user, log_in(store, &FakeHasher, tokens, &clock(), request).await.unwrap().session)
    }

    #[tokio::test]
    async fn an_ended_session_is_no_longer_live_or_listed() {
        let store = InMemoryAccounts::default();
        let (user, session) = signed_in(&store, "bob@example.com").await;
        end_session(&store, &clock(), user, session).await.unwrap();
        assert_eq!(store.live_session_owner(session).await.unwrap(), None);
        assert!(store.sessions_of(user, clock().now()).await.unwrap().is_empty());
        assert_eq!(store.sessions_revoked_since(clock().now()).await.unwrap(), [session]);
    }

    #[tokio::test]
    async fn another_users_session_an_unknown_one_and_an_ended_one_are_not_found() {
        let store = InMemoryAccounts::default();
        let (bob, bobs) = signed_in(&store, "bob@example.com").await;
        let (alice, _) = signed_in(&store, "alice@example.com").await;
        assert!(matches!(end_session(&store, &clock(), alice, bobs).await, Err(EndSessionError::NotFound)));
        assert!(matches!(
            end_session(&store, &clock(), bob, SessionId::generate()).await,
            Err(EndSessionError::NotFound)
        ));
        end_session(&store, &clock(), bob, bobs).await.unwrap();
        assert!(matches!(end_session(&store, &clock(), bob, bobs).await, Err(EndSessionError::NotFound)));
        assert_eq!(store.live_session_owner(bobs).await.unwrap(), None);
    }
}
