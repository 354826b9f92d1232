//! Use case: the owner marks a completed task incomplete again.

use taskdeck_kernel::{Clock, UserId};

use super::conditional::Precondition;
use super::execute::{CommandError, execute_on_project};
use super::ports::ProjectsStore;
use super::views::TaskDetails;
use crate::domain::{ProjectId, ReopenTaskError, TaskNumber};

/// Re-opens the task; an incomplete task is returned unchanged.
///
/// # Errors
/// `ProjectNotFound`, or `TaskNotFound` / `Archived` / `LimitReached`.
pub async fn reopen_task(
    store: &impl ProjectsStore,
    clock: &dyn Clock,
    owner: UserId,
    project: ProjectId,
    number: TaskNumber,
    precondition: &Precondition,
) -> Result<TaskDetails, CommandError<ReopenTaskError>> {
    let now = clock.now();
    execute_on_project(store, owner, project, Some(number), precondition, None, |project| {
        project.reopen_task(number, now).map(TaskDetails::from)
    })
    .await
    .map(|(task, _)| task)
}
