//! Use case: the owner deletes an archived project (a soft delete, not reversible
//! through the API).

use taskdeck_kernel::{Clock, UserId};

use super::conditional::Precondition;
use super::execute::{CommandError, execute_on_project};
use super::ports::ProjectsStore;
use crate::domain::{DeleteError, ProjectId};

/// # Errors
/// `ProjectNotFound` (also for a project deleted before), or `NotArchived`.
pub async fn delete_project(
    store: &impl ProjectsStore,
    clock: &dyn Clock,
    owner: UserId,
    id: ProjectId,
    precondition: &Precondition,
) -> Result<(), CommandError<DeleteError>> {
    let now = clock.now();
    execute_on_project(store, owner, id, None, precondition, None, |project| project.delete(now)).await.map(|_| ())
}
