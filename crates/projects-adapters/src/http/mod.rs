//! HTTP routes of the projects context, under `/api/projects`. Every route needs a
//! token, and only the owner ever sees a project: anyone else gets 404, exactly as for
//! a project that does not exist.

mod dto;
mod errors;
mod handlers;
mod paths;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post, put};
use taskdeck_kernel::Clock;
use taskdeck_platform::JwtAuthority;
use taskdeck_projects::application::{ProjectQueries, ProjectsStore};

pub use dto::{
    CreateProjectRequest, CreateTaskRequest, ProjectListResponse, ProjectResponse, ProjectSummaryResponse,
    TaskListResponse, TaskResponse, UpdateProjectRequest,
};

/// What the projects routes need.
pub struct ProjectsState<S> {
    pub store: S,
    pub authority: Arc<JwtAuthority>,
    pub clock: Arc<dyn Clock>,
}

impl<S: Clone> Clone for ProjectsState<S> {
    fn clone(&self) -> Self {
        Self { store: self.store.clone(), authority: Arc::clone(&self.authority), clock: Arc::clone(&self.clock) }
    }
}

impl<S> std::fmt::Debug for ProjectsState<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectsState").finish_non_exhaustive()
    }
}

impl<S> FromRef<ProjectsState<S>> for Arc<JwtAuthority> {
    fn from_ref(state: &ProjectsState<S>) -> Self {
        Arc::clone(&state.authority)
    }
}

/// The `/api/projects` routes over any projects store.
pub fn router<S>(state: ProjectsState<S>) -> Router
where
    S: ProjectsStore + ProjectQueries + Clone,
{
    Router::new()
        .route("/api/projects", post(handlers::create_project::<S>).get(handlers::list_projects::<S>))
        .route(
            "/api/projects/{id}",
            get(handlers::get_project::<S>).put(handlers::update_project::<S>).delete(handlers::delete_project::<S>),
        )
        .route("/api/projects/{id}/archive", put(handlers::archive_project::<S>))
        .route("/api/projects/{id}/unarchive", put(handlers::unarchive_project::<S>))
        .route("/api/projects/{id}/tasks", post(handlers::create_task::<S>).get(handlers::list_tasks::<S>))
        .route("/api/projects/{id}/tasks/{number}", get(handlers::get_task::<S>))
        .route("/api/projects/{id}/tasks/{number}/complete", put(handlers::complete_task::<S>))
        .route("/api/projects/{id}/tasks/{number}/incomplete", put(handlers::incomplete_task::<S>))
        .with_state(state)
}

/// The OpenAPI description of these routes.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    paths(
        handlers::create_project,
        handlers::list_projects,
        handlers::get_project,
        handlers::update_project,
        handlers::archive_project,
        handlers::unarchive_project,
        handlers::delete_project,
        handlers::create_task,
        handlers::list_tasks,
        handlers::get_task,
        handlers::complete_task,
        handlers::incomplete_task,
    ),
    components(schemas(
        CreateProjectRequest,
        UpdateProjectRequest,
        ProjectResponse,
        ProjectSummaryResponse,
        ProjectListResponse,
        CreateTaskRequest,
        TaskResponse,
        TaskListResponse
    )),
    tags((name = "projects", description = "Projects of the signed-in user and their tasks"))
)]
pub struct ProjectsApi;
