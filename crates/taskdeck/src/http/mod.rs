//! The HTTP application: both contexts' routes, health, the OpenAPI document and its
//! browser, and the middleware every request passes through.

mod health;
pub mod openapi;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use taskdeck_accounts::application::{AccountQueries, AccountsStore};
use taskdeck_accounts_adapters::http::AccountsState;
use taskdeck_platform::http::{BODY_LIMIT_BYTES, problem_for_framework_errors, reject_oversized_bodies};
use taskdeck_projects::application::{ProjectQueries, ProjectsStore};
use taskdeck_projects_adapters::http::ProjectsState;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa_swagger_ui::SwaggerUi;

pub use health::Readiness;

/// A request still running after this long is answered 503.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The whole HTTP application.
pub fn application_router<A, P>(accounts: AccountsState<A>, projects: ProjectsState<P>, readiness: Readiness) -> Router
where
    A: AccountsStore + AccountQueries + Clone,
    P: ProjectsStore + ProjectQueries + Clone,
{
    let docs: Router = SwaggerUi::new("/docs").url("/openapi.json", openapi::document()).into();
    Router::new()
        .merge(health::router(readiness))
        .merge(taskdeck_accounts_adapters::http::router(accounts))
        .merge(taskdeck_projects_adapters::http::router(projects))
        .merge(docs)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn(reject_oversized_bodies))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT))
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn(problem_for_framework_errors))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
