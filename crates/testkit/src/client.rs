//! One HTTP client for every suite: the application router in process (through
//! `tower::ServiceExt::oneshot`) or a real server over TCP, with the same requests and
//! the same reply.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::header::{self, AsHeaderName};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const JSON: &str = "application/json";
pub const FORM: &str = "application/x-www-form-urlencoded";

/// The peer of in-process requests that name none.
pub const IN_PROCESS_PEER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 50_000);

/// Talks to one application.
#[derive(Debug, Clone)]
pub struct Client {
    transport: Transport,
}

#[derive(Debug, Clone)]
enum Transport {
    InProcess(Router),
    Socket { base: String, http: reqwest::Client },
}

/// The request never got an answer: the connection was refused or cut, or it timed out.
#[derive(Debug)]
pub struct TransportError(pub String);

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An answer read whole: status, headers, and the body as text and (when it is JSON)
/// as a value.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    /// The parsed JSON body; `Value::Null` when the body is empty or not JSON.
    pub body: Value,
}

impl Reply {
    fn new(status: StatusCode, headers: HeaderMap, bytes: &[u8]) -> Self {
        Self {
            status,
            headers,
            text: String::from_utf8_lossy(bytes).into_owned(),
            body: serde_json::from_slice(bytes).unwrap_or(Value::Null),
        }
    }

    /// A header's value, failing the test when it is missing.
    #[track_caller]
    pub fn header<K: AsHeaderName + fmt::Display + Clone>(&self, name: K) -> &str {
        let shown = name.to_string();
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {shown} header in {self:?}"))
            .to_str()
            .expect("an ASCII header")
    }

    pub fn content_type(&self) -> &str {
        self.headers.get(header::CONTENT_TYPE).map_or("", |value| value.to_str().unwrap_or_default())
    }

    /// Asserts the status, showing the whole reply when it differs; returns the reply
    /// for a look at its body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "unexpected reply: {self:#?}");
        self
    }
}

impl Client {
    /// The application router, called in process.
    #[must_use]
    pub fn in_process(router: Router) -> Self {
        Self { transport: Transport::InProcess(router) }
    }

    /// A server listening at `base` (`http://ADDR`).
    ///
    /// # Panics
    /// When the HTTP client cannot be built.
    #[must_use]
    pub fn at(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .no_proxy()
            .build()
            .expect("build the HTTP client");
        Self { transport: Transport::Socket { base: base.trim_end_matches('/').to_owned(), http } }
    }

    /// Sends a request built by the test, for headers the helpers do not cover.
    ///
    /// # Errors
    /// When the request got no answer (only over TCP).
    pub async fn try_send(&self, request: Request<Body>) -> Result<Reply, TransportError> {
        match &self.transport {
            Transport::InProcess(router) => {
                let mut request = request;
                // As the server's connect info would: a test may name another peer.
                if request.extensions().get::<ConnectInfo<SocketAddr>>().is_none() {
                    request.extensions_mut().insert(ConnectInfo(IN_PROCESS_PEER));
                }
                let response = router.clone().oneshot(request).await.expect("the router is infallible");
                let (parts, body) = response.into_parts();
                let bytes = body.collect().await.map_err(|error| TransportError(error.to_string()))?.to_bytes();
                Ok(Reply::new(parts.status, parts.headers, &bytes))
            }
            Transport::Socket { base, http } => {
                let (parts, body) = request.into_parts();
                let bytes: Bytes = body.collect().await.map_err(|error| TransportError(error.to_string()))?.to_bytes();
                let url = format!("{base}{}", parts.uri);
                let response = http
                    .request(parts.method, url)
                    .headers(parts.headers)
                    .body(bytes)
                    .send()
                    .await
                    .map_err(|error| TransportError(error.to_string()))?;
                let status = response.status();
                let headers = response.headers().clone();
                let bytes = response.bytes().await.map_err(|error| TransportError(error.to_string()))?;
                Ok(Reply::new(status, headers, &bytes))
            }
        }
    }

    /// As [`Client::try_send`], failing the test when there is no answer.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        self.try_send(request).await.unwrap_or_else(|error| panic!("no answer: {error}"))
    }

    /// A request with an optional bearer token and an optional `(content type, bytes)`
    /// body.
    ///
    /// # Panics
    /// When the request cannot be built (a malformed path).
    #[must_use]
    pub fn build(method: Method, path: &str, token: Option<&str>, body: Option<(&str, Vec<u8>)>) -> Request<Body> {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        match body {
            Some((content_type, bytes)) => {
                builder.header(header::CONTENT_TYPE, content_type).body(Body::from(bytes)).expect("a request")
            }
            None => builder.body(Body::empty()).expect("a request"),
        }
    }

    /// # Errors
    /// When the request got no answer (only over TCP).
    pub async fn try_request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Reply, TransportError> {
        self.try_send(Self::build(method, path, token, body)).await
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        self.send(Self::build(method, path, token, body)).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    /// A `PUT` without a body (archive, complete, …).
    pub async fn put(&self, path: &str, token: &str) -> Reply {
        self.request(Method::PUT, path, Some(token), None).await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.request(Method::POST, path, token, Some((JSON, body.to_string().into_bytes()))).await
    }

    pub async fn put_json(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.request(Method::PUT, path, token, Some((JSON, body.to_string().into_bytes()))).await
    }

    pub async fn register(&self, email: &str, password: &str) -> Reply {
        self.post_json("/api/users", None, &json!({"email": email, "password": password})).await
    }

    /// # Errors
    /// When the request got no answer (only over TCP).
    pub async fn try_register(&self, email: &str, password: &str) -> Result<Reply, TransportError> {
        let body = json!({"email": email, "password": password}).to_string().into_bytes();
        self.try_request(Method::POST, "/api/users", None, Some((JSON, body))).await
    }

    /// Logs in with a JSON body.
    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post_json("/api/users/login", None, &json!({"email": email, "password": password})).await
    }

    /// Logs in with the OAuth2 password form.
    ///
    /// # Panics
    /// When the form cannot be encoded.
    pub async fn login_form(&self, email: &str, password: &str) -> Reply {
        let form = reqwest::Url::parse_with_params("form:", [("username", email), ("password", password)])
            .expect("an encodable form");
        let body = form.query().unwrap_or_default().as_bytes().to_vec();
        self.request(Method::POST, "/api/users/login", None, Some((FORM, body))).await
    }

    /// Logs in (form) and returns the access token; fails unless the answer is 200.
    pub async fn token(&self, email: &str, password: &str) -> String {
        let reply = self.login_form(email, password).await.expect(200);
        reply.body["access_token"].as_str().expect("an access_token").to_owned()
    }

    /// `GET /api/users/me`, expecting 200.
    pub async fn me(&self, token: &str) -> Value {
        self.get("/api/users/me", Some(token)).await.expect(200).body
    }
}
