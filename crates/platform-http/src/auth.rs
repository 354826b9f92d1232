//! The bearer-token extractors: a handler that takes `CurrentUser` (or
//! `CurrentSession`) is authenticated, by a valid token of a live session.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use taskdeck_kernel::UserId;
use taskdeck_platform::auth::{AuthError, Authenticator, Verified};
use uuid::Uuid;

use super::problem::ApiError;

/// A router state that holds the authenticator its routes check tokens with, lent
/// by reference: extracting the caller costs no clone of shared state.
pub trait Authenticates {
    fn authenticator(&self) -> &Authenticator;
}

/// A router's state behind one `Arc`, shared by every request: axum clones the state
/// for each request, and cloning each part of it cost a dozen contended reference
/// counts per request.
#[derive(Debug)]
pub struct Shared<T>(Arc<T>);

impl<T> Shared<T> {
    pub fn new(state: T) -> Self {
        Self(Arc::new(state))
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Authenticates> Authenticates for Shared<T> {
    fn authenticator(&self) -> &Authenticator {
        self.0.authenticator()
    }
}

/// The user the request's access token was issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentUser(pub UserId);

/// The user and the session the request's access token was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentSession {
    pub user: UserId,
    pub session: Uuid,
}

impl<S> FromRequestParts<S> for CurrentSession
where
    S: Authenticates + Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).map_err(refusal)?;
        let Verified { user, session } = state.authenticator().authenticate(token).await.map_err(refusal)?;
        Ok(Self { user, session })
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    S: Authenticates + Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        CurrentSession::from_request_parts(parts, state).await.map(|current| Self(current.user))
    }
}

fn refusal(error: AuthError) -> ApiError {
    match error {
        AuthError::Missing => ApiError::unauthorized("This route needs an access token: Authorization: Bearer <token>"),
        AuthError::Malformed => ApiError::unauthorized("The Authorization header must be: Bearer <token>"),
        AuthError::Store(cause) => ApiError::internal(&cause),
        error @ (AuthError::Invalid(_)
        | AuthError::UnexpectedKey
        | AuthError::IssuedInTheFuture
        | AuthError::Revoked
        | AuthError::Signing(_)
        | AuthError::NoSigningKey) => {
            tracing::debug!(%error, "refused an access token");
            ApiError::invalid_token()
        }
    }
}

fn bearer_token(parts: &Parts) -> Result<&str, AuthError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(AuthError::Missing)?
        .to_str()
        .map_err(|_| AuthError::Malformed)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::Malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AuthError::Malformed);
    }
    Ok(token)
}
