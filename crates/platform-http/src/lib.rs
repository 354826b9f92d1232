//! HTTP plumbing shared by every route: problem+json errors, JSON bodies that fail
//! with precise 4xx answers, the bearer-token extractor, the client's address and the limits kept per address, the middleware that turns
//! the framework's own error responses into problem documents, and [`endpoint!`], which
//! registers a handler and its OpenAPI operation in one line.

pub mod auth;
pub mod body;
pub mod client_address;
pub mod conditional;
mod endpoint;
pub mod idempotency;
pub mod json;
pub mod observe;
pub mod problem;
pub mod rate_limit;

/// What [`endpoint!`] expands to needs, reachable from any crate that uses it.
#[doc(hidden)]
pub mod __private {
    pub use axum;
    pub use utoipa;
    pub use utoipa_axum;
}

pub use auth::{Authenticates, CurrentSession, CurrentUser, Shared};
pub use body::{BODY_LIMIT_BYTES, problem_for_framework_errors, reject_oversized_bodies};
pub use client_address::{ClientAddress, TrustedProxies, TrustedProxiesError};
pub use conditional::{IfMatch, IfNoneMatch, not_modified, with_entity_tag};
pub use idempotency::{
    Creation, HeldClaim, IdempotencyKeyHeader, answer_response, begin_creation, created_answer, settle,
};
pub use json::{ApiJson, ApiJsonWithBytes};
pub use observe::{RequestId, observe_requests};
pub use problem::{ApiError, FieldError, Problem};
pub use rate_limit::{AddressRate, AddressRateError, AddressRateLimiter};
