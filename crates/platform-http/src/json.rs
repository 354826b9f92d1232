//! `ApiJson<T>`: a JSON body extractor whose failures are problem documents naming
//! what is wrong: 400 for a body that is not JSON, 413 when too large, 422 (with the
//! camelCase field) for a missing field or a value of the wrong JSON type.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::problem::{ApiError, FieldError};

/// A JSON request body of type `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        ApiJsonWithBytes::from_request(request, state).await.map(|ApiJsonWithBytes(value, _)| Self(value))
    }
}

/// A JSON request body of type `T` with the bytes it was read from (for a request
/// fingerprint, say).
#[derive(Debug, Clone)]
pub struct ApiJsonWithBytes<T>(pub T, pub Bytes);

impl<T, S> FromRequest<S> for ApiJsonWithBytes<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(&request) {
            return Err(ApiError::bad_request("Expected a JSON body with Content-Type: application/json"));
        }
        let bytes = read_body(request, state).await?;
        parse_json(&bytes).map(|value| Self(value, bytes))
    }
}

/// Whether the request declares a JSON body (`application/json` or `+json`).
pub fn has_json_content_type(request: &Request) -> bool {
    content_type(request).is_some_and(|essence| {
        essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
    })
}

/// The media type of the body, lower-cased, without parameters.
pub fn content_type(request: &Request) -> Option<String> {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}

/// Reads the whole body within the body limit.
///
/// # Errors
/// 413 when the body exceeds the limit, 400 when it cannot be read.
pub async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            super::body::too_large()
        } else {
            ApiError::bad_request(format!("The request body could not be read: {rejection}"))
        }
    })
}

/// Parses a JSON body into `T`.
///
/// # Errors
/// 400 for text that is not JSON, 422 for JSON of the wrong shape.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|error| ApiError::bad_request(format!("The request body is not valid JSON: {error}")))?;
    if !value.is_object() {
        return Err(ApiError::validation(vec![FieldError::new("body", "expected a JSON object")]));
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = inner.to_string();
        ApiError::validation(vec![FieldError::new(field_of(&path, &message), message)])
    })
}

/// The field a deserialisation error is about: its path, or for a missing field (whose
/// path is the enclosing object) the name serde quotes in the message.
fn field_of(path: &str, message: &str) -> String {
    let missing = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
    match (path, missing) {
        (".", Some(field)) => field.to_owned(),
        (".", None) => "body".to_owned(),
        (path, Some(field)) => format!("{path}.{field}"),
        (path, None) => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Body {
        name: String,
        maximum_number_of_incomplete_tasks: Option<i64>,
    }

    fn problem_of(bytes: &str) -> crate::Problem {
        parse_json::<Body>(bytes.as_bytes()).unwrap_err().problem().clone()
    }

    #[test]
    fn text_that_is_not_json_is_a_bad_request() {
        assert_eq!(problem_of("{name:").status, 400);
    }

    #[test]
    fn a_missing_field_is_named() {
        let problem = problem_of("{}");
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors.unwrap()[0].field, "name");
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_camel_case_field() {
        let problem = problem_of(r#"{"name": "Home", "maximumNumberOfIncompleteTasks": "three"}"#);
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors.unwrap()[0].field, "maximumNumberOfIncompleteTasks");
    }

    #[test]
    fn a_body_that_is_not_an_object_is_unprocessable() {
        let problem = problem_of("[1, 2]");
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors.unwrap()[0].field, "body");
    }

    #[test]
    fn unknown_fields_are_ignored() {
        assert!(parse_json::<Body>(br#"{"name": "Home", "colour": "red"}"#).is_ok());
    }
}
