//! Use case: the owner archives a project whose tasks are all completed.

use taskdeck_kernel::{Clock, UserId};

use super::conditional::Precondition;
use super::execute::{CommandError, execute_on_project};
use super::ports::ProjectsStore;
use super::views::ProjectDetails;
use crate::domain::{ArchiveError, ProjectId};

/// Archives the project; archiving an archived project succeeds and changes nothing.
///
/// # Errors
/// `ProjectNotFound`, or `HasIncompleteTasks`.
pub async fn archive_project(
    store: &impl ProjectsStore,
    clock: &dyn Clock,
    owner: UserId,
    id: ProjectId,
    precondition: &Precondition,
) -> Result<ProjectDetails, CommandError<ArchiveError>> {
    let now = clock.now();
    let (_, project) =
        execute_on_project(store, owner, id, None, precondition, None, |project| project.archive(now)).await?;
    Ok(ProjectDetails::from(&project))
}
