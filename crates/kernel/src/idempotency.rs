//! Idempotent creation: what a creating command needs to write, in its own unit of
//! work, so that a client's retry of the same request is answered from the record
//! instead of creating a second resource.

use std::fmt;

use thiserror::Error;
use uuid::Uuid;

/// The longest key a client may send.
pub const MAX_KEY_LEN: usize = 255;

/// A client's `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

#[derive(Debug, Clone, Copy, Error, PartialEq, Eq)]
pub enum InvalidIdempotencyKey {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most 255 characters long")]
    TooLong,
    #[error("must hold only visible ASCII characters (no spaces or control characters)")]
    NotVisibleAscii,
}

impl IdempotencyKey {
    /// # Errors
    /// When `raw` is empty, longer than 255 bytes, or holds anything but `!` to `~`.
    pub fn parse(raw: &str) -> Result<Self, InvalidIdempotencyKey> {
        if raw.is_empty() {
            return Err(InvalidIdempotencyKey::Empty);
        }
        if !raw.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(InvalidIdempotencyKey::NotVisibleAscii);
        }
        if raw.len() > MAX_KEY_LEN {
            return Err(InvalidIdempotencyKey::TooLong);
        }
        Ok(Self(raw.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The right, granted to one request, to perform the effect for `key` of `caller`.
/// `token` tells this request's claim from a later one that took over an abandoned key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// Whose key it is: a user id, or `anonymous` for a registration.
    pub caller: String,
    pub key: IdempotencyKey,
    pub token: Uuid,
}

/// The answer to replay, exactly as it was first sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAnswer {
    pub status: u16,
    pub location: Option<String>,
    pub entity_tag: Option<String>,
    /// The JSON body, byte for byte.
    pub body: Vec<u8>,
}

/// Handed to a creating use case by a request that holds a claim: the use case writes
/// `render`'s answer for the created resource in the unit of work of the creation.
pub struct Receipt<'a, V> {
    pub claim: &'a IdempotencyClaim,
    pub render: &'a (dyn Fn(&V) -> RecordedAnswer + Sync),
}

impl<V> fmt::Debug for Receipt<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receipt").field("claim", &self.claim).finish_non_exhaustive()
    }
}

impl<V> Clone for Receipt<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Receipt<'_, V> {}

impl<V> Receipt<'_, V> {
    /// The answer to record for `created`.
    #[must_use]
    pub fn answer(&self, created: &V) -> RecordedAnswer {
        (self.render)(created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_of_visible_ascii_up_to_255_characters_is_accepted_as_sent() {
        for raw in ["a", "0f6c1d0e-4c1b-4b43-9a37-2b1e0d4b9c11", "!~#$%&'()*+,-./:;<=>?@[]^_`{|}", &"k".repeat(255)] {
            assert_eq!(IdempotencyKey::parse(raw).unwrap().as_str(), raw);
        }
    }

    #[test]
    fn an_empty_long_or_invisible_key_is_refused() {
        assert_eq!(IdempotencyKey::parse(""), Err(InvalidIdempotencyKey::Empty));
        assert_eq!(IdempotencyKey::parse(&"k".repeat(256)), Err(InvalidIdempotencyKey::TooLong));
        for raw in ["with space", "tab\tkey", "nul\0key", "line\nbreak", "del\u{7f}", "caf\u{e9}", "\u{202e}rtl"] {
            assert_eq!(IdempotencyKey::parse(raw), Err(InvalidIdempotencyKey::NotVisibleAscii), "{raw:?}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_key_is_accepted_exactly_when_it_is_1_to_255_visible_ascii_characters_and_kept_as_sent(
            raw in prop_oneof![any::<String>(), "[!-~]{0,260}", "[!-~]{1,20}[ \\t\\u{0}\\u{7f}\\u{e9}\\u{202e}\\u{200b}][!-~]{0,20}"],
        ) {
            let visible = !raw.is_empty() && raw.len() <= MAX_KEY_LEN && raw.bytes().all(|byte| byte.is_ascii_graphic());
            match IdempotencyKey::parse(&raw) {
                Ok(key) => {
                    prop_assert!(visible, "{:?}", raw);
                    prop_assert_eq!(key.as_str(), raw.as_str());
                    prop_assert_eq!(IdempotencyKey::parse(key.as_str()), Ok(key.clone()));
                }
                Err(_) => prop_assert!(!visible, "{:?}", raw),
            }
        }
    }
}
