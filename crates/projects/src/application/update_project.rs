//! Use case: the owner renames a project or changes its incomplete-task limit.

use taskdeck_kernel::{Clock, UserId};

use super::conditional::Precondition;
use super::execute::{CommandError, execute_on_project};
use super::ports::ProjectsStore;
use super::views::ProjectDetails;
use crate::domain::{IncompleteTaskLimit, ProjectId, ProjectName, UpdateProjectError};

#[derive(Debug, Clone)]
pub struct UpdateProject {
    pub owner: UserId,
    pub id: ProjectId,
    pub name: ProjectName,
    /// `None`: keep the current limit; `Some(None)`: remove it; `Some(Some(n))`: set it.
    pub limit: Option<Option<IncompleteTaskLimit>>,
    /// `If-Match`.
    pub precondition: Precondition,
}

/// # Errors
/// `ProjectNotFound`, or the project's refusal (archived, limit below the incomplete count).
pub async fn update_project(
    store: &impl ProjectsStore,
    clock: &dyn Clock,
    command: UpdateProject,
) -> Result<ProjectDetails, CommandError<UpdateProjectError>> {
    let now = clock.now();
    let (_, project) =
        execute_on_project(store, command.owner, command.id, None, &command.precondition, None, |project| {
            project.update(command.name.clone(), command.limit, now)
        })
        .await?;
    Ok(ProjectDetails::from(&project))
}
