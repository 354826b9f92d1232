//! The email address value object: parsed once at the edge, valid ever after.

use std::fmt;
use std::hash::{Hash, Hasher};

use caseless::Caseless;
use thiserror::Error;
use unicode_normalization::UnicodeNormalization;
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

/// An email address as the user typed it (trimmed), compared in its canonical form:
/// Unicode NFKC, then full case folding, then NFKC again. `Bob@Example.com` and
/// `bob@example.com` are one address, and so are `josé@example.com` composed and
/// decomposed, `ｊｏｓｅ@example.com` and `jose@example.com`, `STRASSE@example.de` and
/// `straße@example.de`.
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
    /// account can sign in and change it. The rules apply to the address as typed
    /// alone: one whose canonical form breaks them (a fullwidth `＠`, say) was
    /// accepted by v1 and loads all the same.
    ///
    /// # Errors
    /// As [`EmailAddress::parse`], except that format characters are accepted.
    pub fn restore(stored: &str) -> Result<Self, EmailAddressError> {
        let trimmed = stored.trim();
        Self::check(trimmed, false)?;
        Ok(Self { as_typed: trimmed.to_owned(), normalized: Self::canonical_form(trimmed) })
    }

    /// Parses a user-supplied address. The rules hold for the address as typed and for
    /// its canonical form, the one that names the account: compatibility forms can
    /// turn into another `@`, a dot or a space (`¨` becomes a space and a diaeresis).
    ///
    /// # Errors
    /// Returns the first rule the address breaks.
    pub fn parse(raw: &str) -> Result<Self, EmailAddressError> {
        let trimmed = raw.trim();
        Self::check(trimmed, true)?;
        let normalized = Self::canonical_form(trimmed);
        Self::check(&normalized, true)?;
        Ok(Self { as_typed: trimmed.to_owned(), normalized })
    }

    /// The form in which any text, well-formed address or not, is compared with
    /// addresses: trimmed, NFKC, case folded in full (`ß` is `ss`), lower-cased, NFKC
    /// again (folding can leave text that is not normalised), trimmed again (`¨`
    /// begins with a space once normalised).
    ///
    /// The lower-casing after the folding brings the case pairs of Unicode versions
    /// newer than the folding tables (v1 keyed addresses by the standard library's
    /// lower case): no two addresses v1 held to be one come apart.
    #[must_use]
    pub fn canonical_form(text: &str) -> String {
        let folded: String = text.trim().nfkc().default_case_fold().flat_map(char::to_lowercase).nfkc().collect();
        match folded.trim() {
            trimmed if trimmed.len() == folded.len() => folded,
            trimmed => trimmed.to_owned(),
        }
    }

    fn check(address: &str, refuse_format: bool) -> Result<(), EmailAddressError> {
        if address.is_empty() {
            return Err(EmailAddressError::Empty);
        }
        if address.chars().count() > Self::MAX_LEN {
            return Err(EmailAddressError::TooLong);
        }
        // Format characters (zero-width, bidirectional overrides) would let two
        // addresses that look the same name two accounts.
        let forbidden = |c: char| {
            c.is_whitespace() || c.is_control() || (refuse_format && c.general_category() == GeneralCategory::Format)
        };
        if address.chars().any(forbidden) {
            return Err(EmailAddressError::ForbiddenCharacter);
        }
        let mut parts = address.split('@');
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
        Ok(())
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

    /// The canonical form ([`EmailAddress::canonical_form`]): what decides uniqueness
    /// and what login looks up.
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

    #[test]
    fn composed_decomposed_compatibility_and_case_folded_forms_are_one_address() {
        let composed = EmailAddress::parse("jos\u{e9}@example.com").unwrap();
        for same in [
            "jose\u{301}@example.com",
            "JOS\u{c9}@EXAMPLE.COM",
            "JOSE\u{301}@example.com",
            "jos\u{e9}@ＥＸＡＭＰＬＥ.com",
        ] {
            let other = EmailAddress::parse(same).unwrap();
            assert_eq!(other, composed, "{same:?}");
            assert_eq!(other.as_str(), same, "kept as typed");
        }
        assert_eq!(composed.normalized(), "jos\u{e9}@example.com");
        assert_eq!(
            EmailAddress::parse("ｊｏｓｅ@example.com").unwrap(),
            EmailAddress::parse("jose@example.com").unwrap()
        );
        assert_ne!(composed, EmailAddress::parse("jose@example.com").unwrap(), "an accent is not a form");
    }

    #[test]
    fn case_folding_goes_beyond_lower_casing() {
        let folded = EmailAddress::parse("stra\u{df}e@example.de").unwrap();
        assert_eq!(folded.normalized(), "strasse@example.de");
        assert_eq!(folded, EmailAddress::parse("STRASSE@example.de").unwrap());
        assert_eq!(folded, EmailAddress::parse("Stra\u{1e9e}e@example.de").unwrap());
        // Final and medial sigma fold alike; lower-casing keeps them apart.
        assert_eq!(
            EmailAddress::parse("\u{3c3}\u{3bf}\u{3c2}@example.gr"),
            EmailAddress::parse("\u{3a3}\u{39f}\u{3a3}@example.gr")
        );
    }

    #[test]
    fn the_rules_hold_for_the_canonical_form_too() {
        // A fullwidth at sign is an at sign once normalised, a spacing diaeresis a space.
        assert_eq!(EmailAddress::parse("a\u{ff20}b@example.com"), Err(EmailAddressError::NotExactlyOneAt));
        assert_eq!(EmailAddress::parse("bob\u{a8}@example.com"), Err(EmailAddressError::ForbiddenCharacter));
        assert_eq!(
            EmailAddress::parse("bob@exam\u{2488}ple.com"),
            Ok(EmailAddress::parse("bob@exam1.ple.com").unwrap())
        );
        assert_eq!(EmailAddress::parse("bob@a\u{2100}.com"), Err(EmailAddressError::InvalidDomain), "a/c");
        // Stored under v1, which checked the address as typed: it still loads.
        let stored = EmailAddress::restore("a\u{ff20}b@example.com").unwrap();
        assert_eq!(stored.normalized(), "a@b@example.com");
    }

    #[test]
    fn any_text_has_a_canonical_form_for_throttling_and_lookup() {
        assert_eq!(EmailAddress::canonical_form("  NOT AN ADDRESS\t"), "not an address");
        assert_eq!(EmailAddress::canonical_form("Jose\u{301}"), EmailAddress::canonical_form("jos\u{e9}"));
        // Normalising turns the spacing diaeresis into a space and a combining one.
        assert_eq!(EmailAddress::canonical_form("\u{a8}@a.com"), "\u{308}@a.com");
    }

    /// Every code point on its own: the canonical form is a fixed point, whatever the
    /// tables of the normalisation and the folding crates say.
    #[test]
    fn the_canonical_form_of_every_code_point_is_its_own_canonical_form() {
        let mut text = String::with_capacity(4);
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            text.clear();
            text.push('x');
            text.push(c);
            let canonical = EmailAddress::canonical_form(&text);
            assert_eq!(EmailAddress::canonical_form(&canonical), canonical, "U+{:04X}", u32::from(c));
        }
    }

    /// What v1 stored (trimmed, lower-cased) has the canonical form of what was typed,
    /// so a stored key that is not canonical yet can never be the canonical key of
    /// another address (the email key rewrite of the adapters relies on it).
    #[test]
    fn lower_casing_first_never_moves_the_canonical_form() {
        let mut text = String::with_capacity(8);
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            text.clear();
            text.push(c);
            assert_eq!(
                EmailAddress::canonical_form(&text.to_lowercase()),
                EmailAddress::canonical_form(&text),
                "U+{:04X}",
                u32::from(c)
            );
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use unicode_normalization::UnicodeNormalization;

    use super::*;

    /// Characters that make addresses interesting: the structure, letters with and
    /// without marks, compatibility and case variants, and the forbidden kinds.
    fn address_char() -> impl Strategy<Value = char> {
        prop_oneof![
            8 => prop::char::range('a', 'z'),
            2 => prop::char::range('A', 'Z'),
            2 => Just('@'),
            3 => Just('.'),
            1 => Just('-'),
            1 => Just('+'),
            2 => prop::sample::select(vec!['\u{e9}', '\u{c9}', '\u{df}', '\u{1e9e}', '\u{3a3}', '\u{3c2}', '\u{130}', '\u{131}', '\u{fb01}']),
            2 => prop::sample::select(vec!['\u{301}', '\u{308}', '\u{327}', '\u{345}']),
            2 => prop::char::range('\u{ff01}', '\u{ff5e}'),
            1 => prop::sample::select(vec!['\u{a8}', '\u{2488}', '\u{2100}', '\u{2024}', '\u{3000}', '\u{a0}']),
            1 => forbidden_char(),
            1 => any::<char>(),
        ]
    }

    /// Control, format and bidirectional-override characters.
    fn forbidden_char() -> impl Strategy<Value = char> {
        prop_oneof![
            prop::char::range('\u{0}', '\u{1f}'),
            prop::char::range('\u{7f}', '\u{9f}'),
            prop::sample::select(vec![
                '\u{ad}', '\u{200b}', '\u{200d}', '\u{200e}', '\u{200f}', '\u{feff}', '\u{2060}'
            ]),
            prop::char::range('\u{202a}', '\u{202e}'),
            prop::char::range('\u{2066}', '\u{2069}'),
        ]
    }

    /// What a local part or a domain label is mostly made of.
    fn part_char() -> impl Strategy<Value = char> {
        prop_oneof![
            12 => prop::char::range('a', 'z'),
            3 => prop::char::range('A', 'Z'),
            2 => prop::sample::select(vec!['\u{e9}', '\u{c9}', '\u{df}', '\u{1e9e}', '\u{3a3}', '\u{3c2}', '\u{130}', '\u{131}', '\u{fb01}']),
            2 => prop::sample::select(vec!['\u{301}', '\u{308}', '\u{327}', '\u{345}']),
            2 => prop::char::range('\u{ff21}', '\u{ff3a}'),
            1 => address_char(),
        ]
    }

    fn address_like() -> impl Strategy<Value = String> {
        prop_oneof![
            1 => prop::collection::vec(address_char(), 0..40).prop_map(|chars| chars.into_iter().collect()),
            3 => (
                prop::collection::vec(part_char(), 1..12),
                prop::collection::vec(part_char(), 1..8),
                prop::sample::select(vec!["com", "de", "co.uk", "xn--bcher-kva.ch"]),
            )
                .prop_map(|(local, domain, tld)| {
                    format!("{}@{}.{tld}", local.into_iter().collect::<String>(), domain.into_iter().collect::<String>())
                }),
        ]
    }

    fn fullwidth_ascii_letters(text: &str) -> String {
        text.chars()
            .map(
                |c| if c.is_ascii_alphabetic() { char::from_u32(u32::from(c) - 0x21 + 0xff01).unwrap_or(c) } else { c },
            )
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn nothing_panics(text in any::<String>(), address in address_like()) {
            for text in [&text, &address] {
                let _ = EmailAddress::parse(text);
                let _ = EmailAddress::restore(text);
                let _ = EmailAddress::canonical_form(text);
            }
        }

        #[test]
        fn the_canonical_form_is_a_fixed_point(text in any::<String>(), address in address_like()) {
            for text in [&text, &address] {
                let canonical = EmailAddress::canonical_form(text);
                prop_assert_eq!(EmailAddress::canonical_form(&canonical), canonical);
            }
        }

        #[test]
        fn an_accepted_address_round_trips_and_its_canonical_form_is_accepted_as_itself(address in address_like()) {
            if let Ok(parsed) = EmailAddress::parse(&address) {
                let again = EmailAddress::parse(parsed.as_str()).unwrap();
                prop_assert_eq!(again.as_str(), parsed.as_str());
                prop_assert_eq!(again.normalized(), parsed.normalized());
                let canonical = EmailAddress::parse(parsed.normalized()).unwrap();
                prop_assert_eq!(canonical.as_str(), parsed.normalized());
                prop_assert_eq!(canonical.normalized(), parsed.normalized());
                let stored = EmailAddress::restore(parsed.as_str()).unwrap();
                prop_assert_eq!(&stored, &parsed);
                prop_assert_eq!(stored.as_str(), parsed.as_str());
            }
        }

        #[test]
        fn equivalent_forms_name_one_address(address in address_like()) {
            if let Ok(parsed) = EmailAddress::parse(&address) {
                for form in [
                    address.nfd().collect::<String>(),
                    address.nfc().collect(),
                    address.nfkd().collect(),
                    address.to_ascii_uppercase(),
                    fullwidth_ascii_letters(&address),
                ] {
                    let other = EmailAddress::parse(&form);
                    prop_assert_eq!(other.as_ref().map(EmailAddress::normalized), Ok(parsed.normalized()), "{:?}", form);
                }
            }
        }

        #[test]
        fn a_forbidden_character_inside_is_refused(address in address_like(), forbidden in forbidden_char(), at in any::<prop::sample::Index>()) {
            let trimmed = address.trim();
            let boundaries: Vec<usize> = trimmed.char_indices().map(|(index, _)| index).skip(1).collect();
            if !boundaries.is_empty() && trimmed.chars().count() < EmailAddress::MAX_LEN {
                let index = boundaries[at.index(boundaries.len())];
                let hostile = format!("{}{forbidden}{}", &trimmed[..index], &trimmed[index..]);
                prop_assert_eq!(EmailAddress::parse(&hostile).err(), Some(EmailAddressError::ForbiddenCharacter), "{:?}", hostile);
            }
        }

        #[test]
        fn whatever_is_accepted_holds_no_forbidden_character(address in address_like()) {
            if let Ok(parsed) = EmailAddress::parse(&address) {
                for text in [parsed.as_str(), parsed.normalized()] {
                    prop_assert!(!text.chars().any(|c| c.is_control() || c.is_whitespace() || c.general_category() == GeneralCategory::Format));
                }
            }
        }
    }
}
