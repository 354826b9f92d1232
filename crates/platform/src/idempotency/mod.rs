//! Idempotent creation across retries, restarts and instances.
//!
//! A request with an `Idempotency-Key` first *claims* the key in a short transaction
//! of its own: the row names the caller, the key, a fingerprint of the request and a
//! claim token. The creating unit of work then writes the answer into that row, in
//! the transaction of the effect, so a crash leaves either both or neither. A repeat
//! finds the row: with an answer it is replayed, without one the first request is
//! still running (409), with another fingerprint it is another request (422). A claim
//! whose request died without an answer is taken over once its lease has run out;
//! a key is forgotten 24 hours after it was claimed.

#[cfg(feature = "testing")]
pub mod contract;

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use taskdeck_kernel::{Clock, IdempotencyClaim, IdempotencyKey, RecordedAnswer, StoreError};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::BoxFuture;

/// How long a key keeps its answer for replays.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a claim without an answer holds the key: well past the request timeout,
/// so only a request that died (a crash, a lost process) loses it.
pub const CLAIM_LEASE: Duration = Duration::from_secs(60);

/// What the store holds for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub fingerprint: Vec<u8>,
    pub claimed_at: OffsetDateTime,
    /// `None` while the claiming request has not committed its effect.
    pub answer: Option<RecordedAnswer>,
}

/// What a request may do with its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The key is this request's: perform the effect and record the answer with it.
    Claimed(IdempotencyClaim),
    /// The same request was answered before: send this again.
    Replay(RecordedAnswer),
    /// The same request is still being performed by another attempt.
    InProgress,
    /// The key was used with another request.
    OtherRequest,
}

/// What a stored key stands for to a request with `fingerprint`, the same on every
/// backend: `None` when the key is free to take over (expired, or its claim
/// abandoned), else the outcome to answer.
#[must_use]
pub fn decide(stored: StoredKey, fingerprint: &[u8], now: OffsetDateTime) -> Option<ClaimOutcome> {
    let age = now - stored.claimed_at;
    if age >= REPLAY_WINDOW {
        return None;
    }
    let same = stored.fingerprint == fingerprint;
    match stored.answer {
        Some(answer) if same => Some(ClaimOutcome::Replay(answer)),
        Some(_) => Some(ClaimOutcome::OtherRequest),
        None if age >= CLAIM_LEASE => None,
        None if same => Some(ClaimOutcome::InProgress),
        None => Some(ClaimOutcome::OtherRequest),
    }
}

/// Where keys are claimed, released and purged. The answer itself is written by the
/// creating unit of work (see each backend's unit of work).
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` of `caller` for a request with `fingerprint`, or tells what the
    /// key already stands for. Atomic: of concurrent claims, exactly one is granted.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn claim<'a>(
        &'a self,
        caller: &'a str,
        key: &'a IdempotencyKey,
        fingerprint: &'a [u8],
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<ClaimOutcome, StoreError>>;

    /// Gives up a claim whose request failed before recording an answer, so a retry
    /// may proceed at once. A claim that has its answer stays.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn release<'a>(&'a self, claim: &'a IdempotencyClaim) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Forgets every key claimed before `cutoff`; returns how many.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn purge_claimed_before(&self, cutoff: OffsetDateTime) -> BoxFuture<'_, Result<u64, StoreError>>;
}

/// A new claim token for `caller`'s `key`.
#[must_use]
pub fn new_claim(caller: &str, key: &IdempotencyKey) -> IdempotencyClaim {
    IdempotencyClaim { caller: caller.to_owned(), key: key.clone(), token: Uuid::new_v4() }
}

/// The idempotency service every creating route shares.
#[derive(Clone)]
pub struct Idempotency {
    store: Arc<dyn IdempotencyStore>,
    /// Shared: every request's state holds a copy of this.
    keyed: Arc<Hmac<Sha256>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Idempotency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idempotency").finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a request fingerprint key must not be empty")]
pub struct InvalidFingerprintKey;

impl Idempotency {
    /// Fingerprints are MACs under `key`: a registration's body holds a password, and a
    /// plain hash of it kept for a day would be a fast password verifier.
    ///
    /// # Errors
    /// `InvalidFingerprintKey` for an empty key.
    pub fn new(
        store: Arc<dyn IdempotencyStore>,
        key: &[u8],
        clock: Arc<dyn Clock>,
    ) -> Result<Self, InvalidFingerprintKey> {
        if key.is_empty() {
            return Err(InvalidFingerprintKey);
        }
        let keyed = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|_| InvalidFingerprintKey)?;
        Ok(Self { store, keyed: Arc::new(keyed), clock })
    }

    /// The fingerprint of a request made of `parts` (say method, path and body); each
    /// part is length-prefixed, so no two requests share one by splitting differently.
    #[must_use]
    pub fn fingerprint(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = Hmac::clone(&self.keyed);
        for part in parts {
            mac.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    pub async fn claim(
        &self,
        caller: &str,
        key: &IdempotencyKey,
        fingerprint: &[u8],
    ) -> Result<ClaimOutcome, StoreError> {
        self.store.claim(caller, key, fingerprint, self.clock.now()).await
    }

    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    pub async fn release(&self, claim: &IdempotencyClaim) -> Result<(), StoreError> {
        self.store.release(claim).await
    }

    /// Forgets the keys older than the replay window; returns how many.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.store.purge_claimed_before(self.clock.now() - REPLAY_WINDOW).await
    }
}

#[cfg(test)]
mod tests {
    use taskdeck_kernel::FixedClock;
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-12-03 12:00:00 UTC);

    fn answer() -> RecordedAnswer {
        RecordedAnswer { status: 201, location: Some("/x".into()), entity_tag: None, body: b"{}".to_vec() }
    }

    fn stored(age: Duration, answered: bool) -> StoredKey {
        StoredKey { fingerprint: b"same".to_vec(), claimed_at: NOW - age, answer: answered.then(answer) }
    }

    #[test]
    fn an_answered_key_replays_for_the_same_request_and_refuses_another() {
        let second = Duration::from_secs(1);
        assert_eq!(decide(stored(second, true), b"same", NOW), Some(ClaimOutcome::Replay(answer())));
        assert_eq!(decide(stored(second, true), b"other", NOW), Some(ClaimOutcome::OtherRequest));
        let almost_a_day = REPLAY_WINDOW - second;
        assert_eq!(decide(stored(almost_a_day, true), b"same", NOW), Some(ClaimOutcome::Replay(answer())));
    }

    #[test]
    fn a_running_claim_is_in_progress_until_its_lease_ends() {
        let second = Duration::from_secs(1);
        assert_eq!(decide(stored(second, false), b"same", NOW), Some(ClaimOutcome::InProgress));
        assert_eq!(decide(stored(second, false), b"other", NOW), Some(ClaimOutcome::OtherRequest));
        assert_eq!(decide(stored(CLAIM_LEASE, false), b"same", NOW), None);
        assert_eq!(decide(stored(CLAIM_LEASE, false), b"other", NOW), None);
    }

    #[test]
    fn after_the_replay_window_a_key_is_free_again() {
        assert_eq!(decide(stored(REPLAY_WINDOW, true), b"other", NOW), None);
        assert_eq!(decide(stored(REPLAY_WINDOW, true), b"same", NOW), None);
    }

    struct Nowhere;
    impl IdempotencyStore for Nowhere {
        fn claim<'a>(
            &'a self,
            _: &'a str,
            _: &'a IdempotencyKey,
            _: &'a [u8],
            _: OffsetDateTime,
        ) -> BoxFuture<'a, Result<ClaimOutcome, StoreError>> {
            Box::pin(async { Ok(ClaimOutcome::InProgress) })
        }
        fn release<'a>(&'a self, _: &'a IdempotencyClaim) -> BoxFuture<'a, Result<(), StoreError>> {
            Box::pin(async { Ok(()) })
        }
        fn purge_claimed_before(&self, _: OffsetDateTime) -> BoxFuture<'_, Result<u64, StoreError>> {
            Box::pin(async { Ok(0) })
        }
    }

    fn service(key: &[u8]) -> Idempotency {
        Idempotency::new(Arc::new(Nowhere), key, Arc::new(FixedClock::at(NOW))).unwrap()
    }

    #[test]
    fn fingerprints_depend_on_every_part_its_boundaries_and_the_key() {
        let one = service(b"one key");
        let base = one.fingerprint(&[b"POST", b"/api/projects", b"{\"name\":\"Home\"}"]);
        assert_eq!(base, one.fingerprint(&[b"POST", b"/api/projects", b"{\"name\":\"Home\"}"]));
        assert_ne!(base, one.fingerprint(&[b"POST", b"/api/projects", b"{\"name\":\"Work\"}"]));
        assert_ne!(base, one.fingerprint(&[b"POST", b"/api/projects/1/tasks", b"{\"name\":\"Home\"}"]));
        assert_ne!(one.fingerprint(&[b"ab", b"c"]), one.fingerprint(&[b"a", b"bc"]), "parts are delimited");
        assert_ne!(base, service(b"another key").fingerprint(&[b"POST", b"/api/projects", b"{\"name\":\"Home\"}"]));
        assert!(Idempotency::new(Arc::new(Nowhere), b"", Arc::new(FixedClock::at(NOW))).is_err());
    }
}
