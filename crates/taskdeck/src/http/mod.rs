//! The HTTP application around the contexts' routes: health, the OpenAPI document and
//! its browser, and the middleware every request passes through; and the server that
//! accepts connections for it.

pub mod admin;
mod cors;
mod health;
pub mod openapi;
pub mod server;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::{Extension, Router};
use taskdeck_platform_http::{
    BODY_LIMIT_BYTES, TrustedProxies, observe_requests, problem_for_framework_errors, reject_oversized_bodies,
};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa_swagger_ui::SwaggerUi;

pub use cors::{CorsOrigins, CorsOriginsError};
pub use health::routes as health_routes;

/// A request still running after this long is answered 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What the documentation pages may load: their own origin's scripts, styles and
/// images only (Swagger UI's icons are inline `data:` images in its stylesheet), plus
/// the one `<style>` element Swagger UI's bundle inserts, allowed by its hash rather
/// than by allowing inline styles; no framing by other sites. A new Swagger UI release
/// may change that element: the headless-browser test of the documentation says so.
const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; \
     frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";

/// How the HTTP application treats requests beyond its routes.
#[derive(Debug, Clone, Default)]
pub struct HttpSettings {
    /// Whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// Which browser origins may call the API.
    pub cors_origins: CorsOrigins,
}

/// The whole HTTP application: `routes` (health and every context's), the document
/// describing them at `/openapi.json` with its browser at `/docs`, and the middleware.
pub fn application_router(routes: Router, document: utoipa::openapi::OpenApi, settings: &HttpSettings) -> Router {
    let docs: Router = SwaggerUi::new("/docs").url("/openapi.json", document).into();
    let docs = docs.layer(SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_CONTENT_SECURITY_POLICY),
    ));
    let router = routes
        .merge(docs)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn(reject_oversized_bodies))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT))
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn(problem_for_framework_errors));
    // Preflights are answered before the rest of the middleware sees them, but inside
    // the observer, so that they are logged and carry a request id too.
    let router = match settings.cors_origins.layer() {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router.layer(middleware::from_fn(observe_requests)).layer(Extension(Arc::new(settings.trusted_proxies.clone())))
}
