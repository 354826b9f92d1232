//! Reaction to `UserAccountCreated`: the new user gets a starter project, exactly once
//! however often the event is delivered.

use taskdeck_kernel::{EventId, StoreError, UserAccountCreated, retry_on_conflict};

use super::ports::{ProjectsStore, ProjectsTransaction};
use crate::domain::Project;

/// The name under which this reaction records the events it handled.
pub const STARTER_PROJECT_CONSUMER: &str = "projects.create_starter_project";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StarterProjectOutcome {
    Created,
    /// The event was handled before: nothing was created this time.
    AlreadyHandled,
}

/// Creates the starter project. The inbox mark and the project are stored in one
/// transaction, so a redelivery after a crash finds the mark and creates nothing.
///
/// # Errors
/// Storage failures; the relay retries the delivery later.
pub async fn create_starter_project(
    store: &impl ProjectsStore,
    event_id: EventId,
    event: &UserAccountCreated,
) -> Result<StarterProjectOutcome, StoreError> {
    retry_on_conflict(|| async {
        let mut transaction = store.begin().await?;
        if !transaction.mark_event_handled(STARTER_PROJECT_CONSUMER, event_id).await? {
            return Ok(StarterProjectOutcome::AlreadyHandled);
        }
        let id = transaction.next_project_id().await?;
        let mut project = Project::starter(id, event.user_id, event.occurred_at);
        transaction.add(&mut project).await?;
        transaction.commit().await?;
        Ok(StarterProjectOutcome::Created)
    })
    .await
}
