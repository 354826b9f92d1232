//! The email address value object: parsed once at the edge, valid ever after.

use std::fmt;
use std::hash::{Hash, Hasher};

use thiserror::Error;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Why a text is not an acceptable email address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EmailAddressError {
    #[error("email address is empty")]
    Empty,
    #[error("email address is longer than 254 characters")]
    TooLong,
    #[error("email address must contain exactly one '@'")]
    NotExactlyOneAt,
    #[error("email address has nothing before the '@'")]
    EmptyLocalPart,
    #[error("the part before the '@' is longer than 64 characters")]
    LocalPartTooLong,
    #[error("email domain must be a name with a dot, such as example.com")]
    InvalidDomain,
    #[error("email address must not contain spaces, control, format or bidirectional-override characters")]
    ForbiddenCharacter,
}

/// An email address as the user typed it (trimmed), compared case-insensitively:
/// `Bob@Example.com` and `bob@example.com` are the same address.
#[derive(Clone)]
pub struct EmailAddress {
    as_typed: String,
    normalized: String,
}

impl EmailAddress {
    /// Longest address a mail system accepts (RFC 5321 path limit less the brackets).
    pub const MAX_LEN: usize = 254;
    const MAX_LOCAL_LEN: usize = 64;
    const MAX_LABEL_LEN: usize = 63;

    /// An address as stored, held to the rules of v1 only: one stored before format
    /// characters were refused (say, with a zero-width space) must still load, so its
    /// account can sign in and change it.
    ///
    /// # Errors
    /// As [`EmailAddress::parse`], except that format characters are accepted.
    pub fn restore(stored: &str) -> Result<Self, EmailAddressError> {
        Self::parse_with(stored, false)
    }

    /// Parses a user-supplied address.
    ///
    /// # Errors
    /// Returns the first rule the address breaks.
    pub fn parse(raw: &str) -> Result<Self, EmailAddressError> {
        Self::parse_with(raw, true)
    }

    fn parse_with(raw: &str, refuse_format: bool) -> Result<Self, EmailAddressError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EmailAddressError::Empty);
        }
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(EmailAddressError::TooLong);
        }
        // Format characters (zero-width, bidirectional overrides) would let two
        // addresses that look the same name two accounts.
        let forbidden = |c: char| {
            c.is_whitespace() || c.is_control() || (refuse_format && c.general_category() == GeneralCategory::Format)
        };
        if trimmed.chars().any(forbidden) {
            return Err(EmailAddressError::ForbiddenCharacter);
        }
        let mut parts = trimmed.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailAddressError::NotExactlyOneAt);
        };
        if local.is_empty() {
            return Err(EmailAddressError::EmptyLocalPart);
        }
        if local.chars().count() > Self::MAX_LOCAL_LEN {
            return Err(EmailAddressError::LocalPartTooLong);
        }
        if !Self::is_plausible_domain(domain) {
            return Err(EmailAddressError::InvalidDomain);
        }
        Ok(Self { as_typed: trimmed.to_owned(), normalized: trimmed.to_lowercase() })
    }

    /// At least two labels, none empty or too long, none starting or ending with '-'.
    fn is_plausible_domain(domain: &str) -> bool {
        let labels: Vec<&str> = domain.split('.').collect();
        labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.chars().count() <= Self::MAX_LABEL_LEN
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-' || !c.is_ascii())
            })
    }

    /// The address as the user typed it, trimmed.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.as_typed
    }

    /// The lower-cased form that decides uniqueness.
    #[must_use]
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

impl PartialEq for EmailAddress {
    fn eq(&self, other: &Self) -> bool {
        self.normalized == other.normalized
    }
}

impl Eq for EmailAddress {}

impl Hash for EmailAddress {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.normalized.hash(state);
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EmailAddress").field(&self.as_typed).finish()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_typed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrounding_spaces_are_trimmed() {
        let email = EmailAddress::parse("  bob@example.com \n").unwrap();
        assert_eq!(email.as_str(), "bob@example.com");
    }

    #[test]
    fn addresses_differing_only_in_case_are_equal_but_keep_their_spelling() {
        let typed = EmailAddress::parse("Bob@Example.com").unwrap();
        let lower = EmailAddress::parse("bob@example.com").unwrap();
        assert_eq!(typed, lower);
        assert_eq!(typed.as_str(), "Bob@Example.com");
        assert_eq!(typed.normalized(), "bob@example.com");
    }

    #[test]
    fn an_empty_address_is_refused() {
        assert_eq!(EmailAddress::parse("   "), Err(EmailAddressError::Empty));
    }

    #[test]
    fn an_address_needs_exactly_one_at_sign() {
        assert_eq!(EmailAddress::parse("bob.example.com"), Err(EmailAddressError::NotExactlyOneAt));
        assert_eq!(EmailAddress::parse("bob@@example.com"), Err(EmailAddressError::NotExactlyOneAt));
        assert_eq!(EmailAddress::parse("a@b@example.com"), Err(EmailAddressError::NotExactlyOneAt));
    }

    #[test]
    fn the_local_part_must_not_be_empty_or_too_long() {
        assert_eq!(EmailAddress::parse("@example.com"), Err(EmailAddressError::EmptyLocalPart));
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(EmailAddress::parse(&long_local), Err(EmailAddressError::LocalPartTooLong));
    }

    #[test]
    fn the_domain_needs_a_dot_and_well_formed_labels() {
        for bad in [
            "bob@localhost",
            "bob@",
            "bob@.com",
            "bob@example.",
            "bob@exa..mple.com",
            "bob@-example.com",
            "bob@exa_mple.com",
        ] {
            assert_eq!(EmailAddress::parse(bad), Err(EmailAddressError::InvalidDomain), "{bad}");
        }
    }

    #[test]
    fn spaces_and_control_characters_inside_are_refused() {
        assert_eq!(EmailAddress::parse("bo b@example.com"), Err(EmailAddressError::ForbiddenCharacter));
        assert_eq!(EmailAddress::parse("bob@exa\u{0}mple.com"), Err(EmailAddressError::ForbiddenCharacter));
        for invisible in [
            "alice\u{200b}@example.com",
            "alice@exam\u{202e}ple.com",
            "\u{feff}bob@example.com",
            "bob\u{2066}@example.com",
        ] {
            assert_eq!(EmailAddress::parse(invisible), Err(EmailAddressError::ForbiddenCharacter), "{invisible:?}");
            assert!(EmailAddress::restore(invisible).is_ok(), "stored before v2: {invisible:?}");
        }
        assert_eq!(EmailAddress::restore("bob@exa\u{0}mple.com"), Err(EmailAddressError::ForbiddenCharacter));
    }

    #[test]
    fn an_address_of_254_characters_is_accepted_and_255_refused() {
        let domain = format!("{}.{}.{}.{}.com", "d".repeat(60), "e".repeat(60), "f".repeat(60), "g".repeat(60));
        let fits = format!("{}@{domain}", "a".repeat(254 - 1 - domain.len()));
        assert_eq!(fits.len(), 254);
        assert!(EmailAddress::parse(&fits).is_ok());
        let too_long = format!("a{fits}");
        assert_eq!(EmailAddress::parse(&too_long), Err(EmailAddressError::TooLong));
    }

    #[test]
    fn plus_addressing_and_international_domains_are_accepted() {
        assert!(EmailAddress::parse("bob+tasks@example.co.uk").is_ok());
        assert!(EmailAddress::parse("jürgen@bücher.de").is_ok());
    }
}
