//! The accounts context's token issuer, backed by the shared JWT authority.

use std::sync::Arc;

use taskdeck_accounts::application::{AccessToken, TokenError, TokenIssuer};
use taskdeck_kernel::{Clock, UserId};
use taskdeck_platform::JwtAuthority;

#[derive(Clone)]
pub struct JwtTokens {
    authority: Arc<JwtAuthority>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for JwtTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtTokens").field("authority", &self.authority).finish_non_exhaustive()
    }
}

impl JwtTokens {
    #[must_use]
    pub fn new(authority: Arc<JwtAuthority>, clock: Arc<dyn Clock>) -> Self {
        Self { authority, clock }
    }
}

impl TokenIssuer for JwtTokens {
    fn issue(&self, user: UserId) -> Result<AccessToken, TokenError> {
        let token = self.authority.issue(user, self.clock.now()).map_err(|error| TokenError(error.to_string()))?;
        Ok(AccessToken { token, expires_in_seconds: self.authority.lifetime().as_secs() })
    }
}
