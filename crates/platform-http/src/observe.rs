//! What an operator sees of each request: its id (kept from the client or made here)
//! on the answer, in every problem document and on every log line written while it is
//! served; the trace it belongs to; and one line when it is answered, with the client,
//! the route, the status and the duration.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use metrics::SharedString;
use taskdeck_platform::metrics::{HTTP_REQUEST_DURATION, HTTP_REQUESTS, HTTP_REQUESTS_IN_FLIGHT};
use taskdeck_platform::trace::{self, TraceParent};
use tracing::Instrument;
use uuid::Uuid;

use crate::client_address::TrustedProxies;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// The longest client-chosen request id that is kept.
const MAX_REQUEST_ID_LEN: usize = 128;
/// The route of a request no route matched: one label for all of them, whatever the path.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The id of the request being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The client's own id when it is 1–128 visible ASCII characters, else a new one.
    #[must_use]
    pub fn of(headers: &HeaderMap) -> Self {
        headers
            .get(REQUEST_ID)
            .filter(|value| is_acceptable(value.as_bytes()))
            .map_or_else(Self::generate, |value| Self(value.clone()))
    }

    fn generate() -> Self {
        let mut text = [0_u8; uuid::fmt::Hyphenated::LENGTH];
        let text = Uuid::new_v4().hyphenated().encode_lower(&mut text);
        Self(HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("unnamed")))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only visible ASCII is ever kept, so this never falls back.
        self.0.to_str().unwrap_or_default()
    }
}

fn is_acceptable(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&id.len()) && id.iter().all(|byte| byte.is_ascii_graphic())
}

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The id of the request served on this task, for the problem document it answers.
#[must_use]
pub fn current_request_id() -> Option<String> {
    CURRENT.try_with(|id| id.as_str().to_owned()).ok()
}

/// The outermost middleware: names the request, serves it inside its span (every log
/// line written meanwhile carries the id, the trace id and the client), logs the answer,
/// and puts the id and `nosniff` on it.
pub async fn observe_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = RequestId::of(request.headers());
    let trace = request.headers().get(TRACEPARENT).and_then(|value| value.to_str().ok()).and_then(TraceParent::parse);
    let route = request.extensions().get::<MatchedPath>().cloned();
    let route = route.as_ref().map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
    let client = client_of(&request);
    let method = method_label(request.method());
    let in_flight = InFlight::enter();
    let span = tracing::info_span!(
        "request",
        request_id = id.as_str(),
        trace_id = trace.as_ref().map(TraceParent::trace_id),
        client = client.as_deref(),
        method,
        route,
    );
    span.in_scope(|| tracing::debug!(target: "taskdeck::request", "received"));
    let served = CURRENT.scope(id.clone(), trace::within(trace, next.run(request)));
    let mut response = served.instrument(span.clone()).await;
    drop(in_flight);
    let status = response.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    metrics::counter!(HTTP_REQUESTS, "route" => route.to_owned(), "method" => method, "status" => status_label(status))
        .increment(1);
    metrics::histogram!(HTTP_REQUEST_DURATION, "route" => route.to_owned(), "method" => method).record(elapsed);
    // Microseconds are as fine as a log reader needs.
    let duration_ms = (elapsed * 1e6).round() / 1e3;
    span.in_scope(|| tracing::info!(target: "taskdeck::request", status, duration_ms, "answered"));
    let headers = response.headers_mut();
    headers.insert(REQUEST_ID, id.0);
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// Counts a request in flight while it lives: a request whose client went away is
/// dropped mid-way and uncounted all the same.
struct InFlight;

impl InFlight {
    fn enter() -> Self {
        metrics::gauge!(HTTP_REQUESTS_IN_FLIGHT).increment(1.0);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!(HTTP_REQUESTS_IN_FLIGHT).decrement(1.0);
    }
}

/// The methods the API knows, as labels without an allocation; any other is `other`
/// (a client must not grow the label set).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The status codes taskdeck answers most, as labels without an allocation.
fn status_label(status: u16) -> SharedString {
    let common = match status {
        200 => "200",
        201 => "201",
        204 => "204",
        304 => "304",
        400 => "400",
        401 => "401",
        404 => "404",
        409 => "409",
        412 => "412",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        _ => return SharedString::from(status.to_string()),
    };
    SharedString::const_str(common)
}

/// The client's address as the limits per address see it, for the log; the peer
/// itself when `X-Forwarded-For` cannot be read (that request is refused later).
fn client_of(request: &Request) -> Option<String> {
    let ConnectInfo(peer) = request.extensions().get::<ConnectInfo<SocketAddr>>()?;
    let client = request
        .extensions()
        .get::<Arc<TrustedProxies>>()
        .and_then(|proxies| proxies.client(peer.ip(), request.headers()).ok())
        .unwrap_or_else(|| peer.ip());
    Some(client.to_string())
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;
    use crate::problem::ApiError;

    fn headers(id: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID, HeaderValue::from_bytes(id).unwrap());
        headers
    }

    #[test]
    fn a_clients_visible_ascii_id_is_kept() {
        for id in ["a", "req-42", "~!#$%&'*+.^_`|", &"x".repeat(128)] {
            assert_eq!(RequestId::of(&headers(id.as_bytes())).as_str(), id);
        }
    }

    #[test]
    fn an_unacceptable_id_is_replaced_by_a_new_one() {
        for id in [&b"has space"[..], b"tab\there", &[b'x'; 129], b"caf\xc3\xa9"] {
            let kept = RequestId::of(&headers(id));
            assert_ne!(kept.as_str().as_bytes(), id);
            assert!(Uuid::parse_str(kept.as_str()).is_ok(), "{kept:?}");
        }
        let empty = RequestId::of(&HeaderMap::new());
        assert!(Uuid::parse_str(empty.as_str()).is_ok());
        assert_ne!(RequestId::of(&HeaderMap::new()), empty, "each request gets its own");
    }

    fn app() -> Router {
        Router::new()
            .route("/ok", get(|| async { "ok" }))
            .route("/refused", get(|| async { ApiError::not_found("nothing here") }))
            .layer(axum::middleware::from_fn(observe_requests))
    }

    async fn call(path: &str, id: Option<&str>) -> Response {
        let mut request = axum::http::Request::get(path);
        if let Some(id) = id {
            request = request.header(REQUEST_ID, id);
        }
        app().oneshot(request.body(Body::empty()).unwrap()).await.unwrap()
    }

    #[tokio::test]
    async fn every_answer_names_its_request_and_refuses_sniffing() {
        let response = call("/ok", Some("client-7")).await;
        assert_eq!(response.headers()[REQUEST_ID], "client-7");
        assert_eq!(response.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let response = call("/ok", None).await;
        assert!(Uuid::parse_str(response.headers()[REQUEST_ID].to_str().unwrap()).is_ok());
    }

    #[tokio::test]
    async fn a_problem_document_names_the_request_it_answers() {
        let response = call("/refused", Some("client-8")).await;
        assert_eq!(response.headers()[REQUEST_ID], "client-8");
        let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["requestId"], "client-8");
        assert_eq!(problem["status"], 404);
    }

    #[test]
    fn outside_a_request_there_is_no_request_id() {
        assert_eq!(current_request_id(), None);
        let problem = ApiError::not_found("x");
        assert_eq!(problem.problem().request_id, None);
    }
}
