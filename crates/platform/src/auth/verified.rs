//! Tokens this instance has verified already. An Ed25519 signature check costs tens of
//! microseconds — more than the rest of a cached read — while a client sends the same
//! access token with every request for its whole lifetime. So the outcome of a full
//! verification is remembered per token (the whole token: the same signature under
//! another header or payload is another token) until the token expires; a hit still
//! checks the expiry and that the token's key verifies now, so a retired key takes its
//! tokens with it.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use super::Verified;

/// Tokens remembered at most; beyond, the expired are dropped, and if that is not
/// enough, all (each is verified once more). At ~400 bytes each, a few MiB.
const CAPACITY: usize = 8192;

#[derive(Debug)]
struct Entry {
    verified: Verified,
    kid: String,
    /// The last second the token is accepted (its `exp` plus the leeway).
    accepted_until: i64,
}

#[derive(Debug, Default)]
pub(super) struct VerifiedTokens {
    entries: RwLock<HashMap<String, Entry>>,
}

impl VerifiedTokens {
    /// Who `token` was issued to, if it was verified here and is still acceptable at
    /// `now` (Unix seconds) with a key `verifies_with` still accepts.
    pub(super) fn recall(&self, token: &str, now: i64, verifies_with: impl FnOnce(&str) -> bool) -> Option<Verified> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get(token)?;
        (now <= entry.accepted_until && verifies_with(&entry.kid)).then_some(entry.verified)
    }

    /// Remembers a token that passed the full verification.
    pub(super) fn remember(&self, token: &str, kid: &str, accepted_until: i64, now: i64, verified: Verified) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CAPACITY {
            entries.retain(|_, entry| entry.accepted_until >= now);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(token.to_owned(), Entry { verified, kid: kid.to_owned(), accepted_until });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(PoisonError::into_inner).len()
    }
}

#[cfg(test)]
mod tests {
    use taskdeck_kernel::UserId;
    use uuid::Uuid;

    use super::*;

    fn verified() -> Verified {
        Verified { user: UserId::generate(), session: Uuid::new_v4() }
    }

    #[test]
    fn a_remembered_token_is_recalled_until_it_expires_and_while_its_key_verifies() {
        let cache = VerifiedTokens::default();
        let alice = verified();
        cache.remember("token-a", "key-1", 100, 0, alice);
        assert_eq!(cache.recall("token-a", 100, |kid| kid == "key-1"), Some(alice));
        assert_eq!(cache.recall("token-a", 101, |_| true), None, "expired");
        assert_eq!(cache.recall("token-a", 50, |kid| kid == "key-2"), None, "its key retired");
        assert_eq!(cache.recall("token-b", 50, |_| true), None, "never verified");
    }

    #[test]
    fn a_full_cache_drops_the_expired_first_then_everything() {
        let cache = VerifiedTokens::default();
        for index in 0..CAPACITY {
            cache.remember(&format!("token-{index}"), "key", if index % 2 == 0 { 10 } else { 1000 }, 0, verified());
        }
        cache.remember("one more", "key", 1000, 500, verified());
        assert_eq!(cache.len(), CAPACITY / 2 + 1, "the expired half went");
        assert!(cache.recall("token-1", 500, |_| true).is_some());
        for index in 0..CAPACITY {
            cache.remember(&format!("fresh-{index}"), "key", 1000, 500, verified());
        }
        assert!(cache.len() <= CAPACITY, "bounded: {}", cache.len());
        let last = format!("fresh-{}", CAPACITY - 1);
        assert!(cache.recall(&last, 500, |_| true).is_some(), "the newest is kept");
    }
}
