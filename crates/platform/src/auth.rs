//! Bearer access tokens: HS256-signed JWTs carrying the user id.

use std::fmt;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use taskdeck_kernel::UserId;
use thiserror::Error;
use time::OffsetDateTime;

/// Clock difference tolerated between the instance that issued a token and the one
/// checking it.
const LEEWAY_SECONDS: u64 = 5;
const ISSUER: &str = "taskdeck";

/// Why a token is refused. The details go to logs, never to the client.
#[derive(Debug, Error)]
pub enum AuthError {
    #[error("no bearer token")]
    Missing,
    #[error("the authorization header is not a bearer token")]
    Malformed,
    #[error("invalid token: {0}")]
    Invalid(#[source] jsonwebtoken::errors::Error),
    #[error("cannot sign the token: {0}")]
    Signing(#[source] jsonwebtoken::errors::Error),
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: UserId,
    iss: String,
    /// The installation (database) the token was issued for.
    aud: String,
    iat: i64,
    exp: i64,
}

/// Issues and verifies access tokens with one secret key.
#[derive(Clone)]
pub struct JwtAuthority {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    lifetime: Duration,
    audience: String,
}

impl fmt::Debug for JwtAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthority").field("lifetime", &self.lifetime).finish_non_exhaustive()
    }
}

impl JwtAuthority {
    /// An authority signing with `secret`, issuing tokens valid for `lifetime` and bound
    /// to `audience` (the installation id): tokens of another installation are refused.
    #[must_use]
    pub fn new(secret: &[u8], lifetime: Duration, audience: &str) -> Self {
        // Only HS256 is accepted: a token declaring another algorithm, `none` included,
        // fails verification.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            lifetime,
            audience: audience.to_owned(),
        }
    }

    #[must_use]
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// The installation the tokens are bound to.
    #[must_use]
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Signs a token for `user`, valid from `now` for the configured lifetime.
    ///
    /// # Errors
    /// `AuthError::Signing` if signing fails.
    pub fn issue(&self, user: UserId, now: OffsetDateTime) -> Result<String, AuthError> {
        let lifetime = i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            sub: user,
            iss: ISSUER.to_owned(),
            aud: self.audience.clone(),
            iat: now.unix_timestamp(),
            exp: now.unix_timestamp().saturating_add(lifetime),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(AuthError::Signing)
    }

    /// Checks a token's signature, algorithm, issuer and expiry (against the system
    /// clock, with a few seconds of leeway) and returns the user it was issued to.
    ///
    /// # Errors
    /// `AuthError::Invalid` for any token that is not valid now.
    pub fn verify(&self, token: &str) -> Result<UserId, AuthError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims.sub)
            .map_err(AuthError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authority() -> JwtAuthority {
        JwtAuthority::new(b"test secret that is long enough!", Duration::from_secs(3600), "installation-a")
    }

    #[test]
    fn a_fresh_token_names_its_user() {
        let user = UserId::generate();
        let token = authority().issue(user, OffsetDateTime::now_utc()).unwrap();
        assert_eq!(authority().verify(&token).unwrap(), user);
    }

    #[test]
    fn an_expired_token_is_refused() {
        let issued = OffsetDateTime::now_utc() - time::Duration::hours(2);
        let token = authority().issue(UserId::generate(), issued).unwrap();
        assert!(matches!(authority().verify(&token), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn a_token_expired_by_more_than_the_leeway_is_refused_but_within_it_accepted() {
        let short = JwtAuthority::new(b"test secret that is long enough!", Duration::from_secs(10), "installation-a");
        let user = UserId::generate();
        let just_expired = short.issue(user, OffsetDateTime::now_utc() - time::Duration::seconds(12)).unwrap();
        assert!(short.verify(&just_expired).is_ok(), "2 s past expiry is within the leeway");
        let long_expired = short.issue(user, OffsetDateTime::now_utc() - time::Duration::seconds(30)).unwrap();
        assert!(short.verify(&long_expired).is_err());
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let other = JwtAuthority::new(b"another secret, equally long...", Duration::from_secs(3600), "installation-a");
        let token = other.issue(UserId::generate(), OffsetDateTime::now_utc()).unwrap();
        assert!(authority().verify(&token).is_err());
    }

    #[test]
    fn an_unsigned_token_is_refused() {
        // header {"alg":"none","typ":"JWT"}, a valid-looking payload, no signature
        let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
        let user = UserId::generate();
        let payload = format!(
            r#"{{"sub":"{user}","iss":"taskdeck","aud":"installation-a","iat":1,"exp":{}}}"#,
            OffsetDateTime::now_utc().unix_timestamp() + 600
        );
        let payload = base64url(payload.as_bytes());
        for token in [format!("{header}.{payload}."), format!("{header}.{payload}")] {
            assert!(authority().verify(&token).is_err(), "{token}");
        }
    }

    #[test]
    fn a_token_of_another_installation_is_refused_even_with_the_same_key() {
        let reset = JwtAuthority::new(b"test secret that is long enough!", Duration::from_secs(3600), "installation-b");
        let token = reset.issue(UserId::generate(), OffsetDateTime::now_utc()).unwrap();
        assert!(authority().verify(&token).is_err());
    }

    #[test]
    fn garbage_is_refused() {
        assert!(authority().verify("not.a.token").is_err());
        assert!(authority().verify("").is_err());
    }

    fn base64url(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().enumerate().fold(0_u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }
}
