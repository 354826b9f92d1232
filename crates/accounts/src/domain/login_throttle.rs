//! The per-account login throttle: after `MAX_FAILURES` failed logins for one address
//! within `WINDOW`, every further attempt for it is refused until the window has
//! passed, a correct password included, so that no one can guess a password at speed.
//!
//! An attempt is counted as failed *before* its password is checked, and given back
//! when the password turns out right: attempts racing each other (on one instance or
//! on several) cannot all slip through while the first of them is still hashing.

use std::fmt;
use std::time::Duration;

use sha2::{Digest, Sha256};
use taskdeck_kernel::EmailAddress;
use time::OffsetDateTime;

/// Failed logins allowed per address within one window.
pub const MAX_FAILURES: u32 = 5;
/// How long a window lasts from its first failed login.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Whom a throttle counts for: the SHA-256 of the address in the canonical form that
/// names accounts ([`EmailAddress::canonical_form`]), so that no other spelling of an
/// address (letter case, composed or decomposed accents, fullwidth letters) gets
/// attempts of its own. Unknown and malformed addresses get a key alike, so a refusal
/// reveals nothing about which accounts exist; and the stored throttles name no
/// address, so erasing an account leaves none behind.
///
/// Throttles counted before the canonical form (v1: lower case only) are keyed
/// differently and so forgotten: at most one window's failures, once.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThrottleKey([u8; 32]);

impl ThrottleKey {
    #[must_use]
    pub fn for_login(email: &str) -> Self {
        Self(Sha256::digest(EmailAddress::canonical_form(email).as_bytes()).into())
    }

    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key's first four bytes in hex: enough for logs to tell the attempts on one
    /// address from those on another, without naming the address.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        self.0[..4].iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

impl fmt::Debug for ThrottleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ThrottleKey({}…)", self.fingerprint())
    }
}

/// A stored throttle, as the repository hands it over. `version` 0 means "not stored".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginThrottleState {
    pub key: ThrottleKey,
    /// The first failed login of the current window; `None` before any.
    pub window_started_at: Option<OffsetDateTime>,
    pub failures: u32,
    pub version: i64,
}

/// The answer to an attempt while the throttle is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Until the window has passed, in whole seconds rounded up (at least 1).
    pub retry_after: Duration,
}

/// Proof that an attempt was let through and counted: what `succeeded` gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    window_started_at: OffsetDateTime,
}

/// The failed logins of one address.
#[derive(Debug, Clone)]
pub struct LoginThrottle {
    state: LoginThrottleState,
}

impl LoginThrottle {
    /// A throttle that has seen no failed login.
    #[must_use]
    pub const fn new(key: ThrottleKey) -> Self {
        Self { state: LoginThrottleState { key, window_started_at: None, failures: 0, version: 0 } }
    }

    #[must_use]
    pub const fn restore(state: LoginThrottleState) -> Self {
        Self { state }
    }

    /// Lets an attempt through at `now` and counts it as failed until `succeeded` says
    /// otherwise; a window that has passed starts afresh.
    ///
    /// # Errors
    /// `Throttled` once the window holds `MAX_FAILURES` failures; the refused attempt
    /// is not counted, so the window ends when it would have.
    pub fn admit(&mut self, now: OffsetDateTime) -> Result<Admission, Throttled> {
        let started = match self.state.window_started_at {
            Some(started) if now < started + WINDOW => started,
            _ => {
                self.state.failures = 0;
                now
            }
        };
        if self.state.failures >= MAX_FAILURES {
            return Err(Throttled { retry_after: whole_seconds_until(started + WINDOW, now) });
        }
        self.state.window_started_at = Some(started);
        self.state.failures += 1;
        Ok(Admission { window_started_at: started })
    }

    /// The admitted attempt had the right password: it was no failure.
    pub fn succeeded(&mut self, admission: Admission) {
        self.give_back(admission);
    }

    /// The admitted attempt's password was never checked (the hashing was shed under
    /// load): it guessed nothing, so it is no failure either. Otherwise a client that
    /// retries through an overload would lock its own account.
    pub fn not_checked(&mut self, admission: Admission) {
        self.give_back(admission);
    }

    /// If the attempt's window has been replaced meanwhile, there is nothing of it left
    /// to give back.
    fn give_back(&mut self, admission: Admission) {
        if self.state.window_started_at == Some(admission.window_started_at) {
            self.state.failures = self.state.failures.saturating_sub(1);
        }
    }

    #[must_use]
    pub fn state(&self) -> &LoginThrottleState {
        &self.state
    }

    /// Called by the repository once the new state is stored.
    pub fn mark_saved(&mut self) {
        self.state.version += 1;
    }
}

fn whole_seconds_until(until: OffsetDateTime, now: OffsetDateTime) -> Duration {
    let remaining = until - now;
    let seconds = remaining.whole_seconds() + i64::from(remaining.subsec_nanoseconds() > 0);
    Duration::from_secs(u64::try_from(seconds.max(1)).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-12-02 10:00:00 UTC);

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(ThrottleKey::for_login("bob@example.com"))
    }

    #[test]
    fn the_key_ignores_case_and_surrounding_spaces_and_differs_per_address() {
        let key = ThrottleKey::for_login("bob@example.com");
        assert_eq!(ThrottleKey::for_login("  Bob@EXAMPLE.com "), key);
        assert_ne!(ThrottleKey::for_login("alice@example.com"), key);
        // Not an address at all: throttled like any other.
        assert_ne!(ThrottleKey::for_login("not an address"), ThrottleKey::for_login(""));
    }

    #[test]
    fn every_spelling_of_one_address_counts_against_one_throttle() {
        let key = ThrottleKey::for_login("jos\u{e9}@example.com");
        for spelling in ["jose\u{301}@example.com", "JOS\u{c9}@EXAMPLE.COM", "ｊｏｓ\u{e9}@example.com"] {
            assert_eq!(ThrottleKey::for_login(spelling), key, "{spelling:?}");
        }
        assert_eq!(ThrottleKey::for_login("STRASSE@example.de"), ThrottleKey::for_login("stra\u{df}e@example.de"));
    }

    #[test]
    fn the_fingerprint_is_the_keys_first_four_bytes_in_hex() {
        let key = ThrottleKey::from_bytes([
            0xab, 0x01, 0x00, 0xff, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
        ]);
        assert_eq!(key.fingerprint(), "ab0100ff");
        assert_eq!(format!("{key:?}"), "ThrottleKey(ab0100ff…)");
        let bob = ThrottleKey::for_login("bob@example.com");
        assert_eq!(bob.fingerprint(), ThrottleKey::for_login(" BOB@example.com").fingerprint());
        assert_ne!(bob.fingerprint(), ThrottleKey::for_login("alice@example.com").fingerprint());
    }

    #[test]
    fn five_failures_within_the_window_close_it_until_the_window_has_passed() {
        let mut throttle = throttle();
        for minute in 0..5 {
            assert!(throttle.admit(NOW + Duration::from_secs(minute * 60)).is_ok(), "attempt {minute}");
        }
        let refused = throttle.admit(NOW + Duration::from_secs(5 * 60)).unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(10 * 60), "the window began with the first failure");
        assert_eq!(throttle.state().failures, 5, "a refused attempt is not counted");

        let last_moment = NOW + WINDOW - Duration::from_millis(1);
        assert_eq!(throttle.admit(last_moment).unwrap_err().retry_after, Duration::from_secs(1));
        assert!(throttle.admit(NOW + WINDOW).is_ok(), "a new window");
        assert_eq!(throttle.state().failures, 1);
        assert_eq!(throttle.state().window_started_at, Some(NOW + WINDOW));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let mut throttle = throttle();
        for _ in 0..5 {
            throttle.admit(NOW).unwrap();
        }
        let refused = throttle.admit(NOW + Duration::from_millis(1500)).unwrap_err();
        assert_eq!(refused.retry_after, WINDOW - Duration::from_secs(1));
    }

    #[test]
    fn an_attempt_whose_password_was_never_checked_is_no_failure() {
        let mut throttle = throttle();
        for _ in 0..4 {
            throttle.admit(NOW).unwrap();
        }
        for _ in 0..10 {
            let admission = throttle.admit(NOW).unwrap();
            throttle.not_checked(admission);
        }
        assert_eq!(throttle.state().failures, 4);
        assert!(throttle.admit(NOW).is_ok(), "the fifth failure");
        assert!(throttle.admit(NOW).is_err(), "closes the window");
    }

    #[test]
    fn a_correct_password_gives_its_attempt_back_but_keeps_earlier_failures() {
        let mut throttle = throttle();
        for _ in 0..4 {
            throttle.admit(NOW).unwrap();
        }
        let admission = throttle.admit(NOW).unwrap();
        throttle.succeeded(admission);
        assert_eq!(throttle.state().failures, 4);
        let admission = throttle.admit(NOW).unwrap();
        throttle.succeeded(admission);
        assert!(throttle.admit(NOW).is_ok(), "successes never close the window");
        assert!(throttle.admit(NOW).is_err(), "but the fifth failure does");
    }

    #[test]
    fn a_correct_password_after_the_window_was_replaced_gives_nothing_back() {
        let mut throttle = throttle();
        let old = throttle.admit(NOW).unwrap();
        throttle.admit(NOW + WINDOW).unwrap();
        throttle.succeeded(old);
        assert_eq!(throttle.state().failures, 1, "the new window's failure stays");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use unicode_normalization::UnicodeNormalization;

    use super::*;

    proptest! {
        #[test]
        fn spellings_of_one_text_share_a_key(text in prop_oneof![any::<String>(), "[a-zA-Z\u{e9}\u{301}\u{df}\u{ff21}-\u{ff3a}@. ]{0,30}"]) {
            let key = ThrottleKey::for_login(&text);
            prop_assert_eq!(ThrottleKey::for_login(&text.nfd().collect::<String>()), key);
            prop_assert_eq!(ThrottleKey::for_login(&text.to_ascii_uppercase()), key);
            prop_assert_eq!(ThrottleKey::for_login(&format!("  {text}\t")), key);
        }
    }
}
