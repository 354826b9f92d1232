//! The optional cap on how many tasks of a project may be incomplete at once.

use thiserror::Error;

/// The limit was below one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("must be at least 1")]
pub struct InvalidLimit;

/// How many incomplete tasks a project may hold at once; at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IncompleteTaskLimit(i64);

impl IncompleteTaskLimit {
    /// # Errors
    /// `InvalidLimit` when `value` is below 1.
    pub const fn new(value: i64) -> Result<Self, InvalidLimit> {
        if value >= 1 { Ok(Self(value)) } else { Err(InvalidLimit) }
    }

    #[must_use]
    pub const fn get(self) -> i64 {
        self.0
    }

    /// Whether `incomplete` tasks already fill the limit.
    #[must_use]
    pub const fn is_reached_by(self, incomplete: i64) -> bool {
        incomplete >= self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_must_be_at_least_one() {
        assert_eq!(IncompleteTaskLimit::new(0), Err(InvalidLimit));
        assert_eq!(IncompleteTaskLimit::new(-1), Err(InvalidLimit));
        assert_eq!(IncompleteTaskLimit::new(1).unwrap().get(), 1);
    }

    #[test]
    fn the_limit_is_reached_when_incomplete_tasks_equal_it() {
        let limit = IncompleteTaskLimit::new(2).unwrap();
        assert!(!limit.is_reached_by(1));
        assert!(limit.is_reached_by(2));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_limit_is_any_positive_count_and_gives_back_what_it_was_made_of(value in any::<i64>(), incomplete in any::<i64>()) {
            match IncompleteTaskLimit::new(value) {
                Ok(limit) => {
                    prop_assert!(value >= 1);
                    prop_assert_eq!(limit.get(), value);
                    prop_assert_eq!(IncompleteTaskLimit::new(limit.get()), Ok(limit));
                    prop_assert_eq!(limit.is_reached_by(incomplete), incomplete >= value);
                }
                Err(InvalidLimit) => prop_assert!(value < 1),
            }
        }
    }
}
