//! Use case: the owner adds a task to a project.

use taskdeck_kernel::{Clock, Receipt, UserId};

use super::conditional::Precondition;
use super::execute::{CommandError, execute_on_project};
use super::ports::ProjectsStore;
use super::views::TaskDetails;
use crate::domain::{AddTaskError, ProjectId, TaskName};

#[derive(Debug, Clone)]
pub struct AddTask {
    pub owner: UserId,
    pub project: ProjectId,
    pub name: TaskName,
}

/// Adds an incomplete task under the project's next number. Only the project row is
/// loaded, whatever the number of tasks already there.
///
/// # Errors
/// `ProjectNotFound`, or the project's refusal (archived, limit reached).
pub async fn add_task(
    store: &impl ProjectsStore,
    clock: &dyn Clock,
    command: AddTask,
    receipt: Option<Receipt<'_, TaskDetails>>,
) -> Result<TaskDetails, CommandError<AddTaskError>> {
    let now = clock.now();
    execute_on_project(store, command.owner, command.project, None, &Precondition::Unconditional, receipt, |project| {
        project.add_task(command.name.clone(), now).map(TaskDetails::from)
    })
    .await
    .map(|(task, _)| task)
}
