//! Use case: a user creates a project.

use taskdeck_kernel::{Clock, Receipt, StoreError, UserId};

use super::ports::{ProjectsStore, ProjectsTransaction};
use super::views::ProjectDetails;
use crate::domain::{IncompleteTaskLimit, Project, ProjectName};

#[derive(Debug, Clone)]
pub struct CreateProject {
    pub owner: UserId,
    pub name: ProjectName,
    pub limit: Option<IncompleteTaskLimit>,
}

/// Creates an empty project for its owner; with a `receipt`, the answer to replay is
/// recorded in the same unit of work.
///
/// # Errors
/// Storage failures only: a valid command cannot be refused.
pub async fn create_project(
    store: &impl ProjectsStore,
    clock: &dyn Clock,
    command: CreateProject,
    receipt: Option<Receipt<'_, ProjectDetails>>,
) -> Result<ProjectDetails, StoreError> {
    let mut transaction = store.begin().await?;
    let id = transaction.next_project_id().await?;
    let mut project = Project::create(id, command.owner, command.name, command.limit, clock.now());
    transaction.add(&mut project).await?;
    let details = ProjectDetails::from(&project);
    if let Some(receipt) = receipt {
        transaction.record_answer(receipt.claim, &receipt.answer(&details)).await?;
    }
    transaction.commit().await?;
    Ok(details)
}
