//! The accept loop and the connections' deadlines (docs: issue 13).
//!
//! hyper serves each connection (HTTP/1.1 with upgrades, for Socket.IO's
//! websockets). Two deadlines guard a connection while no request is in
//! progress:
//!
//! - the header timeout: the head of a request must be complete within
//!   `--header-timeout-s` of its first byte (of the accept, for the first
//!   request);
//! - the idle timeout: a keep-alive connection waits at most
//!   `--idle-timeout-s` for the next request, counted from the end of the
//!   previous response.
//!
//! hyper's own `header_read_timeout` cannot be used: it starts when the
//! connection goes idle (proto/h1/conn.rs arms it in `poll_read_head`, which
//! runs right after a response), so it would close idle keep-alive
//! connections after the header timeout instead of the idle one. Hence
//! [`TimedIo`]: the socket wrapped with both deadlines, told by the service
//! when a request starts and when its response ends. A request in progress
//! (an Engine.IO long poll) and an upgraded connection (a websocket) have no
//! deadline here; request bodies that trickle in are cut by
//! `crate::slow_body` and answered 408 here.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::config::ConnectionArgs;
use crate::error::AppError;
use crate::slow_body::{CutOff, GuardedBody};
use crate::telemetry;

/// Refusal reasons of `chat_refusals_total`.
pub const HEADER_TIMEOUT: &str = "header_timeout";
pub const IDLE_TIMEOUT: &str = "idle_timeout";

/// After an accept error that is not about one connection (EMFILE, ENFILE,
/// ENOBUFS), how long to wait before accepting again: retrying at once
/// would spin while no descriptor is free.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The two deadlines of a connection; None lifts one (a flag set to 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub header: Option<Duration>,
    pub idle: Option<Duration>,
}

impl From<&ConnectionArgs> for Deadlines {
    fn from(args: &ConnectionArgs) -> Self {
        let secs = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        Self {
            header: secs(args.header_timeout_s),
            idle: secs(args.idle_timeout_s),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops
/// accepting and lets every connection finish its request in progress (idle
/// connections are closed at once).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    deadlines: Deadlines,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    // Explicitly off: hyper's own header timeout starts at idle (see the
    // module comment); TimedIo keeps both deadlines instead.
    builder.http1().header_read_timeout(None);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                accept_failed(e).await;
                continue;
            }
        };
        // Acks and broadcasts are small: send them now, not after Nagle's delay.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, %peer, "TCP_NODELAY not set");
        }
        let activity = Arc::new(Activity::new(deadlines, Instant::now()));
        let io = TokioIo::new(TimedIo::new(tcp, activity.clone(), peer));
        let service = hyper::service::service_fn({
            let router = router.clone();
            move |request| handle(router.clone(), activity.clone(), peer, request)
        });
        let connection = builder
            .serve_connection_with_upgrades(io, service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::debug!(
        connections = graceful.count(),
        "no longer accepting; waiting for requests in progress"
    );
    graceful.shutdown().await;
    Ok(())
}

/// Listens on `addr` (resolved as `TcpListener::bind` does) with room for
/// `backlog` connections that the kernel has completed and the accept loop
/// has not taken yet. `TcpListener::bind` asks for 1,024: when every page
/// reconnects at once after a restart, while the runtime is busy announcing
/// the first of them, the kernel drops the connections past that and their
/// clients retry only a second later.
pub async fn listen(addr: &str, backlog: u32) -> io::Result<TcpListener> {
    let mut last_error = None;
    for addr in tokio::net::lookup_host(addr).await? {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        // As `TcpListener::bind` does: a restarted server can bind at once.
        socket.set_reuseaddr(true)?;
        match socket.bind(addr).and_then(|()| socket.listen(backlog)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to nothing",
        )
    }))
}

/// An accept error never ends the loop. Errors of one connection (it was
/// reset before it was accepted) are passed over; others (out of
/// descriptors) are logged and waited out.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        tracing::debug!(error = %e, "accept: connection gone");
        return;
    }
    tracing::warn!(error = %e, "accept failed; retrying shortly");
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}

/// One request: the peer's address for `ConnectInfo`, and the connection's
/// activity told when the request starts, when its response ends, and when
/// it is upgraded.
async fn handle(
    router: Router,
    activity: Arc<Activity>,
    peer: SocketAddr,
    mut request: Request<Incoming>,
) -> Result<Response<TrackedBody>, Infallible> {
    let in_progress = RequestInProgress::start(activity.clone());
    request.extensions_mut().insert(ConnectInfo(peer));
    let cut_off = CutOff::default();
    let request = request.map(|body| Body::new(GuardedBody::new(body, cut_off.clone())));
    let mut response = match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    if cut_off.is_set() {
        // Whatever the handler made of the body's error: 408, and the rest of
        // the body is not waited for.
        response = AppError::SlowBody.into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        activity.upgraded();
    }
    Ok(response.map(|body| TrackedBody {
        inner: body,
        in_progress: Some(in_progress),
    }))
}

/// Where a connection is, as far as its deadlines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request head: since the accept, or since the first
    /// byte after an idle spell.
    Head { since: Instant },
    /// Between requests, since the end of the last response.
    Idle { since: Instant },
    /// Requests in progress (HTTP/1.1 has one; pipelined ones wait in
    /// hyper's buffer).
    Busy { requests: usize },
    /// A websocket now: no deadline of ours any more.
    Upgraded,
}

/// What the service and the socket wrapper share about one connection.
#[derive(Debug)]
struct Activity {
    deadlines: Deadlines,
    phase: Mutex<Phase>,
}

impl Activity {
    fn new(deadlines: Deadlines, accepted: Instant) -> Self {
        Self {
            deadlines,
            phase: Mutex::new(Phase::Head { since: accepted }),
        }
    }

    /// The phase is a few words, updated in one step: a panic elsewhere
    /// cannot leave it half-written, so a poisoned lock is still good.
    fn with_phase<R>(&self, f: impl FnOnce(&mut Phase) -> R) -> R {
        let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut phase)
    }

    /// Bytes arrived: after an idle spell, they start the next request head.
    /// (A partial head pipelined behind a request in progress is only
    /// seen as idle time once that response ends: hyper has read it already.)
    fn bytes_read(&self, now: Instant) {
        self.with_phase(|phase| {
            if let Phase::Idle { .. } = phase {
                *phase = Phase::Head { since: now };
            }
        });
    }

    fn request_started(&self) {
        self.with_phase(|phase| match phase {
            Phase::Head { .. } | Phase::Idle { .. } => *phase = Phase::Busy { requests: 1 },
            Phase::Busy { requests } => *requests += 1,
            Phase::Upgraded => {}
        });
    }

    fn request_finished(&self, now: Instant) {
        self.with_phase(|phase| {
            if let Phase::Busy { requests } = phase {
                *phase = match requests.saturating_sub(1) {
                    0 => Phase::Idle { since: now },
                    left => Phase::Busy { requests: left },
                };
            }
        });
    }

    fn upgraded(&self) {
        self.with_phase(|phase| *phase = Phase::Upgraded);
    }

    fn is_upgraded(&self) -> bool {
        self.with_phase(|phase| *phase == Phase::Upgraded)
    }

    /// When the connection is to be closed if nothing happens, and why.
    fn deadline(&self) -> Option<(Instant, &'static str)> {
        let phase = self.with_phase(|phase| *phase);
        match phase {
            Phase::Head { since } => Some((since + self.deadlines.header?, HEADER_TIMEOUT)),
            Phase::Idle { since } => Some((since + self.deadlines.idle?, IDLE_TIMEOUT)),
            Phase::Busy { .. } | Phase::Upgraded => None,
        }
    }
}

/// Marks a request in progress until dropped: when its response body has
/// been sent (or the request was abandoned).
struct RequestInProgress(Arc<Activity>);

impl RequestInProgress {
    fn start(activity: Arc<Activity>) -> Self {
        activity.request_started();
        Self(activity)
    }
}

impl Drop for RequestInProgress {
    fn drop(&mut self) {
        self.0.request_finished(Instant::now());
    }
}

/// A response body that ends its request's "in progress" when it ends.
pub struct TrackedBody {
    inner: Body,
    in_progress: Option<RequestInProgress>,
}

impl HttpBody for TrackedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            // The idle time starts now, not when hyper drops the body.
            self.in_progress = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Counts the connection in `chat_http_connections_open` for as long as its
/// socket lives: through an upgrade into a websocket, and through a panic.
struct OpenConnection;

impl OpenConnection {
    fn new() -> Self {
        metrics::gauge!(telemetry::HTTP_CONNECTIONS_OPEN).increment(1.0);
        Self
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics::gauge!(telemetry::HTTP_CONNECTIONS_OPEN).decrement(1.0);
    }
}

/// A connection closed by one of its deadlines.
#[derive(Debug, thiserror::Error)]
#[error("connection closed: {reason}")]
pub struct DeadlinePassed {
    pub reason: &'static str,
}

/// The socket with the connection's deadlines. A deadline is checked while
/// a read waits: hyper always reads while no request is in progress (for
/// the next head), and that is when a deadline runs.
pub struct TimedIo<T = TcpStream> {
    inner: T,
    activity: Arc<Activity>,
    peer: SocketAddr,
    /// Set to the current deadline before each wait; made on the first one.
    timer: Option<Pin<Box<Sleep>>>,
    /// Once passed, every read fails with it.
    expired: Option<&'static str>,
    _open: OpenConnection,
}

impl<T> TimedIo<T> {
    fn new(inner: T, activity: Arc<Activity>, peer: SocketAddr) -> Self {
        Self {
            inner,
            activity,
            peer,
            timer: None,
            expired: None,
            _open: OpenConnection::new(),
        }
    }

    /// Ready with the reason when the current deadline has passed; else
    /// pending, with the timer set to wake this task at the deadline.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<&'static str> {
        if let Some(reason) = self.expired {
            return Poll::Ready(reason);
        }
        let Some((deadline, reason)) = self.activity.deadline() else {
            if self.activity.is_upgraded() {
                // A websocket never has a deadline again: the timer goes,
                // and with it the waker it holds, the finished HTTP task's,
                // whose memory it would keep. (While a request is served the
                // timer stays: it wakes the task to arm the idle deadline.)
                self.timer = None;
            }
            return Poll::Pending;
        };
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.expired = Some(reason);
        telemetry::refused(reason);
        tracing::debug!(peer = %self.peer, reason, "connection closed by its deadline");
        Poll::Ready(reason)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TimedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(reason) = this.expired {
            return Poll::Ready(Err(timed_out(reason)));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.activity.bytes_read(Instant::now());
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.poll_deadline(cx) {
                Poll::Ready(reason) => Poll::Ready(Err(timed_out(reason))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

fn timed_out(reason: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, DeadlinePassed { reason })
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TimedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    const HEADER: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(75);

    fn deadlines() -> Deadlines {
        Deadlines {
            header: Some(HEADER),
            idle: Some(IDLE),
        }
    }

    fn peer() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 4000))
    }

    #[test]
    fn zero_lifts_a_deadline() {
        let d = Deadlines::from(&ConnectionArgs {
            header_timeout_s: 0,
            idle_timeout_s: 75,
            listen_backlog: 4096,
        });
        assert_eq!((d.header, d.idle), (None, Some(IDLE)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_head_is_due_a_header_timeout_after_the_accept() {
        let t0 = Instant::now();
        let a = Activity::new(deadlines(), t0);
        assert_eq!(a.deadline(), Some((t0 + HEADER, HEADER_TIMEOUT)));
        // Bytes of the head do not move its deadline.
        a.bytes_read(t0 + Duration::from_secs(3));
        assert_eq!(a.deadline(), Some((t0 + HEADER, HEADER_TIMEOUT)));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_counts_from_the_end_of_the_response_and_the_next_head_from_its_first_byte() {
        let t0 = Instant::now();
        let a = Activity::new(deadlines(), t0);
        a.request_started();
        assert_eq!(a.deadline(), None, "no deadline while a request is served");
        let end = t0 + Duration::from_secs(30);
        a.request_finished(end);
        assert_eq!(a.deadline(), Some((end + IDLE, IDLE_TIMEOUT)));
        let first_byte = end + Duration::from_secs(50);
        a.bytes_read(first_byte);
        assert_eq!(a.deadline(), Some((first_byte + HEADER, HEADER_TIMEOUT)));
    }

    #[tokio::test(start_paused = true)]
    async fn an_upgraded_connection_has_no_deadline() {
        let a = Activity::new(deadlines(), Instant::now());
        a.request_started();
        a.upgraded();
        a.request_finished(Instant::now());
        a.bytes_read(Instant::now());
        assert_eq!(a.deadline(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn lifted_deadlines_never_pass() {
        let a = Activity::new(
            Deadlines {
                header: None,
                idle: None,
            },
            Instant::now(),
        );
        assert_eq!(a.deadline(), None);
        a.request_started();
        a.request_finished(Instant::now());
        assert_eq!(a.deadline(), None);
    }

    fn timed(activity: &Arc<Activity>) -> (TimedIo<DuplexStream>, DuplexStream) {
        let (server, client) = tokio::io::duplex(1024);
        (TimedIo::new(server, activity.clone(), peer()), client)
    }

    /// Reads until the deadline error, and says when it came.
    async fn read_until_closed(io: &mut TimedIo<DuplexStream>) -> (Instant, io::Error) {
        let mut buf = [0u8; 64];
        loop {
            match io.read(&mut buf).await {
                Ok(0) => panic!("the peer closed first"),
                Ok(_) => {}
                Err(e) => return (Instant::now(), e),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_fails_once_the_header_deadline_passes() {
        let t0 = Instant::now();
        let activity = Arc::new(Activity::new(deadlines(), t0));
        let (mut io, mut client) = timed(&activity);
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let (at, e) = read_until_closed(&mut io).await;
        assert_eq!(at, t0 + HEADER);
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(e.to_string().contains(HEADER_TIMEOUT), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_is_kept_for_the_idle_timeout_not_the_header_one() {
        let t0 = Instant::now();
        let activity = Arc::new(Activity::new(deadlines(), t0));
        let (mut io, _client) = timed(&activity);
        activity.request_started();
        let mut buf = [0u8; 8];
        // While the request is served, reads wait without a deadline.
        let waited = tokio::time::timeout(Duration::from_secs(300), io.read(&mut buf)).await;
        assert!(waited.is_err(), "no deadline while busy: {waited:?}");
        activity.request_finished(Instant::now());
        let idle_from = Instant::now();
        let (at, e) = read_until_closed(&mut io).await;
        assert_eq!(at, idle_from + IDLE);
        assert!(e.to_string().contains(IDLE_TIMEOUT), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_head_after_idle_gets_the_header_timeout_from_its_first_byte() {
        let activity = Arc::new(Activity::new(deadlines(), Instant::now()));
        let (mut io, mut client) = timed(&activity);
        activity.request_started();
        activity.request_finished(Instant::now());
        tokio::time::sleep(Duration::from_secs(60)).await;
        client.write_all(b"GET").await.unwrap();
        let first_byte = Instant::now();
        let (at, e) = read_until_closed(&mut io).await;
        assert_eq!(at, first_byte + HEADER);
        assert!(e.to_string().contains(HEADER_TIMEOUT), "{e}");
    }

    /// Once upgraded, the connection's timer is let go, and with it the waker
    /// of the HTTP connection's task: that task has finished, and its memory
    /// (3.8 kB a connection, heaptrack found) is freed only when no waker of
    /// it is left; the websocket never rearms the timer.
    #[tokio::test(start_paused = true)]
    async fn an_upgraded_connection_lets_go_of_the_http_task() {
        struct HttpTask;
        impl std::task::Wake for HttpTask {
            fn wake(self: Arc<Self>) {}
        }
        let activity = Arc::new(Activity::new(deadlines(), Instant::now()));
        let (mut io, _client) = timed(&activity);
        let mut buf = [0u8; 8];
        let mut read = ReadBuf::new(&mut buf);

        let http_task = Arc::new(HttpTask);
        let waker = std::task::Waker::from(http_task.clone());
        let polled = Pin::new(&mut io).poll_read(&mut Context::from_waker(&waker), &mut read);
        assert!(polled.is_pending());
        drop(waker);
        // The stream waiting for bytes and the header deadline's timer.
        assert!(Arc::strong_count(&http_task) >= 3);

        activity.request_started();
        activity.upgraded();
        drop(RequestInProgress(activity.clone()));
        let websocket_task = std::task::Waker::noop();
        let polled =
            Pin::new(&mut io).poll_read(&mut Context::from_waker(websocket_task), &mut read);
        assert!(polled.is_pending());
        assert_eq!(
            Arc::strong_count(&http_task),
            1,
            "the upgraded connection still holds the HTTP task's waker"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_websocket_is_never_cut() {
        let activity = Arc::new(Activity::new(deadlines(), Instant::now()));
        let (mut io, mut client) = timed(&activity);
        activity.request_started();
        activity.upgraded();
        drop(RequestInProgress(activity.clone()));
        let mut buf = [0u8; 8];
        let waited = tokio::time::timeout(Duration::from_secs(3600), io.read(&mut buf)).await;
        assert!(waited.is_err(), "still open after an idle hour");
        client.write_all(b"ping").await.unwrap();
        assert_eq!(io.read(&mut buf).await.unwrap(), 4);
    }

    /// How many connections complete against a listener that accepts none.
    async fn completed_without_accept(listener: &TcpListener, attempts: usize) -> usize {
        let addr = listener.local_addr().unwrap();
        let mut held = Vec::new();
        for _ in 0..attempts {
            // Past the backlog the kernel drops the SYN; the client would retry after 1 s.
            let connect =
                tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(addr));
            if let Ok(Ok(stream)) = connect.await {
                held.push(stream);
            }
        }
        held.len()
    }

    #[tokio::test]
    async fn the_listener_holds_the_backlog_it_was_given() {
        let small = listen("127.0.0.1:0", 2).await.unwrap();
        let held = completed_without_accept(&small, 8).await;
        assert!(held < 8, "a backlog of 2 held {held} of 8 connections");

        let large = listen("127.0.0.1:0", 256).await.unwrap();
        assert_eq!(completed_without_accept(&large, 200).await, 200);
    }

    #[tokio::test]
    async fn listening_on_an_unresolvable_host_is_an_error() {
        assert!(listen("no-such-host.invalid:0", 16).await.is_err());
    }
}
