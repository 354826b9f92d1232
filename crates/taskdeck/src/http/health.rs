//! Liveness and readiness.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use taskdeck_platform::DatabaseProbe;
use taskdeck_platform_http::{ApiError, Problem, endpoint};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

/// Whether the database answers, whatever the backend.
pub type Readiness = Arc<dyn DatabaseProbe>;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct HealthResponse {
    /// Always `ok`.
    pub status: &'static str,
}

/// `/health` and `/ready`, with their OpenAPI operations.
pub fn routes() -> OpenApiRouter<Readiness> {
    OpenApiRouter::with_openapi(HealthApi::openapi())
        .routes(endpoint!(handlers::health))
        .routes(endpoint!(handlers::ready))
}

#[derive(OpenApi)]
#[openapi(tags((name = "health", description = "Liveness and readiness probes")))]
struct HealthApi;

mod handlers {
    use super::*;

    /// Liveness: the process is up and serving.
    #[utoipa::path(
    get, path = "/health", tag = "health", operation_id = "health",
    responses((status = 200, description = "The process is alive", body = HealthResponse))
)]
    pub(crate) async fn health() -> Json<HealthResponse> {
        Json(HealthResponse { status: "ok" })
    }

    /// Readiness: the process can reach its database.
    #[utoipa::path(
    get, path = "/ready", tag = "health", operation_id = "ready",
    responses(
        (status = 200, description = "The database answers", body = HealthResponse),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    )
)]
    pub(crate) async fn ready(State(readiness): State<Readiness>) -> Result<Json<HealthResponse>, ApiError> {
        if readiness.is_reachable().await {
            Ok(Json(HealthResponse { status: "ok" }))
        } else {
            Err(ApiError::unavailable("The database does not answer"))
        }
    }
}
