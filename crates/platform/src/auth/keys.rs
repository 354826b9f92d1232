//! Ed25519 signing keys (JWS `EdDSA`): the ring an instance signs and verifies with,
//! their public JWKs, and what the database keeps of them.
//!
//! The newest key signs. A rotation adds a newer one and marks the one it replaces as
//! superseded at that moment; the superseded key still verifies the tokens it signed
//! until the last of them has expired, and is then retired: it verifies nothing and
//! leaves the JWK set. Every instance keeps the ring current by reading the keys again
//! every second, so a rotation needs no restart.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;
use time::OffsetDateTime;

/// How long a new key is published before it signs: the time it takes every instance
/// (each rereads the keys every second) to know it, with room for a slow read, so no
/// instance ever meets a token of a key it has not loaded yet. Until then the key it
/// supersedes keeps signing.
pub const PICKUP: Duration = Duration::from_secs(2);

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("no randomness for a signing key: {0}")]
    Randomness(String),
    #[error("the stored signing key {kid} is damaged")]
    Damaged { kid: String },
    #[error("the signing key file is not a PEM-encoded PKCS#8 Ed25519 private key")]
    NotAnEd25519Key,
}

/// A signing key as the database keeps it: its seed (the private key) and public key.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub kid: String,
    /// The 32-byte Ed25519 seed.
    pub private_key: Vec<u8>,
    /// The 32-byte Ed25519 public key.
    pub public_key: Vec<u8>,
    pub created_at: OffsetDateTime,
    /// When a newer key replaced it; `None` for the key that signs.
    pub superseded_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("superseded_at", &self.superseded_at)
            .finish_non_exhaustive()
    }
}

impl StoredKey {
    /// A fresh key pair.
    ///
    /// # Errors
    /// `Randomness` when the system has none to give.
    pub fn generate(now: OffsetDateTime) -> Result<Self, KeyError> {
        let mut seed = [0_u8; 32];
        getrandom::fill(&mut seed).map_err(|error| KeyError::Randomness(error.to_string()))?;
        Ok(Self::from_seed(&seed, now))
    }

    /// The key in a PEM file (PKCS#8, `-----BEGIN PRIVATE KEY-----`).
    ///
    /// # Errors
    /// `NotAnEd25519Key` for anything else.
    pub fn from_pem(pem: &str, now: OffsetDateTime) -> Result<Self, KeyError> {
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(pem).map_err(|_| KeyError::NotAnEd25519Key)?;
        Ok(Self::from_seed(&key.to_bytes(), now))
    }

    fn from_seed(seed: &[u8; 32], now: OffsetDateTime) -> Self {
        let public_key = ed25519_dalek::SigningKey::from_bytes(seed).verifying_key().to_bytes().to_vec();
        Self {
            kid: thumbprint(&public_key),
            private_key: seed.to_vec(),
            public_key,
            created_at: now,
            superseded_at: None,
        }
    }
}

/// The RFC 7638 thumbprint of an Ed25519 public key: the SHA-256 of its JWK's required
/// members in lexicographic order, base64url. Any verifier can compute it.
fn thumbprint(public_key: &[u8]) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, URL_SAFE_NO_PAD.encode(public_key));
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// A public key as the JWK set publishes it (RFC 8037).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    "kid": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", "alg": "EdDSA", "use": "sig"}))]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    /// The public key, base64url.
    pub x: String,
    pub kid: String,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub key_use: &'static str,
}

/// One usable key: what it signs with and what verifies it.
#[derive(Clone)]
struct RingKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    public_key: Vec<u8>,
    /// When it may sign: `PICKUP` after it was stored.
    signs_from: OffsetDateTime,
    /// When it stops verifying; `None` while nothing supersedes it.
    retired_at: Option<OffsetDateTime>,
}

/// The keys of one instance.
#[derive(Clone, Default)]
pub struct KeyRing {
    /// Newest first.
    keys: Vec<RingKey>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.keys.iter().map(|key| &key.kid)).finish()
    }
}

impl KeyRing {
    /// The ring of `stored` keys (in any order) for tokens that live `token_lifetime`:
    /// a superseded key retires once the last token it can have signed has expired,
    /// plus the verifier's `leeway`.
    ///
    /// # Errors
    /// `Damaged` when a stored key is not a valid Ed25519 key pair.
    pub fn new(mut stored: Vec<StoredKey>, token_lifetime: Duration, leeway: Duration) -> Result<Self, KeyError> {
        stored.sort_by_key(|key| std::cmp::Reverse(key.created_at));
        let keys = stored
            .into_iter()
            .map(|key| {
                let damaged = || KeyError::Damaged { kid: key.kid.clone() };
                let seed: [u8; 32] = key.private_key.as_slice().try_into().map_err(|_| damaged())?;
                let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
                if signing.verifying_key().to_bytes().as_slice() != key.public_key.as_slice() {
                    return Err(damaged());
                }
                let der = signing.to_pkcs8_der().map_err(|_| damaged())?;
                Ok(RingKey {
                    encoding: EncodingKey::from_ed_der(der.as_bytes()),
                    decoding: DecodingKey::from_ed_der(&key.public_key),
                    signs_from: key.created_at + PICKUP,
                    // The superseded key signs until `PICKUP` after the rotation; its
                    // last token then lives `token_lifetime`, plus the verifier's leeway.
                    retired_at: key.superseded_at.map(|superseded| superseded + PICKUP + token_lifetime + leeway),
                    public_key: key.public_key,
                    kid: key.kid,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { keys })
    }

    /// The key that signs at `now`: the newest one published long enough for every
    /// instance to verify it; the oldest key while none is (a first key, say).
    #[must_use]
    pub(super) fn signing(&self, now: OffsetDateTime) -> Option<(&str, &EncodingKey)> {
        self.keys
            .iter()
            .find(|key| key.signs_from <= now)
            .or_else(|| self.keys.last())
            .map(|key| (key.kid.as_str(), &key.encoding))
    }

    /// The key named `kid`, if it still verifies at `now`.
    #[must_use]
    pub(super) fn verifying(&self, kid: &str, now: OffsetDateTime) -> Option<&DecodingKey> {
        self.keys
            .iter()
            .find(|key| key.kid == kid && key.retired_at.is_none_or(|retired| now < retired))
            .map(|key| &key.decoding)
    }

    /// The public keys that verify at `now`.
    #[must_use]
    pub fn jwks(&self, now: OffsetDateTime) -> Vec<Jwk> {
        self.keys
            .iter()
            .filter(|key| key.retired_at.is_none_or(|retired| now < retired))
            .map(|key| Jwk {
                kty: "OKP",
                crv: "Ed25519",
                x: URL_SAFE_NO_PAD.encode(&key.public_key),
                kid: key.kid.clone(),
                alg: "EdDSA",
                key_use: "sig",
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-12-02 10:00:00 UTC);
    const LIFETIME: Duration = Duration::from_secs(900);
    const LEEWAY: Duration = Duration::from_secs(5);

    #[test]
    fn a_generated_key_names_itself_by_the_thumbprint_of_its_public_key() {
        let key = StoredKey::generate(NOW).unwrap();
        assert_eq!(key.private_key.len(), 32);
        assert_eq!(key.public_key.len(), 32);
        assert_eq!(key.kid, thumbprint(&key.public_key));
        assert_ne!(key.kid, StoredKey::generate(NOW).unwrap().kid);
    }

    #[test]
    fn the_thumbprint_is_the_rfc_8037_example() {
        // RFC 8037 appendix A.3: the thumbprint of the example Ed25519 key.
        let x = URL_SAFE_NO_PAD.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
        assert_eq!(thumbprint(&x), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn the_newest_key_signs_and_a_superseded_one_verifies_until_its_tokens_have_expired() {
        let mut old = StoredKey::generate(NOW).unwrap();
        old.superseded_at = Some(NOW + Duration::from_secs(60));
        let new = StoredKey::generate(NOW + Duration::from_secs(60)).unwrap();
        let ring = KeyRing::new(vec![old.clone(), new.clone()], LIFETIME, LEEWAY).unwrap();

        let signer = |at: OffsetDateTime| ring.signing(at).map(|(kid, _)| kid.to_owned());
        let rotated = NOW + Duration::from_secs(60);
        assert_eq!(signer(rotated).as_deref(), Some(old.kid.as_str()), "published before it signs");
        assert_eq!(signer(rotated + PICKUP - Duration::from_millis(1)).as_deref(), Some(old.kid.as_str()));
        assert_eq!(signer(rotated + PICKUP).as_deref(), Some(new.kid.as_str()));
        assert!(ring.verifying(&new.kid, rotated).is_some(), "verifies from the start");
        let retired = NOW + Duration::from_secs(60) + PICKUP + LIFETIME + LEEWAY;
        let just_before = retired - Duration::from_secs(1);
        assert!(ring.verifying(&old.kid, just_before).is_some());
        assert!(ring.verifying(&old.kid, retired).is_none(), "retired");
        assert!(ring.verifying(&new.kid, retired + LIFETIME).is_some(), "the signing key never retires");
        let listed: Vec<String> = ring.jwks(just_before).into_iter().map(|jwk| jwk.kid).collect();
        assert_eq!(listed, [new.kid.clone(), old.kid.clone()]);
        let listed: Vec<String> = ring.jwks(retired).into_iter().map(|jwk| jwk.kid).collect();
        assert_eq!(listed, [new.kid]);
    }

    #[test]
    fn a_first_key_signs_at_once() {
        let only = StoredKey::generate(NOW).unwrap();
        let ring = KeyRing::new(vec![only.clone()], LIFETIME, LEEWAY).unwrap();
        assert_eq!(ring.signing(NOW).map(|(kid, _)| kid), Some(only.kid.as_str()));
        assert!(KeyRing::default().signing(NOW).is_none());
    }

    #[test]
    fn a_stored_key_whose_halves_do_not_match_is_refused() {
        let mut key = StoredKey::generate(NOW).unwrap();
        key.public_key = StoredKey::generate(NOW).unwrap().public_key;
        assert!(matches!(KeyRing::new(vec![key], LIFETIME, LEEWAY), Err(KeyError::Damaged { .. })));
    }

    #[test]
    fn a_pem_file_gives_its_key_and_anything_else_is_refused() {
        // RFC 8410 §10.3: an Ed25519 private key in PKCS#8 PEM.
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
        let key = StoredKey::from_pem(pem, NOW).unwrap();
        assert_eq!(key.public_key.len(), 32);
        assert!(matches!(
            StoredKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", NOW),
            Err(KeyError::NotAnEd25519Key)
        ));
        assert!(matches!(StoredKey::from_pem("not a key", NOW), Err(KeyError::NotAnEd25519Key)));
    }
}
