//! Reaction to `UserAccountDeleted`: the erased user's projects and tasks are erased,
//! exactly once in effect however often the event is delivered.

use taskdeck_kernel::{EventId, StoreError, UserAccountDeleted, retry_on_conflict};

use super::ports::{ProjectsStore, ProjectsTransaction};

/// The name under which this reaction records the events it handled.
pub const ERASE_PROJECTS_CONSUMER: &str = "projects.erase_projects_of_deleted_account";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErasureOutcome {
    /// This many projects (with their tasks) were erased.
    Erased(u64),
    /// The event was handled before: nothing was erased this time.
    AlreadyHandled,
}

/// Erases every project of the deleted account, soft-deleted ones included. The inbox
/// mark and the erasure are stored in one transaction.
///
/// # Errors
/// Storage failures; the relay retries the delivery later.
pub async fn erase_projects_of_deleted_account(
    store: &impl ProjectsStore,
    event_id: EventId,
    event: &UserAccountDeleted,
) -> Result<ErasureOutcome, StoreError> {
    retry_on_conflict(|| async {
        let mut transaction = store.begin().await?;
        if !transaction.mark_event_handled(ERASE_PROJECTS_CONSUMER, event_id).await? {
            return Ok(ErasureOutcome::AlreadyHandled);
        }
        let erased = transaction.erase_projects_of(event.user_id).await?;
        transaction.commit().await?;
        Ok(ErasureOutcome::Erased(erased))
    })
    .await
}
