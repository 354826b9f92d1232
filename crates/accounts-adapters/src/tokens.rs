//! The accounts context's tokens: access tokens signed by the shared JWT authority,
//! and opaque refresh tokens stored only as their SHA-256 digest.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use taskdeck_accounts::application::{AccessToken, IssuedRefreshToken, RefreshTokens, TokenError, TokenIssuer};
use taskdeck_accounts::domain::{RefreshDigest, SessionId};
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

    /// The public keys that verify the tokens now.
    #[must_use]
    pub fn jwks(&self) -> Vec<taskdeck_platform::auth::Jwk> {
        self.authority.jwks()
    }
}

impl TokenIssuer for JwtTokens {
    fn issue(&self, user: UserId, session: SessionId) -> Result<AccessToken, TokenError> {
        let token = self
            .authority
            .issue(user, session.as_uuid(), self.clock.now())
            .map_err(|error| TokenError(error.to_string()))?;
        Ok(AccessToken { token, expires_in_seconds: self.authority.lifetime().as_secs() })
    }
}

/// Random bytes in a refresh token: 256 bits.
const TOKEN_BYTES: usize = 32;
/// Their length in unpadded base64url.
const TOKEN_CHARS: usize = 43;

/// Refresh tokens of 256 random bits in base64url; the database keeps their SHA-256.
/// A digest is enough (no salt, no slow hash): the token is random, so there is nothing
/// to guess from it.
#[derive(Debug, Clone, Copy)]
pub struct OpaqueRefreshTokens {
    lifetime: Duration,
}

impl OpaqueRefreshTokens {
    #[must_use]
    pub fn new(lifetime: Duration) -> Self {
        Self { lifetime }
    }

    fn digest_of(token: &str) -> RefreshDigest {
        RefreshDigest::from_bytes(Sha256::digest(token.as_bytes()).into())
    }
}

impl RefreshTokens for OpaqueRefreshTokens {
    fn mint(&self) -> Result<IssuedRefreshToken, TokenError> {
        let mut bytes = [0_u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes)
            .map_err(|error| TokenError(format!("no randomness for a refresh token: {error}")))?;
        let token = URL_SAFE_NO_PAD.encode(bytes);
        Ok(IssuedRefreshToken { digest: Self::digest_of(&token), token })
    }

    fn digest(&self, presented: &str) -> Option<RefreshDigest> {
        let well_formed = presented.len() == TOKEN_CHARS
            && presented.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        well_formed.then(|| Self::digest_of(presented))
    }

    fn lifetime(&self) -> Duration {
        self.lifetime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_is_256_random_bits_recognised_by_its_digest() {
        let tokens = OpaqueRefreshTokens::new(Duration::from_secs(60));
        let first = tokens.mint().unwrap();
        let second = tokens.mint().unwrap();
        assert_eq!(first.token.len(), TOKEN_CHARS);
        assert_eq!(URL_SAFE_NO_PAD.decode(&first.token).unwrap().len(), TOKEN_BYTES);
        assert_ne!(first.token, second.token);
        assert_eq!(tokens.digest(&first.token), Some(first.digest));
        assert_ne!(first.digest, second.digest);
    }

    #[test]
    fn text_that_cannot_be_a_token_has_no_digest() {
        let tokens = OpaqueRefreshTokens::new(Duration::from_secs(60));
        let valid = tokens.mint().unwrap().token;
        for bad in [String::new(), "short".into(), format!("{valid}x"), valid.replace(&valid[..1], "+"), "é".repeat(43)]
        {
            assert_eq!(tokens.digest(&bad), None, "{bad:?}");
        }
    }
}
