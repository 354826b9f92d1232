//! HTTP routes of the projects context, under `/api/projects`. Every route needs a
//! token, and only the owner ever sees a project: anyone else gets 404, exactly as for
//! a project that does not exist.

mod dto;
mod errors;
mod handlers;
mod pages;
mod paths;

use std::sync::Arc;

use taskdeck_kernel::Clock;
use taskdeck_platform::{Authenticator, Idempotency, PageCursors};
use taskdeck_platform_http::{Authenticates, Shared, endpoint};
use taskdeck_projects::application::{ProjectQueries, ProjectsStore};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use dto::{
    CreateProjectRequest, CreateTaskRequest, ProjectListResponse, ProjectResponse, ProjectSummaryResponse,
    TaskListResponse, TaskResponse, UpdateProjectRequest,
};

/// What the projects routes need (behind one [`Shared`] for all requests).
pub struct ProjectsState<S> {
    pub store: S,
    pub authenticator: Authenticator,
    pub clock: Arc<dyn Clock>,
    pub cursors: PageCursors,
    /// Claims and replays the `Idempotency-Key` of creating requests.
    pub idempotency: Idempotency,
}

impl<S> std::fmt::Debug for ProjectsState<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectsState").finish_non_exhaustive()
    }
}

impl<S> Authenticates for ProjectsState<S> {
    fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }
}

/// The `/api/projects` routes over any projects store, each with its OpenAPI operation.
pub(crate) fn routes<S>() -> OpenApiRouter<Shared<ProjectsState<S>>>
where
    S: ProjectsStore + ProjectQueries + Clone,
{
    OpenApiRouter::with_openapi(ProjectsApi::openapi())
        .routes(endpoint!(handlers::create_project::<S>))
        .routes(endpoint!(handlers::list_projects::<S>))
        .routes(endpoint!(handlers::get_project::<S>))
        .routes(endpoint!(handlers::update_project::<S>))
        .routes(endpoint!(handlers::delete_project::<S>))
        .routes(endpoint!(handlers::archive_project::<S>))
        .routes(endpoint!(handlers::unarchive_project::<S>))
        .routes(endpoint!(handlers::create_task::<S>))
        .routes(endpoint!(handlers::list_tasks::<S>))
        .routes(endpoint!(handlers::get_task::<S>))
        .routes(endpoint!(handlers::complete_task::<S>))
        .routes(endpoint!(handlers::incomplete_task::<S>))
}

/// What the OpenAPI document says of the context beyond its operations.
#[derive(OpenApi)]
#[openapi(tags((name = "projects", description = "Projects of the signed-in user and their tasks")))]
struct ProjectsApi;
