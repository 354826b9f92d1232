//! Revisions of projects and tasks as entity tags, and the precondition a command
//! checks inside its unit of work, so "change it only if nobody else did" has no
//! window between the check and the write.

use time::OffsetDateTime;

use crate::domain::TaskNumber;

/// An opaque tag that changes whenever the resource it was taken from changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityTag(String);

impl EntityTag {
    /// A tag as a client sent it back (the text between the quotes).
    #[must_use]
    pub fn from_client(opaque: impl Into<String>) -> Self {
        Self(opaque.into())
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A project's tag is its aggregate version, which every stored change moves: a
    /// task added or completed changes it too, since the limit and archiving depend
    /// on the tasks.
    pub(crate) fn of_project(version: i64) -> Self {
        Self(format!("p{version}"))
    }

    /// A task's tag is its own state (a task's name never changes), so a change to
    /// another task of the project leaves it valid.
    pub(crate) fn of_task(number: TaskNumber, completed_at: Option<OffsetDateTime>) -> Self {
        match completed_at {
            Some(at) => Self(format!("t{number}-{}", at.unix_timestamp_nanos() / 1_000)),
            None => Self(format!("t{number}-open")),
        }
    }
}

/// What a command demands of the resource's current revision (`If-Match`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Precondition {
    /// Change it whatever its revision.
    #[default]
    Unconditional,
    /// Change it only while its tag is one of these; an empty list never matches.
    OneOf(Vec<EntityTag>),
}

impl Precondition {
    #[must_use]
    pub fn admits(&self, current: &EntityTag) -> bool {
        match self {
            Self::Unconditional => true,
            Self::OneOf(tags) => tags.contains(current),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn number(n: i64) -> TaskNumber {
        TaskNumber::new(n).unwrap()
    }

    #[test]
    fn a_task_tag_changes_with_its_completion_and_differs_between_tasks() {
        let open = EntityTag::of_task(number(1), None);
        let done = EntityTag::of_task(number(1), Some(datetime!(2026-12-03 10:00:00.000001 UTC)));
        let done_later = EntityTag::of_task(number(1), Some(datetime!(2026-12-03 10:00:00.000002 UTC)));
        let other = EntityTag::of_task(number(2), None);
        assert_ne!(open, done);
        assert_ne!(done, done_later);
        assert_ne!(open, other);
        assert_eq!(open, EntityTag::of_task(number(1), None));
    }

    #[test]
    fn a_project_tag_follows_the_version() {
        assert_eq!(EntityTag::of_project(3), EntityTag::of_project(3));
        assert_ne!(EntityTag::of_project(3), EntityTag::of_project(4));
    }

    #[test]
    fn an_unconditional_command_admits_every_revision() {
        assert!(Precondition::Unconditional.admits(&EntityTag::of_project(1)));
    }

    #[test]
    fn a_list_admits_only_its_tags_and_an_empty_list_nothing() {
        let current = EntityTag::of_project(2);
        let stale = EntityTag::of_project(1);
        assert!(Precondition::OneOf(vec![stale.clone(), current.clone()]).admits(&current));
        assert!(!Precondition::OneOf(vec![stale]).admits(&current));
        assert!(!Precondition::OneOf(vec![]).admits(&current));
    }

    #[test]
    fn a_tag_sent_back_by_a_client_equals_the_one_it_was_given() {
        let given = EntityTag::of_project(7);
        assert_eq!(EntityTag::from_client(given.as_str()), given);
    }
}
