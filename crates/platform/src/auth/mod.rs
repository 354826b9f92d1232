//! Bearer access tokens: signed JWTs naming the user (`sub`), the session (`sid`) and
//! the signing key (`kid`), and the check every authenticated request passes: a valid
//! signature by an expected key and algorithm, and a session that is still live.

mod keys;
mod store;
mod verified;

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use taskdeck_kernel::{StoreError, UserId};
use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

use self::verified::VerifiedTokens;
use crate::BoxFuture;

pub use keys::{Jwk, KeyError, KeyRing, PICKUP, StoredKey};
pub use store::SigningKeyStore;

/// Clock difference tolerated between the instance that issued a token and the one
/// checking it.
const LEEWAY_SECONDS: u64 = 5;
pub const LEEWAY: Duration = Duration::from_secs(LEEWAY_SECONDS);
const ISSUER: &str = "taskdeck";
/// The `kid` of tokens signed with a configured secret (there is one key, and it is
/// never published).
const SECRET_KID: &str = "configured-secret";

/// Why a token is refused. The details go to logs, never to the client.
#[derive(Debug, Error)]
pub enum AuthError {
    #[error("no bearer token")]
    Missing,
    #[error("the authorization header is not a bearer token")]
    Malformed,
    #[error("invalid token: {0}")]
    Invalid(#[source] jsonwebtoken::errors::Error),
    #[error("the token is signed with an algorithm or a key this instance does not verify with")]
    UnexpectedKey,
    #[error("the token claims to be issued in the future")]
    IssuedInTheFuture,
    #[error("the token's session is revoked, or was never opened")]
    Revoked,
    #[error("cannot tell whether the token's session is live: {0}")]
    Store(#[source] StoreError),
    #[error("cannot sign the token: {0}")]
    Signing(#[source] jsonwebtoken::errors::Error),
    #[error("there is no signing key")]
    NoSigningKey,
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

/// What an authority signs with.
enum Signer {
    /// HS256 with a configured secret (v1's tokens).
    Secret { encoding: EncodingKey, decoding: DecodingKey },
    /// EdDSA with the Ed25519 keys of the ring; kept current while serving.
    Keys(RwLock<KeyRing>),
}

/// Issues and verifies access tokens.
pub struct JwtAuthority {
    signer: Signer,
    validation: Validation,
    lifetime: Duration,
    audience: String,
    /// Tokens verified before (EdDSA only: an HS256 check costs about what a lookup does).
    verified: VerifiedTokens,
}

impl fmt::Debug for JwtAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.signer {
            Signer::Secret { .. } => "HS256",
            Signer::Keys(_) => "EdDSA",
        };
        f.debug_struct("JwtAuthority").field("mode", &mode).field("lifetime", &self.lifetime).finish_non_exhaustive()
    }
}

fn validation(algorithm: Algorithm, audience: &str) -> Validation {
    // Only this algorithm is accepted: a token declaring another, `none` included,
    // fails verification.
    let mut validation = Validation::new(algorithm);
    validation.leeway = LEEWAY_SECONDS;
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[audience]);
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "nbf", "sub", "iss", "aud"]);
    validation
}

impl JwtAuthority {
    /// An authority signing HS256 with `secret`, issuing tokens valid for `lifetime`
    /// and bound to `audience` (the installation id): tokens of another installation
    /// are refused. Its JWK set is empty: a secret is never published.
    #[must_use]
    pub fn with_secret(secret: &[u8], lifetime: Duration, audience: &str) -> Self {
        Self {
            signer: Signer::Secret {
                encoding: EncodingKey::from_secret(secret),
                decoding: DecodingKey::from_secret(secret),
            },
            validation: validation(Algorithm::HS256, audience),
            lifetime,
            audience: audience.to_owned(),
            verified: VerifiedTokens::default(),
        }
    }

    /// An authority signing EdDSA with the newest key of `ring`.
    #[must_use]
    pub fn with_keys(ring: KeyRing, lifetime: Duration, audience: &str) -> Self {
        Self {
            signer: Signer::Keys(RwLock::new(ring)),
            validation: validation(Algorithm::EdDSA, audience),
            lifetime,
            audience: audience.to_owned(),
            verified: VerifiedTokens::default(),
        }
    }

    /// Signs and verifies with `ring` from now on (after a rotation). An authority
    /// with a configured secret keeps it.
    pub fn replace_keys(&self, ring: KeyRing) {
        if let Signer::Keys(keys) = &self.signer {
            *keys.write().unwrap_or_else(PoisonError::into_inner) = ring;
        }
    }

    /// The public keys that verify tokens now: the JWK set others verify with.
    #[must_use]
    pub fn jwks(&self) -> Vec<Jwk> {
        match &self.signer {
            Signer::Secret { .. } => Vec::new(),
            Signer::Keys(keys) => keys.read().unwrap_or_else(PoisonError::into_inner).jwks(OffsetDateTime::now_utc()),
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
        match &self.signer {
            Signer::Secret { encoding, .. } => {
                let mut header = Header::new(Algorithm::HS256);
                header.kid = Some(SECRET_KID.to_owned());
                jsonwebtoken::encode(&header, &claims, encoding).map_err(AuthError::Signing)
            }
            Signer::Keys(keys) => {
                let keys = keys.read().unwrap_or_else(PoisonError::into_inner);
                let (kid, encoding) = keys.signing(now).ok_or(AuthError::NoSigningKey)?;
                let mut header = Header::new(Algorithm::EdDSA);
                header.kid = Some(kid.to_owned());
                jsonwebtoken::encode(&header, &claims, encoding).map_err(AuthError::Signing)
            }
        }
    }

    /// Checks a token's signature, algorithm, issuer, audience and times (against the
    /// system clock, with a few seconds of leeway: not expired, not valid only later,
    /// not issued in the future) and returns whom it was issued to. Whether its session
    /// is still live is the [`Authenticator`]'s question.
    ///
    /// # Errors
    /// `AuthError::Invalid` or `IssuedInTheFuture` for any token that is not valid now.
    pub fn verify(&self, token: &str) -> Result<Verified, AuthError> {
        let now = OffsetDateTime::now_utc();
        if let Signer::Keys(keys) = &self.signer {
            let still_verifies =
                |kid: &str| keys.read().unwrap_or_else(PoisonError::into_inner).verifying(kid, now).is_some();
            if let Some(verified) = self.verified.recall(token, now.unix_timestamp(), still_verifies) {
                return Ok(verified);
            }
        }
        let header = jsonwebtoken::decode_header(token).map_err(AuthError::Invalid)?;
        let claims = match &self.signer {
            Signer::Secret { decoding, .. } => {
                if header.alg != Algorithm::HS256 {
                    return Err(AuthError::UnexpectedKey);
                }
                jsonwebtoken::decode::<Claims>(token, decoding, &self.validation)
            }
            Signer::Keys(keys) => {
                let kid = header.kid.as_deref().ok_or(AuthError::UnexpectedKey)?;
                if header.alg != Algorithm::EdDSA {
                    return Err(AuthError::UnexpectedKey);
                }
                let keys = keys.read().unwrap_or_else(PoisonError::into_inner);
                let decoding = keys.verifying(kid, now).ok_or(AuthError::UnexpectedKey)?;
                jsonwebtoken::decode::<Claims>(token, decoding, &self.validation)
            }
        }
        .map_err(AuthError::Invalid)?
        .claims;
        let latest = now.unix_timestamp().saturating_add(LEEWAY_SECONDS.cast_signed());
        if claims.iat > latest {
            return Err(AuthError::IssuedInTheFuture);
        }
        let verified = Verified { user: claims.sub, session: claims.sid };
        if let (Signer::Keys(_), Some(kid)) = (&self.signer, header.kid.as_deref()) {
            let accepted_until = claims.exp.saturating_add(LEEWAY_SECONDS.cast_signed());
            self.verified.remember(token, kid, accepted_until, now.unix_timestamp(), verified);
        }
        Ok(verified)
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
        JwtAuthority::with_secret(b"test secret that is long enough!", Duration::from_secs(3600), "installation-a")
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
        let short =
            JwtAuthority::with_secret(b"test secret that is long enough!", Duration::from_secs(10), "installation-a");
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
        let other =
            JwtAuthority::with_secret(b"another secret, equally long...", Duration::from_secs(3600), "installation-a");
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
        let reset =
            JwtAuthority::with_secret(b"test secret that is long enough!", Duration::from_secs(3600), "installation-b");
        let token = reset.issue(UserId::generate(), session(), OffsetDateTime::now_utc()).unwrap();
        assert!(authority().verify(&token).is_err());
    }

    #[test]
    fn garbage_is_refused() {
        assert!(authority().verify("not.a.token").is_err());
        assert!(authority().verify("").is_err());
    }

    fn ring(keys: Vec<StoredKey>) -> KeyRing {
        KeyRing::new(keys, Duration::from_secs(3600), LEEWAY).unwrap()
    }

    fn key_authority(keys: Vec<StoredKey>) -> JwtAuthority {
        JwtAuthority::with_keys(ring(keys), Duration::from_secs(3600), "installation-a")
    }

    fn header(token: &str) -> Header {
        jsonwebtoken::decode_header(token).unwrap()
    }

    #[test]
    fn an_ed25519_authority_signs_eddsa_naming_its_key_and_verifies_its_own_tokens() {
        let key = StoredKey::generate(OffsetDateTime::now_utc()).unwrap();
        let authority = key_authority(vec![key.clone()]);
        let (user, session) = (UserId::generate(), session());
        let token = authority.issue(user, session, OffsetDateTime::now_utc()).unwrap();
        assert_eq!(header(&token).alg, Algorithm::EdDSA);
        assert_eq!(header(&token).kid.as_deref(), Some(key.kid.as_str()));
        assert_eq!(authority.verify(&token).unwrap(), Verified { user, session });
        let jwks = authority.jwks();
        assert_eq!(jwks.len(), 1);
        assert_eq!((jwks[0].kid.as_str(), jwks[0].alg, jwks[0].crv), (key.kid.as_str(), "EdDSA", "Ed25519"));
    }

    #[test]
    fn tokens_of_another_algorithm_or_key_are_refused() {
        let now = OffsetDateTime::now_utc();
        let authority = key_authority(vec![StoredKey::generate(now).unwrap()]);
        let stranger = key_authority(vec![StoredKey::generate(now).unwrap()]);
        let hs256 =
            JwtAuthority::with_secret(b"test secret that is long enough!", Duration::from_secs(60), "installation-a");
        for token in [
            stranger.issue(UserId::generate(), session(), now).unwrap(),
            hs256.issue(UserId::generate(), session(), now).unwrap(),
        ] {
            assert!(matches!(authority.verify(&token), Err(AuthError::UnexpectedKey)), "{token}");
        }
        let eddsa = authority.issue(UserId::generate(), session(), now).unwrap();
        assert!(matches!(hs256.verify(&eddsa), Err(AuthError::UnexpectedKey)));
        assert!(hs256.jwks().is_empty(), "a secret is never published");
    }

    #[test]
    fn after_a_rotation_the_new_key_signs_and_the_old_one_still_verifies_its_tokens() {
        let now = OffsetDateTime::now_utc();
        let mut old = StoredKey::generate(now).unwrap();
        let authority = key_authority(vec![old.clone()]);
        let before = authority.issue(UserId::generate(), session(), now).unwrap();

        old.superseded_at = Some(now);
        let new = StoredKey::generate(now).unwrap();
        authority.replace_keys(ring(vec![old.clone(), new.clone()]));

        let after = authority.issue(UserId::generate(), session(), now).unwrap();
        assert_eq!(header(&after).kid.as_deref(), Some(new.kid.as_str()));
        assert!(authority.verify(&before).is_ok(), "tokens of the old key live out their lifetime");
        assert!(authority.verify(&after).is_ok());

        let long_ago = now - time::Duration::hours(3);
        old.superseded_at = Some(long_ago);
        authority.replace_keys(ring(vec![old, new]));
        assert!(matches!(authority.verify(&before), Err(AuthError::UnexpectedKey)), "a retired key verifies nothing");
        assert_eq!(authority.jwks().len(), 1);
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
