//! A task of a project. It lives inside the `Project` aggregate: only the project
//! changes it, so the project's counters always agree with its tasks.

use time::OffsetDateTime;

use super::{TaskName, TaskNumber};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    number: TaskNumber,
    name: TaskName,
    completed_at: Option<OffsetDateTime>,
}

impl Task {
    pub(super) fn new(number: TaskNumber, name: TaskName) -> Self {
        Self { number, name, completed_at: None }
    }

    /// Rebuilds a stored task.
    #[must_use]
    pub fn restore(number: TaskNumber, name: TaskName, completed_at: Option<OffsetDateTime>) -> Self {
        Self { number, name, completed_at }
    }

    #[must_use]
    pub fn number(&self) -> TaskNumber {
        self.number
    }

    #[must_use]
    pub fn name(&self) -> &TaskName {
        &self.name
    }

    #[must_use]
    pub fn completed_at(&self) -> Option<OffsetDateTime> {
        self.completed_at
    }

    #[must_use]
    pub fn is_completed(&self) -> bool {
        self.completed_at.is_some()
    }

    /// Marks the task completed unless it already is (the first completion time stays).
    /// Returns whether anything changed.
    pub(super) fn complete(&mut self, now: OffsetDateTime) -> bool {
        if self.completed_at.is_some() {
            return false;
        }
        self.completed_at = Some(now);
        true
    }

    /// Marks the task incomplete again. Returns whether anything changed.
    pub(super) fn reopen(&mut self) -> bool {
        self.completed_at.take().is_some()
    }
}
