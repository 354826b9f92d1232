//! A minimal HTTP/1.1 client: one keep-alive connection per worker, built on hyper's
//! connection-level API (no pool, no redirects, no decompression — nothing between the
//! request and the socket that the server's own cost would be mixed with).

use std::net::SocketAddr;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, ETAG, HOST, HeaderValue, IF_NONE_MATCH};
use hyper::{Method, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where the server listens.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub addr: SocketAddr,
    host: HeaderValue,
}

impl Endpoint {
    pub fn new(addr: SocketAddr) -> anyhow::Result<Self> {
        let host = HeaderValue::from_str(&addr.to_string()).context("the server address is not a valid Host header")?;
        Ok(Self { addr, host })
    }
}

/// A request ready to be sent any number of times (every part is cheap to clone).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub uri: Uri,
    pub auth: Option<HeaderValue>,
    pub body: Option<(&'static str, Bytes)>,
    /// Entity tag of the copy held: a revalidation, answered 304 while it is current.
    pub if_none_match: Option<HeaderValue>,
}

impl Request {
    pub fn get(uri: Uri, auth: Option<&HeaderValue>) -> Self {
        Self { method: Method::GET, uri, auth: auth.cloned(), body: None, if_none_match: None }
    }

    pub fn put(uri: Uri, auth: Option<&HeaderValue>) -> Self {
        Self { method: Method::PUT, uri, auth: auth.cloned(), body: None, if_none_match: None }
    }

    pub fn post_json(uri: Uri, auth: Option<&HeaderValue>, json: &serde_json::Value) -> Self {
        let body = Bytes::from(json.to_string());
        Self {
            method: Method::POST,
            uri,
            auth: auth.cloned(),
            body: Some(("application/json", body)),
            if_none_match: None,
        }
    }

    pub fn post_form(uri: Uri, form: Bytes) -> Self {
        Self {
            method: Method::POST,
            uri,
            auth: None,
            body: Some(("application/x-www-form-urlencoded", form)),
            if_none_match: None,
        }
    }

    /// The same request, revalidating the copy tagged `tag`.
    #[must_use]
    pub fn revalidating(mut self, tag: HeaderValue) -> Self {
        self.if_none_match = Some(tag);
        self
    }

    /// Whether `status` is the answer this request hopes for: a success, or 304 to a
    /// revalidation.
    pub fn succeeded(&self, status: StatusCode) -> bool {
        status.is_success() || (self.if_none_match.is_some() && status == StatusCode::NOT_MODIFIED)
    }

    /// `METHOD /path`, for error messages.
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.uri)
    }
}

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub etag: Option<HeaderValue>,
    pub body: Bytes,
}

impl Reply {
    /// The start of the body, for error messages.
    pub fn snippet(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let mut snippet: String = text.chars().take(200).collect();
        if snippet.len() < text.len() {
            snippet.push('…');
        }
        snippet
    }
}

/// One keep-alive connection; reconnects on the next request after a transport error
/// or when the server closed it.
#[derive(Debug)]
pub struct Connection {
    endpoint: Endpoint,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    pub async fn open(endpoint: &Endpoint) -> anyhow::Result<Self> {
        let mut connection = Self { endpoint: endpoint.clone(), sender: None };
        connection.ready().await?;
        Ok(connection)
    }

    async fn ready(&mut self) -> anyhow::Result<&mut SendRequest<Full<Bytes>>> {
        if self.sender.as_ref().is_some_and(SendRequest::is_closed) {
            self.sender = None;
        }
        let sender = match self.sender.take() {
            Some(sender) => sender,
            None => {
                let stream = TcpStream::connect(self.endpoint.addr)
                    .await
                    .with_context(|| format!("cannot connect to {}", self.endpoint.addr))?;
                stream.set_nodelay(true).context("cannot set TCP_NODELAY")?;
                let (sender, connection) =
                    http1::handshake(TokioIo::new(stream)).await.context("HTTP/1 handshake failed")?;
                tokio::spawn(async move {
                    // Ends when the server or the sender closes the connection.
                    let _ = connection.await;
                });
                sender
            }
        };
        let mut sender = sender;
        sender.ready().await.context("the connection closed")?;
        Ok(self.sender.insert(sender))
    }

    /// Sends `request` and reads the whole response body.
    pub async fn send(&mut self, request: &Request) -> anyhow::Result<Reply> {
        let result = self.exchange(request).await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    async fn exchange(&mut self, request: &Request) -> anyhow::Result<Reply> {
        let host = self.endpoint.host.clone();
        let mut builder =
            hyper::Request::builder().method(request.method.clone()).uri(request.uri.clone()).header(HOST, host);
        if let Some(auth) = &request.auth {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        if let Some(tag) = &request.if_none_match {
            builder = builder.header(IF_NONE_MATCH, tag.clone());
        }
        let body = match &request.body {
            Some((content_type, body)) => {
                builder = builder.header(CONTENT_TYPE, HeaderValue::from_static(content_type));
                body.clone()
            }
            None => Bytes::new(),
        };
        let http_request = builder.body(Full::new(body)).context("cannot build the request")?;
        let sender = self.ready().await?;
        let response = sender.send_request(http_request).await.context("request failed")?;
        let status = response.status();
        let etag = response.headers().get(ETAG).cloned();
        let body = response.into_body().collect().await.context("cannot read the response body")?.to_bytes();
        Ok(Reply { status, etag, body })
    }
}

/// Percent-encodes one value of an `application/x-www-form-urlencoded` body.
pub fn form_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => out.push(char::from(byte)),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Parses a path into a URI (paths are built by the harness, so a failure is a bug here).
pub fn uri(path: &str) -> anyhow::Result<Uri> {
    path.parse().with_context(|| format!("invalid request path {path:?}"))
}
