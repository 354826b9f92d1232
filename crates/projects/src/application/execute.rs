//! The shape every command on an existing project shares: open a unit of work, load
//! the caller's project (and at most one task), check the client's precondition, let
//! the aggregate decide, store, commit; start over when a concurrent writer got there
//! first. The precondition is checked against what this unit of work loaded, and the
//! store refuses to save over another version, so no change slips in between.

use std::convert::Infallible;

use taskdeck_kernel::{ConflictAware, Receipt, StoreError, UserId, retry_on_conflict};
use thiserror::Error;

use super::conditional::{EntityTag, Precondition};
use super::ports::{ProjectsStore, ProjectsTransaction};
use crate::domain::{Project, ProjectId, TaskNumber};

/// Why a command on a project failed. `E` is the domain's refusal for this command.
#[derive(Debug, Error)]
pub enum CommandError<E> {
    /// No such project, deleted, or owned by someone else: indistinguishable on purpose.
    #[error("project not found")]
    ProjectNotFound,
    /// The client's `If-Match` names none of the current revision's tags.
    #[error("the resource changed since it was read")]
    PreconditionFailed,
    /// The project's rules refuse the change.
    #[error(transparent)]
    Rejected(E),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<E> ConflictAware for CommandError<E> {
    fn is_conflict(&self) -> bool {
        matches!(self, Self::Store(StoreError::Conflict))
    }
}

impl CommandError<Infallible> {
    /// Widens an error of a command the domain never refuses.
    pub fn widen<E>(self) -> CommandError<E> {
        match self {
            Self::ProjectNotFound => CommandError::ProjectNotFound,
            Self::PreconditionFailed => CommandError::PreconditionFailed,
            Self::Store(error) => CommandError::Store(error),
            Self::Rejected(never) => match never {},
        }
    }
}

/// Runs `change` on the caller's project inside a unit of work, retrying on conflicts,
/// and returns its outcome with the project as stored. `precondition` applies to the
/// task `with_task` when one is named (a missing task is left to `change` to refuse),
/// else to the project. With a `receipt`, the answer to replay is recorded in the unit
/// of work. Nothing is written when the aggregate recorded no change and there is no
/// answer to record.
pub(super) async fn execute_on_project<S, T, E>(
    store: &S,
    owner: UserId,
    id: ProjectId,
    with_task: Option<TaskNumber>,
    precondition: &Precondition,
    receipt: Option<Receipt<'_, T>>,
    change: impl Fn(&mut Project) -> Result<T, E> + Sync,
) -> Result<(T, Project), CommandError<E>>
where
    S: ProjectsStore,
    T: Send,
    E: Send,
{
    retry_on_conflict(|| {
        let change = &change;
        async move {
            let mut transaction = store.begin().await?;
            let mut project = transaction
                .project(id, with_task)
                .await?
                .filter(|project| project.is_owned_by(owner) && !project.is_deleted())
                .ok_or(CommandError::ProjectNotFound)?;
            let current = match with_task {
                None => Some(EntityTag::of_project(project.state().version)),
                Some(number) => project.task(number).map(|task| EntityTag::of_task(task.number(), task.completed_at())),
            };
            if current.is_some_and(|current| !precondition.admits(&current)) {
                return Err(CommandError::PreconditionFailed);
            }
            let outcome = change(&mut project).map_err(CommandError::Rejected)?;
            let changed = project.has_changes();
            if changed {
                transaction.save(&mut project).await?;
            }
            if let Some(receipt) = receipt {
                transaction.record_answer(receipt.claim, &receipt.answer(&outcome)).await?;
            }
            if changed || receipt.is_some() {
                transaction.commit().await?;
            }
            Ok((outcome, project))
        }
    })
    .await
}
