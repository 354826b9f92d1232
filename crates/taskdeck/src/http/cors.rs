//! Cross-origin requests from browsers: off unless the operator lists the origins
//! (`TASKDECK_CORS_ORIGINS`) whose pages may call the API.

use std::str::FromStr;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header};
use thiserror::Error;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may reuse the answer to a preflight request.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(3600);

/// The origins allowed to call the API from a browser: none, some, or any (`*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    #[default]
    None,
    Listed(Vec<HeaderValue>),
    Any,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CorsOriginsError {
    #[error("`{0}` is not an origin: write scheme://host[:port] (e.g. https://app.example.com), without a path")]
    NotAnOrigin(String),
    #[error("`*` allows every origin and cannot be combined with listed origins")]
    AnyAndListed,
}

impl FromStr for CorsOrigins {
    type Err = CorsOriginsError;

    /// A comma-separated list of origins, or `*` for any.
    fn from_str(list: &str) -> Result<Self, Self::Err> {
        let entries: Vec<&str> = list.split(',').map(str::trim).filter(|entry| !entry.is_empty()).collect();
        if entries.contains(&"*") {
            return if entries.len() == 1 { Ok(Self::Any) } else { Err(CorsOriginsError::AnyAndListed) };
        }
        if entries.is_empty() {
            return Ok(Self::None);
        }
        entries
            .into_iter()
            .map(|entry| {
                let origin = entry.trim_end_matches('/');
                if is_origin(origin) {
                    HeaderValue::from_str(origin).map_err(|_| CorsOriginsError::NotAnOrigin(entry.to_owned()))
                } else {
                    Err(CorsOriginsError::NotAnOrigin(entry.to_owned()))
                }
            })
            .collect::<Result<_, _>>()
            .map(Self::Listed)
    }
}

/// `http://` or `https://`, then a host (and port) with no path, query or user part:
/// what browsers send in `Origin`.
fn is_origin(origin: &str) -> bool {
    let Some(authority) = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://")) else {
        return false;
    };
    !authority.is_empty()
        && authority.bytes().all(|byte| byte.is_ascii_alphanumeric() || b".-:[]".contains(&byte))
        && !authority.starts_with(':')
}

impl CorsOrigins {
    /// The layer answering preflights and marking answers for the allowed origins, or
    /// `None` when no origin is allowed (browsers then refuse cross-origin reads).
    #[must_use]
    pub fn layer(&self) -> Option<CorsLayer> {
        let origins = match self {
            Self::None => return None,
            Self::Listed(origins) => AllowOrigin::list(origins.iter().cloned()),
            Self::Any => AllowOrigin::any(),
        };
        Some(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    header::IF_MATCH,
                    header::IF_NONE_MATCH,
                    HeaderName::from_static("idempotency-key"),
                    HeaderName::from_static("x-request-id"),
                    HeaderName::from_static("traceparent"),
                ])
                .expose_headers([
                    header::ETAG,
                    header::LOCATION,
                    header::RETRY_AFTER,
                    HeaderName::from_static("x-request-id"),
                    taskdeck_platform_http::idempotency::IDEMPOTENT_REPLAYED,
                ])
                .max_age(PREFLIGHT_MAX_AGE),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_list_allows_no_origin() {
        assert_eq!("".parse(), Ok(CorsOrigins::None));
        assert_eq!(" , ".parse(), Ok(CorsOrigins::None));
        assert!(CorsOrigins::None.layer().is_none());
    }

    #[test]
    fn origins_are_listed_without_a_trailing_slash() {
        let origins: CorsOrigins = "https://app.example.com, http://localhost:3000/".parse().unwrap();
        assert_eq!(
            origins,
            CorsOrigins::Listed(vec![
                HeaderValue::from_static("https://app.example.com"),
                HeaderValue::from_static("http://localhost:3000"),
            ])
        );
        assert!(origins.layer().is_some());
    }

    #[test]
    fn a_star_alone_allows_any_origin() {
        assert_eq!("*".parse(), Ok(CorsOrigins::Any));
        assert_eq!("*,https://a.example".parse::<CorsOrigins>(), Err(CorsOriginsError::AnyAndListed));
    }

    #[test]
    fn what_is_not_an_origin_is_refused() {
        for entry in
            ["app.example.com", "ftp://x.example", "https://x.example/path", "https://", "https://a b", "https://u@x"]
        {
            assert_eq!(entry.parse::<CorsOrigins>(), Err(CorsOriginsError::NotAnOrigin(entry.to_owned())), "{entry}");
        }
    }
}
