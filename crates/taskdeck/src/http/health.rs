//! Liveness and readiness.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use taskdeck_platform::http::{ApiError, Problem};
use utoipa::ToSchema;

use crate::composition::Database;

/// Whether the database answers, whatever the backend.
#[derive(Debug, Clone)]
pub struct Readiness {
    database: Database,
}

impl Readiness {
    #[must_use]
    pub fn new(database: Database) -> Self {
        Self { database }
    }

    async fn is_ready(&self) -> bool {
        self.database.is_reachable().await
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct HealthResponse {
    /// Always `ok`.
    pub status: &'static str,
}

pub(super) fn router(readiness: Readiness) -> Router {
    Router::new().route("/health", get(health)).route("/ready", get(ready)).with_state(readiness)
}

/// Liveness: the process is up and serving.
#[utoipa::path(
    get, path = "/health", tag = "health", operation_id = "health",
    responses((status = 200, description = "The process is alive", body = HealthResponse))
)]
pub(super) async fn health() -> Json<HealthResponse> {
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
pub(super) async fn ready(State(readiness): State<Readiness>) -> Result<Json<HealthResponse>, ApiError> {
    if readiness.is_ready().await {
        Ok(Json(HealthResponse { status: "ok" }))
    } else {
        Err(ApiError::unavailable("The database does not answer"))
    }
}
