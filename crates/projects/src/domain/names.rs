//! Names of projects and tasks: trimmed, 4 to 32 characters, no invisible controls.

use std::fmt;

use thiserror::Error;
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

/// Trims, refuses invisible controls, and checks the length in Unicode scalar values.
fn parse_name(raw: &str) -> Result<String, NameError> {
    let trimmed = raw.trim();
    if trimmed.chars().any(|c| matches!(c.general_category(), GeneralCategory::Control | GeneralCategory::Format)) {
        return Err(NameError::ForbiddenCharacter);
    }
    if !trimmed.is_empty() && trimmed.chars().all(|c| c.general_category_group() == GeneralCategoryGroup::Mark) {
        return Err(NameError::OnlyCombiningMarks);
    }
    check_length(trimmed)?;
    Ok(trimmed.to_owned())
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
            /// Parses a user-supplied name.
            ///
            /// # Errors
            /// `NameError` when the trimmed name is shorter than 4 or longer than 32
            /// characters.
            pub fn parse(raw: &str) -> Result<Self, NameError> {
                parse_name(raw).map(Self)
            }

            /// A name as stored, held to the rules of v1 only (trimmed, 4 to 32
            /// characters): one stored before control and format characters were
            /// refused must still load.
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
}
