//! The projects context as the binary composes it: [`Projects`] carries the context's
//! migrations, routes and handlers for any backend it has adapters for.

use std::sync::Arc;

use taskdeck_platform::outbox::OutboxWriter;
use taskdeck_platform::{Backend, ContextModule, Migration, MountError, Mounted, Platform};
use taskdeck_projects::application::{ProjectQueries, ProjectsStore};

use taskdeck_platform_http::Shared;

use crate::http::{self, ProjectsState};
use crate::{AccountErasureHandler, StarterProjectHandler};

/// A backend the projects context can store its projects in.
pub trait ProjectsBackend: Backend {
    type Store: ProjectsStore + ProjectQueries + Clone;

    /// The migrations of the projects tables on this backend.
    const MIGRATIONS: &'static [Migration];

    /// The repository and read model, writing events through `outbox`.
    fn projects_store(&self, outbox: &OutboxWriter) -> Self::Store;
}

/// The projects context: projects and their tasks, and every new account's starter
/// project.
#[derive(Debug, Clone, Copy, Default)]
pub struct Projects;

impl<B: ProjectsBackend> ContextModule<B> for Projects {
    fn name(&self) -> &'static str {
        "projects"
    }

    fn migrations(&self) -> &'static [Migration] {
        B::MIGRATIONS
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        http::routes::<B::Store>().split_for_parts().1
    }

    fn mount(&self, backend: &B, platform: &Platform) -> Result<Mounted, MountError> {
        let store = backend.projects_store(&platform.outbox);
        let state = ProjectsState {
            store: store.clone(),
            authenticator: platform.authenticator(),
            clock: Arc::clone(&platform.clock),
            cursors: platform.cursors.clone(),
            idempotency: platform.idempotency.clone(),
        };
        Ok(Mounted {
            routes: http::routes().with_state(Shared::new(state)),
            handlers: vec![
                Arc::new(StarterProjectHandler::new(store.clone())),
                Arc::new(AccountErasureHandler::new(store)),
            ],
        })
    }
}
