//! The HTTP/1.1 server: accepts connections up to a cap, and sheds the clients that
//! would otherwise hold them for free.
//!
//! hyper's own header timeout starts as soon as a connection waits for its next
//! request, so it cannot tell a client that trickles its headers (cut after 10 s) from
//! a keep-alive connection resting between requests (kept for 60 s). Each connection
//! therefore watches its own phase — waiting for a request, reading one's headers, or
//! being served — and its reads time out by the phase's deadline. A request being
//! served is bounded by the request timeout of the application instead.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::Service;

/// What the server allows each connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections at most; further clients wait to be accepted.
    pub max_connections: usize,
    /// From a request's first byte (or the connection's opening) to its last header.
    pub header_timeout: Duration,
    /// How long a keep-alive connection may rest between requests.
    pub idle_timeout: Duration,
    /// The most header bytes a request may send; more is answered 431.
    pub max_header_bytes: usize,
    /// How long requests in flight may take to finish once shutdown begins.
    pub shutdown_deadline: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_header_bytes: 32 * 1024,
            shutdown_deadline: Duration::from_secs(10),
        }
    }
}

/// How long the accept loop rests when accepting fails for want of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` until `shutdown` completes, then lets the requests in
/// flight finish within the deadline and closes every connection.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut http = http1::Builder::new();
    http.max_header_size(limits.max_header_bytes).header_read_timeout(None).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        // A slot first: at the cap, new clients wait in the listen backlog rather than
        // being accepted and starved.
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    rest_after_accept_error(&error).await;
                    continue;
                }
            },
        };
        // Answers are small and written at once: Nagle's delay would only add latency.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let phase = Arc::new(Phase::new());
        let io = TokioIo::new(Watched::new(stream, Arc::clone(&phase), limits));
        let service = ConnectionService { router: router.clone(), peer, phase };
        let connection = graceful.watch(http.serve_connection(io, service));
        connections.spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!(open = connections.len(), "no longer accepting connections; finishing requests in flight");
    if tokio::time::timeout(limits.shutdown_deadline, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            deadline = ?limits.shutdown_deadline,
            "connections still open after the shutdown deadline are closed"
        );
    }
    connections.shutdown().await;
}

/// Errors of one connection (the client gave up before it was accepted) are no reason
/// to pause; running out of file descriptors is, or the loop would spin.
async fn rest_after_accept_error(error: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
    if matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted) {
        return;
    }
    tracing::warn!(%error, "cannot accept a connection; pausing");
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}

/// The router, with each request's peer address and the connection's phase.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
    peer: SocketAddr,
    phase: Arc<Phase>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for ConnectionService {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        self.phase.serving();
        let mut request = request.map(axum::body::Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let answer = self.router.clone().call(request);
        let phase = Arc::clone(&self.phase);
        Box::pin(async move {
            let response = answer.await;
            phase.resting();
            response
        })
    }
}

/// Where a connection is between requests, shared by its reads and its service.
///
/// One word, so that it needs no lock: 0 while a request is served, else the
/// milliseconds since the connection opened at which the phase began (plus one, so
/// that it is never 0), shifted left by one, with the low bit set while headers are
/// being read.
#[derive(Debug)]
struct Phase {
    opened: Instant,
    word: AtomicU64,
}

const SERVING: u64 = 0;
const READING_HEADERS: u64 = 1;

impl Phase {
    /// A new connection owes its first request's headers from the start.
    fn new() -> Self {
        let phase = Self { opened: Instant::now(), word: AtomicU64::new(SERVING) };
        phase.set(READING_HEADERS);
        phase
    }

    fn set(&self, reading_headers: u64) {
        let since = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX >> 2);
        self.word.store(((since + 1) << 1) | reading_headers, Ordering::Relaxed);
    }

    fn serving(&self) {
        self.word.store(SERVING, Ordering::Relaxed);
    }

    fn resting(&self) {
        self.set(0);
    }

    /// Bytes came in: while resting, they are the start of the next request.
    fn bytes_arrived(&self) {
        let word = self.word.load(Ordering::Relaxed);
        if word != SERVING && word & READING_HEADERS == 0 {
            self.set(READING_HEADERS);
        }
    }

    /// When reading gives up, if it may: never while a request is served.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        let word = self.word.load(Ordering::Relaxed);
        if word == SERVING {
            return None;
        }
        let since = self.opened + Duration::from_millis((word >> 1) - 1);
        let allowed = if word & READING_HEADERS == 0 { limits.idle_timeout } else { limits.header_timeout };
        Some(since + allowed)
    }
}

/// A connection's socket whose reads time out by its phase's deadline.
struct Watched {
    stream: TcpStream,
    phase: Arc<Phase>,
    limits: ConnectionLimits,
    timer: Pin<Box<Sleep>>,
    armed_for: Option<Instant>,
}

impl Watched {
    fn new(stream: TcpStream, phase: Arc<Phase>, limits: ConnectionLimits) -> Self {
        let timer = Box::pin(tokio::time::sleep(limits.header_timeout));
        Self { stream, phase, limits, timer, armed_for: None }
    }
}

impl Watched {
    /// Arms the timer for the phase's deadline, if it has one, and polls it: `Ready`
    /// once the deadline has passed.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(deadline) = self.phase.deadline(&self.limits) else {
            return Poll::Pending;
        };
        if self.armed_for != Some(deadline) {
            self.timer.as_mut().reset(deadline);
            self.armed_for = Some(deadline);
        }
        self.timer.as_mut().poll(cx)
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.phase.bytes_arrived();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match this.poll_deadline(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client sent no complete request in time",
                ))),
                Poll::Pending => Poll::Pending,
            },
            failed @ Poll::Ready(Err(_)) => failed,
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    /// hyper may have last read while the request was being served (no deadline then)
    /// and flushes the answer after the connection began to rest: the rest's deadline
    /// is armed here, so that it wakes the connection even if no read comes first.
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let flushed = Pin::new(&mut self.stream).poll_flush(cx);
        if self.poll_deadline(cx).is_ready() {
            cx.waker().wake_by_ref();
        }
        flushed
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            ..Default::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_connection_owes_its_headers_within_the_header_timeout() {
        let phase = Phase::new();
        let opened = phase.opened;
        assert_eq!(phase.deadline(&limits()), Some(opened + Duration::from_secs(10)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_resting_connection_may_rest_for_the_idle_timeout_and_no_longer() {
        let phase = Phase::new();
        phase.serving();
        assert_eq!(phase.deadline(&limits()), None, "a request being served is bounded elsewhere");
        tokio::time::advance(Duration::from_secs(3)).await;
        phase.resting();
        let rested = Instant::now();
        assert_eq!(phase.deadline(&limits()), Some(rested + Duration::from_secs(60)));
        tokio::time::advance(Duration::from_secs(20)).await;
        phase.bytes_arrived();
        assert_eq!(
            phase.deadline(&limits()),
            Some(Instant::now() + Duration::from_secs(10)),
            "the next request's first byte starts its header clock"
        );
        let reading = phase.deadline(&limits());
        tokio::time::advance(Duration::from_secs(2)).await;
        phase.bytes_arrived();
        assert_eq!(phase.deadline(&limits()), reading, "more header bytes do not extend it");
    }
}
