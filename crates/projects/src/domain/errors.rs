//! Why the project refuses a change. One enum per operation, so each use case states
//! exactly which refusals it can produce.

use thiserror::Error;

use super::IncompleteTaskLimit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum UpdateProjectError {
    #[error("the project is archived: unarchive it before changing it")]
    Archived,
    #[error("the project has {incomplete} incomplete tasks, more than the requested limit of {}", requested.get())]
    LimitBelowIncompleteCount { incomplete: i64, requested: IncompleteTaskLimit },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AddTaskError {
    #[error("the project is archived: its tasks cannot change")]
    Archived,
    #[error("the project already has {} incomplete tasks, its limit", limit.get())]
    LimitReached { limit: IncompleteTaskLimit },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CompleteTaskError {
    #[error("task not found")]
    TaskNotFound,
    #[error("the project is archived: its tasks cannot change")]
    Archived,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ReopenTaskError {
    #[error("task not found")]
    TaskNotFound,
    #[error("the project is archived: its tasks cannot change")]
    Archived,
    #[error("the project already has {} incomplete tasks, its limit", limit.get())]
    LimitReached { limit: IncompleteTaskLimit },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ArchiveError {
    #[error("the project has {incomplete} incomplete tasks: complete them before archiving")]
    HasIncompleteTasks { incomplete: i64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DeleteError {
    #[error("only an archived project can be deleted: archive it first")]
    NotArchived,
}
