//! Page cursors: what a list needs to go on (its position and filters), sealed with a
//! MAC under a key of this installation, so a client can hand back only a cursor the
//! server gave it, for the list it was given for.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

/// Bytes of the MAC a cursor carries: 128 bits, far beyond guessing over HTTP.
const TAG_BYTES: usize = 16;
/// The longest cursor accepted, before anything is decoded.
const MAX_CURSOR_CHARS: usize = 2048;

/// Seals and opens the cursors of every list.
#[derive(Clone)]
pub struct PageCursors {
    /// Shared: every request's state holds a copy of this.
    keyed: Arc<Hmac<Sha256>>,
}

/// The cursor was not made by this installation for this list: malformed, altered,
/// another user's or another list's.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("the cursor is malformed, or was not issued for this list")]
pub struct InvalidCursor;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("a page cursor key must not be empty")]
pub struct InvalidCursorKey;

impl PageCursors {
    /// Cursors under `key` (every instance of one database shares it).
    ///
    /// # Errors
    /// `InvalidCursorKey` for an empty key.
    pub fn new(key: &[u8]) -> Result<Self, InvalidCursorKey> {
        if key.is_empty() {
            return Err(InvalidCursorKey);
        }
        let keyed = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|_| InvalidCursorKey)?;
        Ok(Self { keyed: Arc::new(keyed) })
    }

    fn tag(&self, scope: &[u8], payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::clone(&self.keyed);
        // The scope's length first, so no scope and payload can be split another way.
        mac.update(&u64::try_from(scope.len()).unwrap_or(u64::MAX).to_be_bytes());
        mac.update(scope);
        mac.update(payload);
        mac
    }

    /// The cursor carrying `payload` for the list `scope` names (say, a user and a
    /// project); only the same scope opens it.
    #[must_use]
    pub fn seal(&self, scope: &[u8], payload: &[u8]) -> String {
        let tag = self.tag(scope, payload).finalize().into_bytes();
        let mut bytes = Vec::with_capacity(TAG_BYTES + payload.len());
        bytes.extend_from_slice(&tag[..TAG_BYTES]);
        bytes.extend_from_slice(payload);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The payload of a cursor sealed for `scope`.
    ///
    /// # Errors
    /// `InvalidCursor` for anything else.
    pub fn open(&self, scope: &[u8], cursor: &str) -> Result<Vec<u8>, InvalidCursor> {
        if cursor.len() > MAX_CURSOR_CHARS {
            return Err(InvalidCursor);
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| InvalidCursor)?;
        if bytes.len() < TAG_BYTES {
            return Err(InvalidCursor);
        }
        let (tag, payload) = bytes.split_at(TAG_BYTES);
        self.tag(scope, payload).verify_truncated_left(tag).map_err(|_| InvalidCursor)?;
        Ok(payload.to_vec())
    }
}

impl std::fmt::Debug for PageCursors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCursors").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_cursor_opens_for_its_scope_only() {
        let cursors = PageCursors::new(b"installation key").unwrap();
        let cursor = cursors.seal(b"alice/tasks/7", b"{\"after\":42}");
        assert_eq!(cursors.open(b"alice/tasks/7", &cursor), Ok(b"{\"after\":42}".to_vec()));
        assert_eq!(cursors.open(b"bob/tasks/7", &cursor), Err(InvalidCursor));
        assert_eq!(cursors.open(b"alice/tasks/8", &cursor), Err(InvalidCursor));
        assert_eq!(
            PageCursors::new(b"another installation").unwrap().open(b"alice/tasks/7", &cursor),
            Err(InvalidCursor)
        );
    }

    #[test]
    fn any_altered_byte_or_garbage_is_refused() {
        let cursors = PageCursors::new(b"installation key").unwrap();
        let cursor = cursors.seal(b"scope", b"{\"after\":42}");
        let mut bytes = URL_SAFE_NO_PAD.decode(&cursor).unwrap();
        for index in 0..bytes.len() {
            bytes[index] ^= 1;
            assert_eq!(cursors.open(b"scope", &URL_SAFE_NO_PAD.encode(&bytes)), Err(InvalidCursor), "byte {index}");
            bytes[index] ^= 1;
        }
        for garbage in ["", "not base64!", "AAAA", &"A".repeat(4096), "%00", "eyJhZnRlciI6NDJ9"] {
            assert_eq!(cursors.open(b"scope", garbage), Err(InvalidCursor), "{garbage:?}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn cursors() -> PageCursors {
        PageCursors::new(b"installation key").unwrap()
    }

    proptest! {
        #[test]
        fn a_genuine_cursor_opens_to_what_was_sealed(
            scope in prop::collection::vec(any::<u8>(), 0..40),
            payload in prop::collection::vec(any::<u8>(), 0..300),
        ) {
            let cursor = cursors().seal(&scope, &payload);
            prop_assert!(cursor.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'), "{}", cursor);
            prop_assert_eq!(cursors().open(&scope, &cursor), Ok(payload));
        }

        #[test]
        fn a_tampered_cursor_is_refused(
            scope in prop::collection::vec(any::<u8>(), 0..40),
            payload in prop::collection::vec(any::<u8>(), 0..300),
            at in any::<prop::sample::Index>(),
            flip in 1..=255_u8,
        ) {
            let mut bytes = URL_SAFE_NO_PAD.decode(cursors().seal(&scope, &payload)).unwrap();
            let index = at.index(bytes.len());
            bytes[index] ^= flip;
            prop_assert_eq!(cursors().open(&scope, &URL_SAFE_NO_PAD.encode(&bytes)), Err(InvalidCursor));
        }

        #[test]
        fn a_truncated_or_extended_cursor_is_refused(
            scope in prop::collection::vec(any::<u8>(), 0..40),
            payload in prop::collection::vec(any::<u8>(), 0..300),
            keep in any::<prop::sample::Index>(),
            extra in prop::collection::vec(any::<u8>(), 1..8),
        ) {
            let bytes = URL_SAFE_NO_PAD.decode(cursors().seal(&scope, &payload)).unwrap();
            let truncated = &bytes[..keep.index(bytes.len())];
            prop_assert_eq!(cursors().open(&scope, &URL_SAFE_NO_PAD.encode(truncated)), Err(InvalidCursor));
            let cursor = cursors().seal(&scope, &payload);
            // Cut at any character: what is left is either no base64 or another MAC's input.
            for end in 0..cursor.len() {
                prop_assert_eq!(cursors().open(&scope, &cursor[..end]), Err(InvalidCursor), "{} of {}", end, cursor.len());
            }
            let extended = [bytes.as_slice(), extra.as_slice()].concat();
            prop_assert_eq!(cursors().open(&scope, &URL_SAFE_NO_PAD.encode(extended)), Err(InvalidCursor));
        }

        #[test]
        fn any_text_that_is_no_cursor_is_refused_without_panicking(
            scope in prop::collection::vec(any::<u8>(), 0..40),
            text in prop_oneof![any::<String>(), "[A-Za-z0-9_-]{0,64}", "[A-Za-z0-9_-]{2040,2060}"],
        ) {
            prop_assert_eq!(cursors().open(&scope, &text), Err(InvalidCursor));
        }
    }
}
