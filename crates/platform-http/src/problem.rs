//! RFC 9457 problem documents: the body of every error answer.

use std::sync::OnceLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// One invalid field of a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The camelCase name of the field, as sent by the client.
    #[schema(example = "name")]
    pub field: String,
    #[schema(example = "must be at least 4 characters long")]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl ToString) -> Self {
        Self { field: field.into(), message: message.to_string() }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:taskdeck:problem:validation",
    "title": "Unprocessable Entity",
    "status": 422,
    "detail": "The request body has invalid values",
    "errors": [{"field": "name", "message": "must be at least 4 characters long"}]
}))]
pub struct Problem {
    /// Identifies the kind of problem; `about:blank` when the status says it all.
    #[serde(rename = "type")]
    #[schema(example = "urn:taskdeck:problem:validation")]
    pub problem_type: String,
    #[schema(example = "Unprocessable Content")]
    pub title: String,
    #[schema(example = 422)]
    pub status: u16,
    #[schema(example = "The request body has invalid values")]
    pub detail: String,
    /// Present on validation errors (422): one entry per invalid field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// Present on refusals of the token endpoint: the OAuth 2.0 error code
    /// (RFC 6749 §5.2), e.g. `invalid_grant`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "invalid_grant")]
    pub error: Option<String>,
    /// The request this answers, as in its `X-Request-Id` header: quote it when
    /// reporting a problem, operators find the request's log lines by it.
    #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
    #[schema(example = "0190c2a4-7d3e-7c4a-9b1e-2f6d8a5c3e01")]
    pub request_id: Option<String>,
}

impl Problem {
    /// A problem of the given status whose type is `about:blank`.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            problem_type: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: None,
            error: None,
            request_id: None,
        }
    }

    /// A problem with a specific type `urn:taskdeck:problem:{slug}`.
    pub fn typed(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        Self { problem_type: format!("urn:taskdeck:problem:{slug}"), ..Self::new(status, detail) }
    }
}

/// Tells, of an error met in a failure, whether it is a passing condition and how long
/// to wait; see [`recognise_passing_failures`].
pub type PassingFailure = fn(&(dyn std::error::Error + 'static)) -> Option<std::time::Duration>;

static PASSING_FAILURES: OnceLock<PassingFailure> = OnceLock::new();

/// Installs, once per process, what tells the storage backend's passing failures (a
/// database busy past its wait, full or unreachable) from faults: errors it recognises
/// anywhere in a cause's chain are answered 503 with `Retry-After` instead of 500. The
/// composition root installs its backend's; the HTTP code never names a database.
pub fn recognise_passing_failures(classifier: PassingFailure) {
    // A second installation (tests composing many applications) changes nothing.
    let _ = PASSING_FAILURES.set(classifier);
}

fn passing_failure(cause: &dyn std::error::Error) -> Option<std::time::Duration> {
    let classifier = PASSING_FAILURES.get()?;
    let mut next = cause.source();
    while let Some(error) = next {
        if let Some(retry_after) = classifier(error) {
            return Some(retry_after);
        }
        next = error.source();
    }
    None
}

/// An error answer: a problem document plus the headers its status needs.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// Boxed: an error answer is the rare path, and `Result`s carrying it stay small.
    problem: Box<Problem>,
    www_authenticate: Option<&'static str>,
    /// `Retry-After`, in seconds.
    retry_after: Option<u64>,
}

impl ApiError {
    #[must_use]
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// 400: the body cannot be read as the expected format.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Problem::typed(StatusCode::BAD_REQUEST, "malformed-body", detail).into()
    }

    /// 401 with `WWW-Authenticate: Bearer`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self {
            problem: Box::new(Problem::typed(StatusCode::UNAUTHORIZED, "unauthorized", detail)),
            www_authenticate: Some("Bearer"),
            retry_after: None,
        }
    }

    /// 401 for a token that was sent but is not valid (RFC 6750 `invalid_token`).
    pub fn invalid_token() -> Self {
        Self {
            problem: Box::new(Problem::typed(
                StatusCode::UNAUTHORIZED,
                "invalid-token",
                "The access token is invalid or has expired",
            )),
            www_authenticate: Some(r#"Bearer error="invalid_token""#),
            retry_after: None,
        }
    }

    /// 401 for a refresh token that earns nothing (wrong, expired, spent or of a
    /// revoked session): the OAuth 2.0 `invalid_grant`.
    pub fn invalid_grant() -> Self {
        let mut problem = Problem::typed(
            StatusCode::UNAUTHORIZED,
            "invalid-grant",
            "The refresh token is invalid, expired, already used or revoked; log in again",
        );
        problem.error = Some("invalid_grant".to_owned());
        Self { problem: Box::new(problem), www_authenticate: Some("Bearer"), retry_after: None }
    }

    /// 404; used also for resources of other users, which must look nonexistent.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::typed(StatusCode::NOT_FOUND, "not-found", detail).into()
    }

    /// 409: a domain rule forbids the change right now.
    pub fn conflict(slug: &str, detail: impl Into<String>) -> Self {
        Problem::typed(StatusCode::CONFLICT, slug, detail).into()
    }

    /// 412: the resource changed since the client read it (`If-Match`).
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Problem::typed(StatusCode::PRECONDITION_FAILED, "precondition-failed", detail).into()
    }

    /// 422 naming each invalid field.
    #[must_use]
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut problem =
            Problem::typed(StatusCode::UNPROCESSABLE_ENTITY, "validation", "The request body has invalid values");
        problem.errors = Some(errors);
        problem.into()
    }

    /// 429 with `Retry-After`: the client must wait `retry_after` (whole seconds, at
    /// least one) before it tries again.
    pub fn too_many_requests(slug: &str, detail: impl Into<String>, retry_after: std::time::Duration) -> Self {
        Self::retry_later(StatusCode::TOO_MANY_REQUESTS, slug, detail, retry_after)
    }

    /// 503: a dependency (the database) is unavailable.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Problem::typed(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail).into()
    }

    /// 503 with `Retry-After`: the server sheds this request under load, and the
    /// client may try again after `retry_after` (whole seconds, at least one).
    pub fn overloaded(slug: &str, detail: impl Into<String>, retry_after: std::time::Duration) -> Self {
        Self::retry_later(StatusCode::SERVICE_UNAVAILABLE, slug, detail, retry_after)
    }

    fn retry_later(
        status: StatusCode,
        slug: &str,
        detail: impl Into<String>,
        retry_after: std::time::Duration,
    ) -> Self {
        let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        Self {
            problem: Box::new(Problem::typed(status, slug, detail)),
            www_authenticate: None,
            retry_after: Some(seconds.max(1)),
        }
    }

    /// 500, or 503 with `Retry-After` when the cause is a passing condition of the
    /// storage (see [`recognise_passing_failures`]). The cause is logged here; the
    /// answer names nothing internal.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        if let Some(retry_after) = passing_failure(cause) {
            tracing::warn!(error = %cause, source = ?cause.source(), "the storage is unavailable for now; answered 503");
            return Self::overloaded(
                "unavailable",
                "The service cannot store or read data right now; try again after the time in Retry-After",
                retry_after,
            );
        }
        tracing::error!(error = %cause, source = ?cause.source(), "request failed with an internal error");
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "An unexpected error occurred; it has been logged").into()
    }
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        Self { problem: Box::new(problem), www_authenticate: None, retry_after: None }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut problem = self.problem;
        if problem.request_id.is_none() {
            problem.request_id = crate::observe::current_request_id();
        }
        let body = serde_json::to_vec(&*problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
        if let Some(challenge) = self.www_authenticate {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_serialises_with_the_rfc_9457_member_names() {
        let json = serde_json::to_value(Problem::typed(StatusCode::CONFLICT, "email-taken", "taken")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "urn:taskdeck:problem:email-taken",
                "title": "Conflict",
                "status": 409,
                "detail": "taken"
            })
        );
    }

    #[test]
    fn an_unauthorized_answer_challenges_for_a_bearer_token() {
        let response = ApiError::unauthorized("no token").into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_CONTENT_TYPE);
    }

    #[test]
    fn an_internal_error_answers_500_without_naming_its_cause() {
        let cause = std::io::Error::other("disk I/O error in table users at /var/lib/taskdeck.db");
        let response = ApiError::internal(&cause);
        let body = serde_json::to_string(response.problem()).unwrap();
        assert_eq!(response.problem().status, 500);
        for internal in ["disk", "users", "/var/lib", "taskdeck.db"] {
            assert!(!body.contains(internal), "{body}");
        }
    }

    #[test]
    fn a_throttled_answer_says_when_to_retry_in_whole_seconds() {
        let response = ApiError::too_many_requests("rate-limited", "slow down", std::time::Duration::from_millis(1200))
            .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_CONTENT_TYPE);
        let soon = ApiError::too_many_requests("rate-limited", "slow down", std::time::Duration::ZERO);
        assert_eq!(soon.into_response().headers()[header::RETRY_AFTER], "1", "never zero");
    }

    #[test]
    fn an_overloaded_answer_is_503_and_says_when_to_retry() {
        let response =
            ApiError::overloaded("busy", "try later", std::time::Duration::from_millis(2500)).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_CONTENT_TYPE);
        let soon = ApiError::overloaded("busy", "try later", std::time::Duration::ZERO);
        assert_eq!(soon.problem().problem_type, "urn:taskdeck:problem:busy");
        assert_eq!(soon.into_response().headers()[header::RETRY_AFTER], "1", "never zero");
    }

    #[test]
    fn validation_problems_list_their_fields() {
        let error = ApiError::validation(vec![FieldError::new("name", "too short")]);
        let json = serde_json::to_value(error.problem()).unwrap();
        assert_eq!(json["errors"], serde_json::json!([{"field": "name", "message": "too short"}]));
        assert_eq!(json["status"], 422);
    }
}
