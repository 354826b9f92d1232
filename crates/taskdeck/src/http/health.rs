//! Liveness and readiness.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use taskdeck_platform::DatabaseProbe;
use taskdeck_platform_http::{ApiError, Problem, endpoint};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

/// How long readiness waits for its write: a load balancer asks often, and a database
/// that takes longer than this to take a write is not ready for traffic.
const READY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3);
const READY_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

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
        (status = 200, description = "The database takes a write (one small row is written and committed)", body = HealthResponse),
        (status = 503, description = "The database takes no write within 3 s (unreachable, busy, full), with `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
    pub(crate) async fn ready(State(readiness): State<Readiness>) -> Result<Json<HealthResponse>, ApiError> {
        match tokio::time::timeout(READY_DEADLINE, readiness.can_write()).await {
            Ok(true) => Ok(Json(HealthResponse { status: "ok" })),
            Ok(false) | Err(_) => {
                Err(ApiError::overloaded("unavailable", "The database takes no write now", READY_RETRY))
            }
        }
    }
}
