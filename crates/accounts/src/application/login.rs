//! Use case: someone signs in with email and password and receives an access token.

use taskdeck_kernel::{EmailAddress, StoreError};
use thiserror::Error;

use super::ports::{AccessToken, AccountsStore, HashingError, PasswordHasher, TokenError, TokenIssuer};

/// Credentials as the client sent them: login does not apply the registration rules,
/// anything that does not match an account is simply wrong.
#[derive(Debug, Clone)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
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

/// Checks the credentials and issues an access token.
///
/// # Errors
/// `InvalidCredentials` for an unknown address or a wrong password, after the same
/// amount of hashing work in both cases.
pub async fn log_in(
    store: &impl AccountsStore,
    hasher: &impl PasswordHasher,
    tokens: &impl TokenIssuer,
    request: LoginRequest,
) -> Result<AccessToken, LoginError> {
    let credentials = match EmailAddress::parse(&request.email) {
        Ok(email) => store.credentials(&email).await?,
        Err(_) => None,
    };
    let (user_id, hash) = match credentials {
        Some(found) => (Some(found.user_id), Some(found.password_hash)),
        None => (None, None),
    };
    let matches = hasher.verify(request.password, hash).await?;
    match (user_id, matches) {
        (Some(user_id), true) => Ok(tokens.issue(user_id)?),
        (Some(_) | None, _) => Err(LoginError::InvalidCredentials),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::{RegisterUser, register_user};
    use crate::domain::PlainPassword;
    use crate::testing::{FakeHasher, FakeTokens, InMemoryAccounts};
    use taskdeck_kernel::FixedClock;
    use time::macros::datetime;

    async fn store_with_bob() -> (InMemoryAccounts, taskdeck_kernel::UserId) {
        let store = InMemoryAccounts::default();
        let clock = FixedClock::at(datetime!(2026-11-24 10:15:00 UTC));
        let command = RegisterUser {
            email: EmailAddress::parse("bob@example.com").unwrap(),
            password: PlainPassword::new("correct horse").unwrap(),
        };
        let user = register_user(&store, &FakeHasher, &clock, command).await.unwrap();
        (store, user.id)
    }

    fn request(email: &str, password: &str) -> LoginRequest {
        LoginRequest { email: email.into(), password: password.into() }
    }

    #[tokio::test]
    async fn the_right_password_earns_a_token_for_the_account() {
        let (store, id) = store_with_bob().await;
        let token =
            log_in(&store, &FakeHasher, &FakeTokens, request("Bob@Example.com", "correct horse")).await.unwrap();
        assert_eq!(token.token, format!("token-for-{id}"));
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
            let outcome = log_in(&store, &FakeHasher, &FakeTokens, request(email, password)).await;
            assert!(matches!(outcome, Err(LoginError::InvalidCredentials)), "{email}: {outcome:?}");
        }
    }
}
