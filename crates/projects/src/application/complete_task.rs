//! Use case: the owner marks a task completed.

use taskdeck_kernel::{Clock, UserId};

use super::conditional::Precondition;
use super::execute::{CommandError, execute_on_project};
use super::ports::ProjectsStore;
use super::views::TaskDetails;
use crate::domain::{CompleteTaskError, ProjectId, TaskNumber};

/// Completes the task; a completed task keeps its first completion time.
///
/// # Errors
/// `ProjectNotFound`, or `TaskNotFound` / `Archived`.
pub async fn complete_task(
    store: &impl ProjectsStore,
    clock: &dyn Clock,
    owner: UserId,
    project: ProjectId,
    number: TaskNumber,
    precondition: &Precondition,
) -> Result<TaskDetails, CommandError<CompleteTaskError>> {
    let now = clock.now();
    execute_on_project(store, owner, project, Some(number), precondition, None, |project| {
        project.complete_task(number, now).map(TaskDetails::from)
    })
    .await
    .map(|(task, _)| task)
}
