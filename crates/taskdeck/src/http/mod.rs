//! The HTTP application around the contexts' routes: health, the OpenAPI document and
//! its browser, and the middleware every request passes through.

mod health;
pub mod openapi;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::{Extension, Router};
use taskdeck_platform_http::{BODY_LIMIT_BYTES, TrustedProxies, problem_for_framework_errors, reject_oversized_bodies};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa_swagger_ui::SwaggerUi;

pub use health::routes as health_routes;

/// A request still running after this long is answered 503.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The whole HTTP application: `routes` (health and every context's), the document
/// describing them at `/openapi.json` with its browser at `/docs`, and the middleware;
/// `trusted_proxies` decide where a request's client address is read from.
pub fn application_router(
    routes: Router,
    document: utoipa::openapi::OpenApi,
    trusted_proxies: TrustedProxies,
) -> Router {
    let docs: Router = SwaggerUi::new("/docs").url("/openapi.json", document).into();
    routes
        .merge(docs)
        .layer(Extension(Arc::new(trusted_proxies)))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn(reject_oversized_bodies))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT))
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn(problem_for_framework_errors))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
