//! Use case: the owner makes an archived project writable again.

use std::convert::Infallible;

use taskdeck_kernel::{Clock, UserId};

use super::conditional::Precondition;
use super::execute::{CommandError, execute_on_project};
use super::ports::ProjectsStore;
use super::views::ProjectDetails;
use crate::domain::ProjectId;

/// Unarchives the project; a project that is not archived is returned unchanged.
///
/// # Errors
/// `ProjectNotFound` only: the domain never refuses this.
pub async fn unarchive_project(
    store: &impl ProjectsStore,
    clock: &dyn Clock,
    owner: UserId,
    id: ProjectId,
    precondition: &Precondition,
) -> Result<ProjectDetails, CommandError<Infallible>> {
    let now = clock.now();
    let (_, project) = execute_on_project(store, owner, id, None, precondition, None, |project| {
        project.unarchive(now);
        Ok(())
    })
    .await?;
    Ok(ProjectDetails::from(&project))
}
