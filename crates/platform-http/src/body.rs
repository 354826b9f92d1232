//! Request body limits, and problem documents for the error answers the framework
//! produces itself (unknown route, wrong method, body too large, timeout).

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use super::problem::{ApiError, PROBLEM_CONTENT_TYPE, Problem};

/// The largest request body taskdeck reads: far more than any valid request needs.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// How much of an oversized body is read and thrown away before answering 413, so the
/// client, still sending, receives the answer instead of a reset connection.
const DRAIN_LIMIT_BYTES: usize = 16 * 1024 * 1024;
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) fn too_large() -> ApiError {
    Problem::typed(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
        format!("The request body exceeds the limit of {} KiB", BODY_LIMIT_BYTES / 1024),
    )
    .into()
}

/// Answers 413 to a request whose declared length exceeds the limit, after draining
/// its body (up to a bound), before any handler runs.
pub async fn reject_oversized_bodies(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match declared {
        Some(length) if length > BODY_LIMIT_BYTES as u64 => {
            if length <= DRAIN_LIMIT_BYTES as u64 {
                let body = request.into_body();
                let _ = tokio::time::timeout(DRAIN_TIMEOUT, drain(body)).await;
            }
            let mut response = too_large().into_response();
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
        Some(_) | None => next.run(request).await,
    }
}

async fn drain(mut body: Body) {
    let mut read = 0_usize;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            read += data.len();
            if read > DRAIN_LIMIT_BYTES {
                break;
            }
        }
    }
}

/// Gives every error answer that is not already a problem document (the router's 404
/// and 405, a timeout, a rejected extractor) a problem+json body, keeping its status
/// and headers (`Allow` on 405).
pub async fn problem_for_framework_errors(request: Request, next: Next) -> Response {
    // Runs on every request: clone the URI (shared bytes, no allocation) rather than
    // copying its path, which only an error answer needs.
    let method = request.method().clone();
    let uri = request.uri().clone();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_problem(&response) {
        return response;
    }
    let detail = match status {
        StatusCode::NOT_FOUND => format!("No resource at {}", uri.path()),
        // The router adds the Allow header after this middleware has run.
        StatusCode::METHOD_NOT_ALLOWED => format!("{method} is not allowed on {}; see the Allow header", uri.path()),
        StatusCode::PAYLOAD_TOO_LARGE => return with_headers_of(response, too_large()),
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
            "The request could not be completed in time".to_owned()
        }
        StatusCode::INTERNAL_SERVER_ERROR => "An unexpected error occurred; it has been logged".to_owned(),
        other => other.canonical_reason().unwrap_or("Error").to_owned(),
    };
    with_headers_of(response, Problem::new(status, detail).into())
}

fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(PROBLEM_CONTENT_TYPE.as_bytes()))
}

/// The problem as the body, with the original status and headers (less the body's).
fn with_headers_of(original: Response, error: ApiError) -> Response {
    let (mut parts, _) = original.into_parts();
    let replacement = error.into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in replacement.headers() {
        parts.headers.insert(name.clone(), value.clone());
    }
    let (_, body) = replacement.into_parts();
    Response::from_parts(parts, body)
}
