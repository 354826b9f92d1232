//! Passwords: the policy a new password must meet, and the stored hash.

use std::fmt;

use thiserror::Error;

/// Why a password is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PasswordPolicyError {
    #[error("password must be at least {min} characters long")]
    TooShort { min: usize },
    #[error("password must be at most {max} characters long")]
    TooLong { max: usize },
}

/// A password in clear text that meets the policy. It never appears in logs.
#[derive(Clone)]
pub struct PlainPassword(String);

impl PlainPassword {
    pub const MIN_CHARS: usize = 8;
    /// Bounded so that nobody can make the server hash a megabyte.
    pub const MAX_CHARS: usize = 128;

    /// Checks a new password against the policy. Passwords are not trimmed: every
    /// character the user typed counts.
    ///
    /// # Errors
    /// When the password is shorter than 8 or longer than 128 characters.
    pub fn new(raw: impl Into<String>) -> Result<Self, PasswordPolicyError> {
        let raw = raw.into();
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(PasswordPolicyError::TooShort { min: Self::MIN_CHARS });
        }
        if chars > Self::MAX_CHARS {
            return Err(PasswordPolicyError::TooLong { max: Self::MAX_CHARS });
        }
        Ok(Self(raw))
    }

    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PlainPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainPassword(<redacted>)")
    }
}

/// A slow, salted hash of a password in PHC string form (`$argon2id$...`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a hash produced by the password hasher or read back from storage.
    #[must_use]
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    #[must_use]
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_of_eight_characters_is_accepted() {
        assert!(PlainPassword::new("12345678").is_ok());
    }

    #[test]
    fn a_password_of_seven_characters_is_too_short() {
        assert_eq!(PlainPassword::new("1234567").err(), Some(PasswordPolicyError::TooShort { min: 8 }));
    }

    #[test]
    fn a_password_of_128_characters_is_accepted_and_129_is_too_long() {
        assert!(PlainPassword::new("x".repeat(128)).is_ok());
        assert_eq!(PlainPassword::new("x".repeat(129)).err(), Some(PasswordPolicyError::TooLong { max: 128 }));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(PlainPassword::new("ééééééé").is_err(), "7 characters, 14 bytes");
        assert!(PlainPassword::new("éééééééé").is_ok());
    }

    #[test]
    fn spaces_are_part_of_the_password() {
        assert_eq!(PlainPassword::new("  pass  ").unwrap().expose(), "  pass  ");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let password = PlainPassword::new("hunter2hunter2").unwrap();
        assert!(!format!("{password:?}").contains("hunter2"));
        let hash = PasswordHash::from_phc("$argon2id$v=19$secret".into());
        assert!(!format!("{hash:?}").contains("secret"));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_password_is_accepted_exactly_when_it_holds_8_to_128_characters_and_kept_as_typed(
            raw in prop_oneof![any::<String>(), ".{0,140}", "[ a-z\u{e9}\u{1f600}]{6,10}", "x{120,135}"],
        ) {
            let chars = raw.chars().count();
            match PlainPassword::new(raw.clone()) {
                Ok(password) => {
                    prop_assert!((PlainPassword::MIN_CHARS..=PlainPassword::MAX_CHARS).contains(&chars));
                    prop_assert_eq!(password.expose(), raw.as_str());
                }
                Err(PasswordPolicyError::TooShort { .. }) => prop_assert!(chars < PlainPassword::MIN_CHARS),
                Err(PasswordPolicyError::TooLong { .. }) => prop_assert!(chars > PlainPassword::MAX_CHARS),
            }
        }
    }
}
