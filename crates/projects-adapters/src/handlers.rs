//! Event handlers of the projects context, plugged into the outbox relay.

use taskdeck_kernel::EventEnvelope;
use taskdeck_kernel::UserAccountCreated;
use taskdeck_platform::outbox::{EventHandler, HandlerFuture};
use taskdeck_projects::application::{ProjectsStore, StarterProjectOutcome, create_starter_project};

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
                    tracing::debug!(user = %account.user_id, "created the starter project");
                }
                StarterProjectOutcome::AlreadyHandled => {
                    tracing::info!(user = %account.user_id, event = %event.id.as_uuid(), "redelivered event ignored");
                }
            }
            Ok(())
        })
    }
}
