//! Event handlers of the projects context, plugged into the outbox relay.

use taskdeck_kernel::{EventEnvelope, UserAccountCreated, UserAccountDeleted};
use taskdeck_platform::outbox::{EventHandler, HandlerFuture};
use taskdeck_projects::application::{
    ErasureOutcome, ProjectsStore, StarterProjectOutcome, create_starter_project, erase_projects_of_deleted_account,
};

/// Creates the starter project of every new account.
#[derive(Debug, Clone)]
pub struct StarterProjectHandler<S> {
    store: S,
}

impl<S> StarterProjectHandler<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }
}

impl<S: ProjectsStore> EventHandler for StarterProjectHandler<S> {
    fn name(&self) -> &'static str {
        "projects.starter_project"
    }

    fn event_types(&self) -> &'static [&'static str] {
        &[UserAccountCreated::EVENT_TYPE]
    }

    fn handle<'a>(&'a self, event: &'a EventEnvelope) -> HandlerFuture<'a> {
        Box::pin(async move {
            let account: UserAccountCreated = event.decode()?;
            let outcome = create_starter_project(&self.store, event.id, &account).await?;
            match outcome {
                StarterProjectOutcome::Created => {
                    tracing::info!(user = %account.user_id, "created the starter project");
                }
                StarterProjectOutcome::AlreadyHandled => {
                    tracing::info!(user = %account.user_id, event = %event.id.as_uuid(), "redelivered event ignored");
                }
            }
            Ok(())
        })
    }
}

/// Erases the projects and tasks of every erased account.
#[derive(Debug, Clone)]
pub struct AccountErasureHandler<S> {
    store: S,
}

impl<S> AccountErasureHandler<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }
}

impl<S: ProjectsStore> EventHandler for AccountErasureHandler<S> {
    fn name(&self) -> &'static str {
        "projects.erase_projects_of_deleted_account"
    }

    fn event_types(&self) -> &'static [&'static str] {
        &[UserAccountDeleted::EVENT_TYPE]
    }

    fn handle<'a>(&'a self, event: &'a EventEnvelope) -> HandlerFuture<'a> {
        Box::pin(async move {
            let deleted: UserAccountDeleted = event.decode()?;
            match erase_projects_of_deleted_account(&self.store, event.id, &deleted).await? {
                ErasureOutcome::Erased(projects) => {
                    tracing::info!(user = %deleted.user_id, projects, "erased the projects of an erased account");
                }
                ErasureOutcome::AlreadyHandled => {
                    tracing::info!(user = %deleted.user_id, event = %event.id.as_uuid(), "redelivered event ignored");
                }
            }
            Ok(())
        })
    }
}
