//! Maps every error of the projects use cases to its HTTP answer. No wildcard arms:
//! a new refusal does not compile until it has an answer.

use std::convert::Infallible;

use taskdeck_kernel::StoreError;
use taskdeck_platform_http::ApiError;
use taskdeck_projects::application::CommandError;
use taskdeck_projects::domain::{
    AddTaskError, ArchiveError, CompleteTaskError, DeleteError, ReopenTaskError, UpdateProjectError,
};

const ARCHIVED: &str = "project-archived";
const LIMIT_REACHED: &str = "incomplete-task-limit-reached";

pub(super) fn project_not_found() -> ApiError {
    ApiError::not_found("Project not found")
}

pub(super) fn task_not_found() -> ApiError {
    ApiError::not_found("Task not found")
}

pub(super) fn store_error(error: &StoreError) -> ApiError {
    match error {
        StoreError::Conflict => ApiError::conflict(
            "concurrent-update",
            "The project was changed by many requests at the same time; try again",
        ),
        StoreError::Backend(_) => ApiError::internal(error),
    }
}

/// The answer to a refusal of the project's rules.
pub(super) trait Refusal {
    fn to_api_error(&self) -> ApiError;
}

pub(super) fn command_error<E: Refusal>(error: &CommandError<E>) -> ApiError {
    match error {
        CommandError::ProjectNotFound => project_not_found(),
        CommandError::PreconditionFailed => ApiError::precondition_failed(
            "It changed since you read it, and If-Match names none of its current tags: GET it again for its ETag",
        ),
        CommandError::Rejected(refusal) => refusal.to_api_error(),
        CommandError::Store(store) => store_error(store),
    }
}

impl Refusal for Infallible {
    fn to_api_error(&self) -> ApiError {
        match *self {}
    }
}

impl Refusal for UpdateProjectError {
    fn to_api_error(&self) -> ApiError {
        match self {
            Self::Archived => ApiError::conflict(ARCHIVED, self.to_string()),
            Self::LimitBelowIncompleteCount { .. } => {
                ApiError::conflict("limit-below-incomplete-count", self.to_string())
            }
        }
    }
}

impl Refusal for AddTaskError {
    fn to_api_error(&self) -> ApiError {
        match self {
            Self::Archived => ApiError::conflict(ARCHIVED, self.to_string()),
            Self::LimitReached { .. } => ApiError::conflict(LIMIT_REACHED, self.to_string()),
        }
    }
}

impl Refusal for CompleteTaskError {
    fn to_api_error(&self) -> ApiError {
        match self {
            Self::TaskNotFound => task_not_found(),
            Self::Archived => ApiError::conflict(ARCHIVED, self.to_string()),
        }
    }
}

impl Refusal for ReopenTaskError {
    fn to_api_error(&self) -> ApiError {
        match self {
            Self::TaskNotFound => task_not_found(),
            Self::Archived => ApiError::conflict(ARCHIVED, self.to_string()),
            Self::LimitReached { .. } => ApiError::conflict(LIMIT_REACHED, self.to_string()),
        }
    }
}

impl Refusal for ArchiveError {
    fn to_api_error(&self) -> ApiError {
        match self {
            Self::HasIncompleteTasks { .. } => ApiError::conflict("project-has-incomplete-tasks", self.to_string()),
        }
    }
}

impl Refusal for DeleteError {
    fn to_api_error(&self) -> ApiError {
        match self {
            Self::NotArchived => ApiError::conflict("project-not-archived", self.to_string()),
        }
    }
}
