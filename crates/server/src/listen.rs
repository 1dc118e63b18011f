//! The HTTP/1 listener: timeouts, a connection limit and graceful shutdown around an axum
//! [`Router`], which `axum::serve` does not offer.
//!
//! Each connection moves through three phases, each with its own clock (the split Envoy and
//! Go's `net/http` make; hyper 1.x has one `header_read_timeout` that covers both the wait
//! between requests and the head itself, hyperium/hyper#3828, so it is turned off here):
//!
//! - **head**: from accepting the connection, or from the first byte of a later request,
//!   the whole request head must arrive within [`ConnLimits::header_timeout`];
//! - **busy**: the request is being served; its body must arrive completely within
//!   [`ConnLimits::body_timeout`] of the head, or the handler's body read fails and the
//!   client gets `408 Request Timeout` and the connection is closed;
//! - **idle**: after a response, the next request must start within
//!   [`ConnLimits::idle_timeout`], or the keep-alive connection is closed.
//!
//! A peer that misses the head or idle deadline is disconnected without a response, and so is
//! one that stops reading a response for the body timeout. Handlers can extract
//! [`ConnectInfo<SocketAddr>`] for the peer. HTTP/1 only, without upgrades, like the API.
//!
//! ```no_run
//! # async fn run(router: axum::Router) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let shutdown = async { let _ = tokio::signal::ctrl_c().await; };
//! arbiter_server::listen::serve_with(listener, router, Default::default(), shutdown).await
//! # }
//! ```

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use axum::Router;
use axum::body::Body as AxumBody;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep, sleep_until};
use tower_service::Service;

/// What one connection may cost the server, in time and in number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnLimits {
    /// The whole request head must arrive within this, from accepting the connection or from
    /// the first byte of a later request. Default 10 s: a head is a few hundred bytes, so
    /// even a poor mobile link sends it in well under a second.
    pub header_timeout: Duration,
    /// The whole request body must arrive within this, from the end of its head. Default
    /// 30 s: the largest body the API accepts (16 MiB) needs about 4.5 Mbit/s; slower clients
    /// send smaller batches. A response write that makes no progress for this long (a client
    /// that stopped reading) also ends the connection.
    pub body_timeout: Duration,
    /// A keep-alive connection with no request started for this long is closed. Default
    /// 60 s, near nginx's 75 s: long enough for a console left open between clicks.
    pub idle_timeout: Duration,
    /// Connections served at once. Beyond it, new connections wait in the kernel's accept
    /// backlog instead of being accepted and refused: a refusal would cost an accept and a
    /// file descriptor per excess connection during a flood, and a client cannot tell a
    /// refused connection from a crashed server, while one that waits is served as soon as
    /// another closes (and the timeouts above make sure one does). A client that finds the
    /// backlog full too sees its connection attempt time out. Default 1024. Each connection
    /// holds a file descriptor: keep the open-file limit (`ulimit -n`) well above this. Memory
    /// is bounded by this times the body limit only: refuse unauthenticated bodies early.
    pub max_connections: usize,
    /// After shutdown is asked for, requests in flight get this long to finish before their
    /// connections are cut. Default 20 s, inside the 30 s a container orchestrator usually
    /// waits before killing the process, leaving time to sign the final audit checkpoint.
    pub shutdown_grace: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

/// The error a handler's body read fails with when the body is late.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} s", .0.as_secs_f64())]
pub struct BodyTimeout(pub Duration);

/// Serves `router` on `listener` within `limits` until `shutdown` resolves; then stops
/// accepting, lets requests in flight finish for up to `limits.shutdown_grace`, cuts the
/// connections still open and returns.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut builder = http1::Builder::new();
    // Our own clocks replace hyper's, which would also close idle connections at the
    // header timeout.
    builder
        .header_read_timeout(None::<Duration>)
        .keep_alive(true);
    let mut shutdown = pin!(shutdown);
    loop {
        // Finished connections leave their result in the set until taken.
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) if is_per_connection(&e) => continue,
                Err(e) => {
                    // Out of descriptors or memory: wait rather than spin.
                    eprintln!("serve: accept failed, retrying in 1 s: {e}");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            },
        };
        let conn = Arc::new(Conn::new(Instant::now() + limits.header_timeout));
        let io = TokioIo::new(Timed {
            io: stream,
            conn: conn.clone(),
            limits: limits.clone(),
            sleep: Box::pin(sleep_until(Instant::now() + limits.header_timeout)),
            stall: Box::pin(sleep_until(Instant::now() + limits.body_timeout)),
            stalled: false,
        });
        let service = ConnService {
            router: router.clone(),
            conn,
            peer,
            body_timeout: limits.body_timeout,
        };
        let served = graceful.watch(builder.serve_connection(io, service));
        connections.spawn(async move {
            // A failed connection (timeout, reset, bad request) concerns that peer only.
            let _ = served.await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await;
    connections.shutdown().await;
    Ok(())
}

/// Accept errors that concern one connection only (the peer gave up before we took it).
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Where a connection is, shared by its socket (which enforces the head and idle clocks)
/// and its service (which sees requests start and responses end).
struct Conn {
    state: Mutex<State>,
}

struct State {
    phase: Phase,
    /// Requests begun so far.
    seq: u64,
    /// A read left waiting while busy, with no clock: woken when the connection turns idle,
    /// since hyper need not read again by itself and the idle clock must start.
    reader: Option<Waker>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading a request head, which must be complete by the deadline.
    Head { deadline: Instant },
    /// Serving request number `seq`; its body has its own clock.
    Busy { seq: u64 },
    /// Between requests since `since`.
    Idle { since: Instant },
}

impl Conn {
    fn new(head_deadline: Instant) -> Conn {
        Conn {
            state: Mutex::new(State {
                phase: Phase::Head {
                    deadline: head_deadline,
                },
                seq: 0,
                reader: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain values, valid even if a holder panicked.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A request head is complete: returns the request's number.
    fn begin_request(&self) -> u64 {
        let mut state = self.lock();
        state.seq += 1;
        state.phase = Phase::Busy { seq: state.seq };
        state.seq
    }

    /// The response to request `seq` is written (or abandoned).
    fn end_request(&self, seq: u64) {
        let reader = {
            let mut state = self.lock();
            if state.phase != (Phase::Busy { seq }) {
                return;
            }
            state.phase = Phase::Idle {
                since: Instant::now(),
            };
            state.reader.take()
        };
        if let Some(w) = reader {
            w.wake();
        }
    }
}

/// The socket, failing a read that waits past the head or idle deadline, and a write that
/// makes no progress for the body timeout.
struct Timed {
    io: TcpStream,
    conn: Arc<Conn>,
    limits: ConnLimits,
    /// The head or idle deadline.
    sleep: Pin<Box<Sleep>>,
    /// The write deadline, armed when a write first waits and disarmed by any progress.
    stall: Pin<Box<Sleep>>,
    stalled: bool,
}

impl Timed {
    /// After a write that could not proceed: fails it once the client has read nothing
    /// for the body timeout (it stopped reading a response larger than the socket buffers).
    fn poll_stall<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if !self.stalled {
            self.stalled = true;
            let deadline = Instant::now() + self.limits.body_timeout;
            self.stall.as_mut().reset(deadline);
        }
        ready!(self.stall.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "timed out waiting for the client to read the response",
        )))
    }

    fn progress<T>(&mut self, p: Poll<io::Result<T>>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match p {
            Poll::Pending => self.poll_stall(cx),
            done => {
                self.stalled = false;
                done
            }
        }
    }
}

impl AsyncRead for Timed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    let mut state = this.conn.lock();
                    if let Phase::Idle { .. } = state.phase {
                        // The first byte of the next request: its head's clock starts.
                        state.phase = Phase::Head {
                            deadline: Instant::now() + this.limits.header_timeout,
                        };
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let (deadline, what) = {
                    let mut state = this.conn.lock();
                    match state.phase {
                        Phase::Head { deadline } => (deadline, "request head"),
                        Phase::Idle { since } => (since + this.limits.idle_timeout, "next request"),
                        Phase::Busy { .. } => {
                            state.reader = Some(cx.waker().clone());
                            return Poll::Pending;
                        }
                    }
                };
                if this.sleep.deadline() != deadline {
                    this.sleep.as_mut().reset(deadline);
                }
                ready!(this.sleep.as_mut().poll(cx));
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("timed out waiting for the {what}"),
                )))
            }
        }
    }
}

impl AsyncWrite for Timed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let p = Pin::new(&mut this.io).poll_write(cx, buf);
        this.progress(p, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let p = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.progress(p, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// One connection's view of the router.
#[derive(Clone)]
struct ConnService {
    router: Router,
    conn: Arc<Conn>,
    peer: SocketAddr,
    body_timeout: Duration,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Tracked>, Infallible>> + Send>>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        let seq = self.conn.begin_request();
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let late = Arc::new(AtomicBool::new(false));
        let limit = self.body_timeout;
        let req = req.map(|body| Deadline {
            body,
            sleep: Box::pin(sleep_until(Instant::now() + limit)),
            limit,
            late: late.clone(),
        });
        let mut router = self.router.clone();
        let conn = self.conn.clone();
        Box::pin(async move {
            poll_fn(|cx| Service::<Request<Deadline>>::poll_ready(&mut router, cx)).await?;
            let mut resp = router.call(req).await?;
            if late.load(Ordering::SeqCst) {
                // Whatever the handler made of its failed read, the client was too slow.
                resp = request_timeout(limit);
            }
            Ok(resp.map(|inner| Tracked { inner, conn, seq }))
        })
    }
}

fn request_timeout(limit: Duration) -> Response<AxumBody> {
    let mut resp = Response::new(AxumBody::from(format!(
        "{{\"error\":\"request_timeout\",\"message\":\"{}\"}}",
        BodyTimeout(limit)
    )));
    *resp.status_mut() = StatusCode::REQUEST_TIMEOUT;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // The rest of the body may still be on its way: do not read it as the next request.
    h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// A request body that fails once it is late.
struct Deadline {
    body: Incoming,
    sleep: Pin<Box<Sleep>>,
    limit: Duration,
    late: Arc<AtomicBool>,
}

impl Body for Deadline {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(BoxError::from)));
        }
        ready!(this.sleep.as_mut().poll(cx));
        this.late.store(true, Ordering::SeqCst);
        Poll::Ready(Some(Err(Box::new(BodyTimeout(this.limit)))))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A response body that marks its connection idle once written.
struct Tracked {
    inner: AxumBody,
    conn: Arc<Conn>,
    seq: u64,
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if frame.is_none() {
            self.conn.end_request(self.seq);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.conn.end_request(self.seq);
    }
}
