//! The bearer-token extractor: a handler that takes `CurrentUser` is authenticated.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use taskdeck_kernel::UserId;

use super::problem::ApiError;
use taskdeck_platform::auth::{AuthError, JwtAuthority};

/// The user the request's access token was issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentUser(pub UserId);

impl<S> FromRequestParts<S> for CurrentUser
where
    Arc<JwtAuthority>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let authority = Arc::<JwtAuthority>::from_ref(state);
        let outcome = bearer_token(parts).and_then(|token| authority.verify(token));
        match outcome {
            Ok(user) => Ok(Self(user)),
            Err(AuthError::Missing) => {
                Err(ApiError::unauthorized("This route needs an access token: Authorization: Bearer <token>"))
            }
            Err(AuthError::Malformed) => {
                Err(ApiError::unauthorized("The Authorization header must be: Bearer <token>"))
            }
            Err(error @ (AuthError::Invalid(_) | AuthError::Signing(_))) => {
                tracing::debug!(%error, "refused an access token");
                Err(ApiError::invalid_token())
            }
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
