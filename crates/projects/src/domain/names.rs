//! Names of projects and tasks: trimmed, in NFC, 4 to 32 characters, no invisible
//! controls.

use std::fmt;

use thiserror::Error;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// Why a name is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum NameError {
    #[error("must be at least {min} characters long")]
    TooShort { min: usize },
    #[error("must be at most {max} characters long")]
    TooLong { max: usize },
    /// NUL, line breaks, zero-width and bidirectional-override characters: they make a
    /// name render differently from what it holds (and PostgreSQL refuses NUL).
    #[error("must not contain control, format or bidirectional-override characters")]
    ForbiddenCharacter,
    #[error("must hold at least one character that is not a combining mark")]
    OnlyCombiningMarks,
}

const MIN_CHARS: usize = 4;
const MAX_CHARS: usize = 32;

/// Trims, normalises to NFC, refuses invisible controls, and checks the length of the
/// normalised name in Unicode scalar values (`e` and a combining acute are one
/// character once composed).
fn parse_name(raw: &str) -> Result<String, NameError> {
    let name: String = raw.trim().nfc().collect();
    if name.chars().any(|c| matches!(c.general_category(), GeneralCategory::Control | GeneralCategory::Format)) {
        return Err(NameError::ForbiddenCharacter);
    }
    if !name.is_empty() && name.chars().all(|c| c.general_category_group() == GeneralCategoryGroup::Mark) {
        return Err(NameError::OnlyCombiningMarks);
    }
    check_length(&name)?;
    Ok(name)
}

fn check_length(trimmed: &str) -> Result<(), NameError> {
    let chars = trimmed.chars().count();
    if chars < MIN_CHARS {
        return Err(NameError::TooShort { min: MIN_CHARS });
    }
    if chars > MAX_CHARS {
        return Err(NameError::TooLong { max: MAX_CHARS });
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Parses a user-supplied name, kept in NFC: composed and decomposed
            /// input give the same name.
            ///
            /// # Errors
            /// `NameError` when the trimmed, normalised name is shorter than 4 or
            /// longer than 32 characters, or holds a control or format character.
            pub fn parse(raw: &str) -> Result<Self, NameError> {
                parse_name(raw).map(Self)
            }

            /// A name as stored, held to the rules of v1 only (trimmed, 4 to 32
            /// characters): one stored before control and format characters were
            /// refused must still load. It is kept as stored, not normalised, so it
            /// reads the same here as in the lists, which read the stored text.
            ///
            /// # Errors
            /// `TooShort` / `TooLong`.
            pub fn restore(stored: &str) -> Result<Self, NameError> {
                check_length(stored.trim()).map(|()| Self(stored.trim().to_owned()))
            }

            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.0).finish()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_type!(
    /// The name of a project.
    ProjectName
);
name_type!(
    /// The name of a task.
    TaskName
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_trimmed() {
        assert_eq!(ProjectName::parse("  Household \t").unwrap().as_str(), "Household");
    }

    #[test]
    fn four_characters_is_the_shortest_name() {
        assert!(TaskName::parse("Read").is_ok());
        assert_eq!(TaskName::parse("Run").err(), Some(NameError::TooShort { min: 4 }));
        assert_eq!(TaskName::parse("  Run   ").err(), Some(NameError::TooShort { min: 4 }), "spaces do not count");
    }

    #[test]
    fn thirty_two_characters_is_the_longest_name() {
        assert!(ProjectName::parse(&"x".repeat(32)).is_ok());
        assert_eq!(ProjectName::parse(&"x".repeat(33)).err(), Some(NameError::TooLong { max: 32 }));
    }

    #[test]
    fn control_and_format_characters_are_refused_wherever_they_are() {
        for name in [
            "Nul\u{0}name",
            "Line\nbreak",
            "Carriage\rreturn",
            "Tab\there",
            "Del\u{7f}ete",
            "Evil\u{202e}txt.exe",
            "Zero\u{200b}width",
            "Isolate\u{2066}d",
            "Joined\u{200d}name",
            "Bom\u{feff}name",
            "C1\u{85}control",
        ] {
            assert_eq!(ProjectName::parse(name).err(), Some(NameError::ForbiddenCharacter), "{name:?}");
            assert_eq!(TaskName::parse(name).err(), Some(NameError::ForbiddenCharacter), "{name:?}");
        }
    }

    #[test]
    fn a_stored_name_is_held_to_the_length_only() {
        assert_eq!(TaskName::restore("Tab\tof v1").unwrap().as_str(), "Tab\tof v1");
        assert_eq!(ProjectName::restore("ab").err(), Some(NameError::TooShort { min: 4 }));
    }

    #[test]
    fn a_name_of_combining_marks_alone_is_refused_but_marks_on_letters_are_fine() {
        assert_eq!(ProjectName::parse("\u{301}\u{302}\u{303}\u{304}").err(), Some(NameError::OnlyCombiningMarks));
        assert!(ProjectName::parse("Cafe\u{301}").is_ok());
        assert!(ProjectName::parse("Café au lait").is_ok());
    }

    #[test]
    fn length_counts_unicode_scalar_values() {
        assert!(ProjectName::parse(&"ü".repeat(32)).is_ok(), "64 bytes, 32 characters");
        assert!(ProjectName::parse("日本語").is_err());
        assert!(ProjectName::parse("日本語版").is_ok());
    }

    #[test]
    fn a_name_is_kept_composed_and_its_length_counted_so() {
        let decomposed = ProjectName::parse("Cafe\u{301} au lait").unwrap();
        assert_eq!(decomposed.as_str(), "Caf\u{e9} au lait");
        assert_eq!(decomposed, ProjectName::parse("Caf\u{e9} au lait").unwrap());
        // 32 letters with a combining mark each: 64 scalar values typed, 32 composed.
        assert!(TaskName::parse(&"e\u{301}".repeat(32)).is_ok());
        assert_eq!(TaskName::parse(&"e\u{301}".repeat(33)).err(), Some(NameError::TooLong { max: 32 }));
        // Only canonical equivalents are composed: compatibility forms stay as typed.
        assert_eq!(TaskName::parse("\u{fb01}nal report").unwrap().as_str(), "\u{fb01}nal report");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use unicode_normalization::{UnicodeNormalization, is_nfc};

    use super::*;

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

    fn name_like() -> impl Strategy<Value = String> {
        let name_char = prop_oneof![
            10 => prop::char::range('a', 'z'),
            2 => Just(' '),
            2 => prop::sample::select(vec!['\u{e9}', '\u{c5}', '\u{1e9e}', '\u{65e5}', '\u{1f600}', '\u{fb01}', '\u{2126}']),
            2 => prop::sample::select(vec!['\u{301}', '\u{308}', '\u{30a}', '\u{323}']),
            1 => forbidden_char(),
            1 => any::<char>(),
        ];
        prop_oneof![
            3 => prop::collection::vec(name_char, 0..40).prop_map(|chars| chars.into_iter().collect()),
            1 => any::<String>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn an_accepted_name_is_trimmed_composed_within_bounds_and_parses_as_itself(raw in name_like()) {
            let _ = TaskName::restore(&raw);
            if let Ok(name) = ProjectName::parse(&raw) {
                let text = name.as_str();
                prop_assert_eq!(text.trim(), text);
                prop_assert!(is_nfc(text));
                prop_assert!((MIN_CHARS..=MAX_CHARS).contains(&text.chars().count()));
                prop_assert!(!text.chars().any(|c| c.is_control() || c.general_category() == GeneralCategory::Format));
                prop_assert_eq!(ProjectName::parse(text), Ok(name.clone()));
                prop_assert_eq!(ProjectName::restore(text), Ok(name.clone()), "what is stored loads back");
                prop_assert_eq!(TaskName::parse(&raw).map(|task| task.as_str().to_owned()), Ok(text.to_owned()));
            }
        }

        #[test]
        fn composed_and_decomposed_input_give_one_answer(raw in name_like()) {
            let composed = TaskName::parse(&raw.nfc().collect::<String>());
            prop_assert_eq!(TaskName::parse(&raw.nfd().collect::<String>()), composed.clone());
            prop_assert_eq!(TaskName::parse(&raw), composed);
        }

        #[test]
        fn a_forbidden_character_anywhere_is_refused(raw in name_like(), forbidden in forbidden_char(), at in any::<prop::sample::Index>()) {
            let boundaries: Vec<usize> = raw.char_indices().map(|(index, _)| index).chain([raw.len()]).collect();
            let index = boundaries[at.index(boundaries.len())];
            let hostile = format!("{}{forbidden}{}", &raw[..index], &raw[index..]);
            // Leading and trailing whitespace controls (a tab, a line feed) are trimmed.
            if hostile.trim().chars().any(|c| c.is_control() || c.general_category() == GeneralCategory::Format) {
                prop_assert_eq!(ProjectName::parse(&hostile).err(), Some(NameError::ForbiddenCharacter), "{:?}", hostile);
                prop_assert_eq!(TaskName::parse(&hostile).err(), Some(NameError::ForbiddenCharacter), "{:?}", hostile);
            }
        }
    }
}
