//! Names of projects and tasks: trimmed, 4 to 32 characters.

use std::fmt;

use thiserror::Error;

/// Why a name is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum NameError {
    #[error("must be at least {min} characters long")]
    TooShort { min: usize },
    #[error("must be at most {max} characters long")]
    TooLong { max: usize },
}

const MIN_CHARS: usize = 4;
const MAX_CHARS: usize = 32;

/// Trims and checks the length in Unicode scalar values.
fn parse_name(raw: &str) -> Result<String, NameError> {
    let trimmed = raw.trim();
    let chars = trimmed.chars().count();
    if chars < MIN_CHARS {
        return Err(NameError::TooShort { min: MIN_CHARS });
    }
    if chars > MAX_CHARS {
        return Err(NameError::TooLong { max: MAX_CHARS });
    }
    Ok(trimmed.to_owned())
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
    fn length_counts_unicode_scalar_values() {
        assert!(ProjectName::parse(&"ü".repeat(32)).is_ok(), "64 bytes, 32 characters");
        assert!(ProjectName::parse("日本語").is_err());
        assert!(ProjectName::parse("日本語版").is_ok());
    }
}
