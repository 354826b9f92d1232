//! Identifiers: project ids are assigned by storage, task numbers by the project.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The id was not a positive integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("must be a positive integer")]
pub struct InvalidId;

/// Identifies a project; positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProjectId(i64);

impl ProjectId {
    /// # Errors
    /// `InvalidId` unless the value is positive.
    pub const fn new(value: i64) -> Result<Self, InvalidId> {
        if value > 0 { Ok(Self(value)) } else { Err(InvalidId) }
    }

    #[must_use]
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A task's number within its project: 1, 2, 3… in creation order, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskNumber(i64);

impl TaskNumber {
    pub const FIRST: Self = Self(1);

    /// # Errors
    /// `InvalidId` unless the value is positive.
    pub const fn new(value: i64) -> Result<Self, InvalidId> {
        if value > 0 { Ok(Self(value)) } else { Err(InvalidId) }
    }

    #[must_use]
    pub const fn get(self) -> i64 {
        self.0
    }

    /// The number after this one.
    #[must_use]
    pub const fn next(self) -> Self {
        Self(self.0 + 1)
    }
}

impl fmt::Display for TaskNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_numbers_must_be_positive() {
        assert_eq!(ProjectId::new(0), Err(InvalidId));
        assert_eq!(ProjectId::new(-3), Err(InvalidId));
        assert_eq!(ProjectId::new(1).unwrap().get(), 1);
        assert_eq!(TaskNumber::new(0), Err(InvalidId));
        assert_eq!(TaskNumber::new(7).unwrap().get(), 7);
    }

    #[test]
    fn task_numbers_count_up_from_one() {
        assert_eq!(TaskNumber::FIRST.get(), 1);
        assert_eq!(TaskNumber::FIRST.next().next().get(), 3);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn ids_and_numbers_are_the_positive_integers_and_keep_their_value(value in any::<i64>()) {
            prop_assert_eq!(ProjectId::new(value).map(ProjectId::get), if value > 0 { Ok(value) } else { Err(InvalidId) });
            prop_assert_eq!(TaskNumber::new(value).map(TaskNumber::get), if value > 0 { Ok(value) } else { Err(InvalidId) });
        }
    }
}
