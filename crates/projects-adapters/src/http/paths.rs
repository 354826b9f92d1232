//! Path parameters. An id that is not a positive integer names no resource, so it is
//! answered 404 like any other unknown id (not 400).

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use taskdeck_platform_http::ApiError;
use taskdeck_projects::domain::{ProjectId, TaskNumber};

fn project_not_found() -> ApiError {
    ApiError::not_found("Project not found")
}

async fn raw_params<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<HashMap<String, String>, ApiError> {
    Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map(|Path(params)| params)
        .map_err(|_| project_not_found())
}

/// A positive integer in canonical form: digits only, no sign, no leading zero, so that
/// each resource has exactly one path.
fn positive_integer(raw: &str) -> Option<i64> {
    let canonical = !raw.is_empty() && !raw.starts_with('0') && raw.bytes().all(|byte| byte.is_ascii_digit());
    if canonical { raw.parse().ok() } else { None }
}

fn parse_project(params: &HashMap<String, String>) -> Result<ProjectId, ApiError> {
    params
        .get("id")
        .and_then(|raw| positive_integer(raw))
        .and_then(|id| ProjectId::new(id).ok())
        .ok_or_else(project_not_found)
}

/// `{id}` of `/api/projects/{id}…`.
#[derive(Debug, Clone, Copy)]
pub(super) struct ProjectPath(pub ProjectId);

impl<S: Send + Sync> FromRequestParts<S> for ProjectPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = raw_params(parts, state).await?;
        parse_project(&params).map(Self)
    }
}

/// `{id}` and `{number}` of `/api/projects/{id}/tasks/{number}…`.
#[derive(Debug, Clone, Copy)]
pub(super) struct TaskPath(pub ProjectId, pub TaskNumber);

impl<S: Send + Sync> FromRequestParts<S> for TaskPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = raw_params(parts, state).await?;
        let project = parse_project(&params)?;
        let number = params
            .get("number")
            .and_then(|raw| positive_integer(raw))
            .and_then(|number| TaskNumber::new(number).ok())
            .ok_or_else(|| ApiError::not_found("Task not found"))?;
        Ok(Self(project, number))
    }
}

#[cfg(test)]
mod tests {
    use super::positive_integer;

    #[test]
    fn only_canonical_positive_integers_name_a_resource() {
        assert_eq!(positive_integer("1"), Some(1));
        assert_eq!(positive_integer("42"), Some(42));
        for other in ["", "0", "01", "+1", "-1", "1.0", "abc", " 1", "99999999999999999999"] {
            assert_eq!(positive_integer(other), None, "{other:?}");
        }
    }
}
