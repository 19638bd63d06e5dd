//! The accept loop: HTTP/1.1 connections served by hyper, each watched so that a client
//! cannot hold one open without using it. A connection is closed when a request's headers take
//! longer than the header timeout to arrive, or when it sits idle between requests longer than
//! the idle timeout; a body that trickles in is cut off by the body timeout where it is read
//! (`handlers::read_body`). The number of open connections is capped.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Semaphore, watch};

use super::access::ClientAddr;

/// How long a client may take, set in `ServerConfig` (and `bedside serve` flags).
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// From a request's first byte to the end of its headers.
    pub header: Duration,
    /// To read a request's whole body.
    pub body: Duration,
    /// A kept-alive connection with no request in progress.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            header: Duration::from_secs(10),
            body: Duration::from_secs(30),
            idle: Duration::from_secs(60),
        }
    }
}

/// Open connections at most by default (`ServerConfig::max_connections`,
/// `bedside serve --max-connections`); further clients wait to be accepted.
pub const MAX_CONNECTIONS: usize = 1024;

const IDLE: u8 = 0;
const HEAD: u8 = 1;
const REQUEST: u8 = 2;

/// What a connection is doing, and since when (ms since the connection's start).
struct Phase {
    started: Instant,
    phase: AtomicU8,
    since_ms: AtomicI64,
    requests: AtomicI64,
}

impl Phase {
    fn now(&self) -> i64 {
        self.started.elapsed().as_millis() as i64
    }
    fn set(&self, phase: u8) {
        self.since_ms.store(self.now(), Ordering::Relaxed);
        self.phase.store(phase, Ordering::Relaxed);
    }
    /// Whether the connection has overstayed the phase it is in.
    fn expired(&self, t: &Timeouts) -> bool {
        let elapsed = self.now() - self.since_ms.load(Ordering::Relaxed);
        match self.phase.load(Ordering::Relaxed) {
            IDLE => elapsed > t.idle.as_millis() as i64,
            HEAD => elapsed > t.header.as_millis() as i64,
            _ => false,
        }
    }
}

/// The connection's byte stream, noting when a request starts to arrive.
struct Watched<IO> {
    io: IO,
    phase: Arc<Phase>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before && self.phase.phase.load(Ordering::Relaxed) == IDLE {
            self.phase.set(HEAD);
        }
        result
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0)
            && self.phase.phase.load(Ordering::Relaxed) == IDLE
        {
            // A response still being sent counts as activity.
            self.phase.set(IDLE);
        }
        result
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0)
            && self.phase.phase.load(Ordering::Relaxed) == IDLE
        {
            self.phase.set(IDLE);
        }
        result
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the requests in flight
/// finish (for at most `drain`).
pub async fn run<L>(
    mut listener: L,
    app: Router,
    max_connections: usize,
    timeouts: Timeouts,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    drain: Duration,
) where
    L: axum::serve::Listener<Addr = SocketAddr>,
    L::Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (stop_tx, stop_rx) = watch::channel(false);
    let max_connections = max_connections.max(1);
    let slots = Arc::new(Semaphore::new(max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (io, remote) = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => break,
        };
        let phase = Arc::new(Phase {
            started: Instant::now(),
            phase: AtomicU8::new(IDLE),
            since_ms: AtomicI64::new(0),
            requests: AtomicI64::new(0),
        });
        let io = TokioIo::new(Watched {
            io,
            phase: phase.clone(),
        });
        let app = app.clone();
        let service_phase = phase.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            service_phase.set(REQUEST);
            service_phase.requests.fetch_add(1, Ordering::Relaxed);
            req.extensions_mut().insert(ConnectInfo(ClientAddr(remote)));
            let app = app.clone();
            let phase = service_phase.clone();
            async move {
                let response =
                    tower::ServiceExt::oneshot(app, req.map(axum::body::Body::new)).await;
                phase.set(IDLE);
                response
            }
        });
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).keep_alive(true);
            // The header timeout is enforced by the watch below, from the first byte of each
            // request (hyper's own would also cut idle keep-alive connections at that time).
            builder.header_read_timeout(None);
            builder.max_buf_size(256 * 1024);
            let conn = builder.serve_connection(io, service);
            let mut conn = std::pin::pin!(conn);
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            let mut draining = false;
            loop {
                tokio::select! {
                    _ = conn.as_mut() => break,
                    _ = tick.tick() => {
                        if phase.expired(&timeouts) {
                            if phase.phase.load(Ordering::Relaxed) == HEAD {
                                tracing::info!("closed a connection whose request headers did not arrive in time");
                            }
                            break;
                        }
                    }
                    changed = stop.changed(), if !draining => {
                        if changed.is_err() || *stop.borrow() {
                            draining = true;
                            conn.as_mut().graceful_shutdown();
                        }
                    }
                }
            }
        });
    }
    drop(stop_rx);
    let _ = stop_tx.send(true);
    // Wait for the connections to finish what they are doing.
    let deadline = tokio::time::Instant::now() + drain;
    while slots.available_permits() < max_connections && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
