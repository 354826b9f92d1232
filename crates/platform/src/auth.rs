//! Bearer access tokens: signed JWTs naming the user (`sub`) and the session (`sid`)
//! they were issued for, and the check every authenticated request passes: a valid
//! signature, and a session that is still live.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use taskdeck_kernel::{StoreError, UserId};
use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::BoxFuture;

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
    #[error("the token claims to be issued in the future")]
    IssuedInTheFuture,
    #[error("the token's session is revoked, or was never opened")]
    Revoked,
    #[error("cannot tell whether the token's session is live: {0}")]
    Store(#[source] StoreError),
    #[error("cannot sign the token: {0}")]
    Signing(#[source] jsonwebtoken::errors::Error),
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: UserId,
    /// The session the token was issued for.
    sid: Uuid,
    iss: String,
    /// The installation (database) the token was issued for.
    aud: String,
    iat: i64,
    nbf: i64,
    exp: i64,
}

/// Who a valid token was issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub user: UserId,
    pub session: Uuid,
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
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "nbf", "sub", "iss", "aud"]);
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

    /// Signs a token for `user`'s `session`, valid from `now` for the configured
    /// lifetime.
    ///
    /// # Errors
    /// `AuthError::Signing` if signing fails.
    pub fn issue(&self, user: UserId, session: Uuid, now: OffsetDateTime) -> Result<String, AuthError> {
        let lifetime = i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            sub: user,
            sid: session,
            iss: ISSUER.to_owned(),
            aud: self.audience.clone(),
            iat: now.unix_timestamp(),
            nbf: now.unix_timestamp(),
            exp: now.unix_timestamp().saturating_add(lifetime),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(AuthError::Signing)
    }

    /// Checks a token's signature, algorithm, issuer, audience and times (against the
    /// system clock, with a few seconds of leeway: not expired, not valid only later,
    /// not issued in the future) and returns whom it was issued to. Whether its session
    /// is still live is the [`Authenticator`]'s question.
    ///
    /// # Errors
    /// `AuthError::Invalid` or `IssuedInTheFuture` for any token that is not valid now.
    pub fn verify(&self, token: &str) -> Result<Verified, AuthError> {
        let claims =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(AuthError::Invalid)?.claims;
        let latest = OffsetDateTime::now_utc().unix_timestamp().saturating_add(LEEWAY_SECONDS.cast_signed());
        if claims.iat > latest {
            return Err(AuthError::IssuedInTheFuture);
        }
        Ok(Verified { user: claims.sub, session: claims.sid })
    }
}

/// Which sessions are live, answered from memory where possible: the check must be
/// nearly free on the hot path, so storage is asked only about a session this instance
/// has not seen yet.
pub trait SessionCheck: Send + Sync + 'static {
    /// What this instance already knows: `Some(true)` live, `Some(false)` revoked or
    /// never opened, `None` unknown.
    fn known(&self, session: Uuid, user: UserId) -> Option<bool>;

    /// Asks storage, and remembers the answer.
    ///
    /// # Errors
    /// `StoreError::Backend` when storage cannot be reached.
    fn look_up(&self, session: Uuid, user: UserId) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// A session this instance has just revoked: refused from now on, without waiting
    /// for the next look at storage.
    fn forget(&self, session: Uuid);
}

/// The check of every authenticated request: a token taskdeck signed, still valid, of
/// a session that is still live.
#[derive(Clone)]
pub struct Authenticator {
    authority: Arc<JwtAuthority>,
    sessions: Arc<dyn SessionCheck>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator").field("authority", &self.authority).finish_non_exhaustive()
    }
}

impl Authenticator {
    #[must_use]
    pub fn new(authority: Arc<JwtAuthority>, sessions: Arc<dyn SessionCheck>) -> Self {
        Self { authority, sessions }
    }

    /// Whom `token` authenticates.
    ///
    /// # Errors
    /// As [`JwtAuthority::verify`]; `Revoked` when its session is not live; `Store`
    /// when that cannot be told.
    pub async fn authenticate(&self, token: &str) -> Result<Verified, AuthError> {
        let verified = self.authority.verify(token)?;
        let live = match self.sessions.known(verified.session, verified.user) {
            Some(live) => live,
            None => self.sessions.look_up(verified.session, verified.user).await.map_err(AuthError::Store)?,
        };
        if live { Ok(verified) } else { Err(AuthError::Revoked) }
    }

    /// Refuses `session`'s tokens from now on, on this instance at once.
    pub fn forget(&self, session: Uuid) {
        self.sessions.forget(session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authority() -> JwtAuthority {
        JwtAuthority::new(b"test secret that is long enough!", Duration::from_secs(3600), "installation-a")
    }

    fn session() -> Uuid {
        Uuid::new_v4()
    }

    #[test]
    fn a_fresh_token_names_its_user_and_session() {
        let (user, session) = (UserId::generate(), session());
        let token = authority().issue(user, session, OffsetDateTime::now_utc()).unwrap();
        assert_eq!(authority().verify(&token).unwrap(), Verified { user, session });
    }

    #[test]
    fn a_token_issued_in_the_future_is_refused_beyond_the_leeway() {
        let soon = OffsetDateTime::now_utc() + time::Duration::seconds(3);
        assert!(authority().verify(&authority().issue(UserId::generate(), session(), soon).unwrap()).is_ok());
        let later = OffsetDateTime::now_utc() + time::Duration::seconds(60);
        let token = authority().issue(UserId::generate(), session(), later).unwrap();
        assert!(matches!(authority().verify(&token), Err(AuthError::Invalid(_) | AuthError::IssuedInTheFuture)));
    }

    #[test]
    fn an_expired_token_is_refused() {
        let issued = OffsetDateTime::now_utc() - time::Duration::hours(2);
        let token = authority().issue(UserId::generate(), session(), issued).unwrap();
        assert!(matches!(authority().verify(&token), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn a_token_expired_by_more_than_the_leeway_is_refused_but_within_it_accepted() {
        let short = JwtAuthority::new(b"test secret that is long enough!", Duration::from_secs(10), "installation-a");
        let user = UserId::generate();
        let just_expired =
            short.issue(user, session(), OffsetDateTime::now_utc() - time::Duration::seconds(12)).unwrap();
        assert!(short.verify(&just_expired).is_ok(), "2 s past expiry is within the leeway");
        let long_expired =
            short.issue(user, session(), OffsetDateTime::now_utc() - time::Duration::seconds(30)).unwrap();
        assert!(short.verify(&long_expired).is_err());
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let other = JwtAuthority::new(b"another secret, equally long...", Duration::from_secs(3600), "installation-a");
        let token = other.issue(UserId::generate(), session(), OffsetDateTime::now_utc()).unwrap();
        assert!(authority().verify(&token).is_err());
    }

    #[test]
    fn an_unsigned_token_is_refused() {
        // header {"alg":"none","typ":"JWT"}, a valid-looking payload, no signature
        let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
        let user = UserId::generate();
        let payload = format!(
            r#"{{"sub":"{user}","sid":"{}","iss":"taskdeck","aud":"installation-a","iat":1,"nbf":1,"exp":{}}}"#,
            session(),
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
        let token = reset.issue(UserId::generate(), session(), OffsetDateTime::now_utc()).unwrap();
        assert!(authority().verify(&token).is_err());
    }

    #[test]
    fn garbage_is_refused() {
        assert!(authority().verify("not.a.token").is_err());
        assert!(authority().verify("").is_err());
    }

    /// Sessions known live or dead up front; asking storage counts and answers `stored`.
    struct Sessions {
        known: std::sync::Mutex<std::collections::HashMap<Uuid, bool>>,
        stored: bool,
        asked: std::sync::atomic::AtomicUsize,
    }

    impl SessionCheck for Sessions {
        fn known(&self, session: Uuid, _user: UserId) -> Option<bool> {
            self.known.lock().unwrap().get(&session).copied()
        }

        fn look_up(&self, session: Uuid, _user: UserId) -> BoxFuture<'_, Result<bool, StoreError>> {
            self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.known.lock().unwrap().insert(session, self.stored);
            Box::pin(async move { Ok(self.stored) })
        }

        fn forget(&self, session: Uuid) {
            self.known.lock().unwrap().insert(session, false);
        }
    }

    fn authenticator(stored: bool) -> (Authenticator, Arc<Sessions>) {
        let sessions = Arc::new(Sessions { known: Default::default(), stored, asked: Default::default() });
        (Authenticator::new(Arc::new(authority()), Arc::clone(&sessions) as Arc<dyn SessionCheck>), sessions)
    }

    #[tokio::test]
    async fn a_valid_token_of_a_live_session_authenticates_and_storage_is_asked_once() {
        let (authenticator, sessions) = authenticator(true);
        let (user, session) = (UserId::generate(), session());
        let token = authority().issue(user, session, OffsetDateTime::now_utc()).unwrap();
        for _ in 0..3 {
            assert_eq!(authenticator.authenticate(&token).await.unwrap(), Verified { user, session });
        }
        assert_eq!(sessions.asked.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_valid_token_of_a_session_storage_does_not_know_live_is_refused() {
        let (authenticator, _) = authenticator(false);
        let token = authority().issue(UserId::generate(), session(), OffsetDateTime::now_utc()).unwrap();
        assert!(matches!(authenticator.authenticate(&token).await, Err(AuthError::Revoked)));
    }

    #[tokio::test]
    async fn a_forgotten_session_is_refused_at_once() {
        let (authenticator, _) = authenticator(true);
        let (user, session) = (UserId::generate(), session());
        let token = authority().issue(user, session, OffsetDateTime::now_utc()).unwrap();
        authenticator.authenticate(&token).await.unwrap();
        authenticator.forget(session);
        assert!(matches!(authenticator.authenticate(&token).await, Err(AuthError::Revoked)));
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
