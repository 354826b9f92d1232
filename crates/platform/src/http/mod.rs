//! HTTP plumbing shared by every route: problem+json errors, JSON bodies that fail
//! with precise 4xx answers, the bearer-token extractor, and the middleware that turns
//! the framework's own error responses into problem documents.

pub mod auth;
pub mod body;
pub mod json;
pub mod problem;

pub use auth::CurrentUser;
pub use body::{BODY_LIMIT_BYTES, problem_for_framework_errors, reject_oversized_bodies};
pub use json::ApiJson;
pub use problem::{ApiError, FieldError, Problem};
