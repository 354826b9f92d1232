//! Use case: a user creates a project.

use taskdeck_kernel::{Clock, StoreError, UserId};

use super::ports::{ProjectsStore, ProjectsTransaction};
use super::views::ProjectDetails;
use crate::domain::{IncompleteTaskLimit, Project, ProjectName};

#[derive(Debug, Clone)]
pub struct CreateProject {
    pub owner: UserId,
    pub name: ProjectName,
    pub limit: Option<IncompleteTaskLimit>,
}

/// Creates an empty project for its owner.
///
/// # Errors
/// Storage failures only: a valid command cannot be refused.
pub async fn create_project(
    store: &impl ProjectsStore,
    clock: &dyn Clock,
    command: CreateProject,
) -> Result<ProjectDetails, StoreError> {
    let mut transaction = store.begin().await?;
    let id = transaction.next_project_id().await?;
    let mut project = Project::create(id, command.owner, command.name, command.limit, clock.now());
    transaction.add(&mut project).await?;
    transaction.commit().await?;
    Ok(ProjectDetails::from(&project))
}
