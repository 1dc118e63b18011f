//! Issue 10: the server had no timeouts and no connection limit. These tests drive
//! `listen::serve_with` with raw TCP clients and short limits. Every wait has a generous
//! bound (many times the limit), so a loaded machine makes them slower, not red; the only
//! "does not happen" check (a third connection is not served) can only pass wrongly, never
//! fail wrongly, under load.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arbiter_server::listen::{BodyTimeout, ConnLimits, serve_with};
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::routing::{get, post};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// How long anything that should happen may take before the test gives up.
const BOUND: Duration = Duration::from_secs(10);
/// A limit short enough for tests to hit.
const SHORT: Duration = Duration::from_millis(300);
/// A limit no test reaches.
const LONG: Duration = Duration::from_secs(60);

fn limits() -> ConnLimits {
    ConnLimits {
        header_timeout: LONG,
        body_timeout: LONG,
        idle_timeout: LONG,
        max_connections: 64,
        shutdown_grace: LONG,
    }
}

#[derive(Clone, Default)]
struct Seen {
    /// What each `/echo` handler's body read ended with.
    reads: Arc<Mutex<Vec<Result<usize, String>>>>,
    /// `/hold` announces it started here, then waits for `release`.
    started: Arc<Notify>,
    release: Arc<Notify>,
    /// `/endless` notifies this when hyper drops its response body.
    dropped: Arc<Notify>,
}

/// A response body that never ends, telling `dropped` when it is dropped.
struct Endless(Arc<Notify>);

static CHUNK: [u8; 1 << 16] = [b'x'; 1 << 16];

impl hyper::body::Body for Endless {
    type Data = hyper::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let chunk = hyper::body::Bytes::from_static(&CHUNK);
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(chunk))))
    }
}

impl Drop for Endless {
    fn drop(&mut self) {
        self.0.notify_one();
    }
}

fn router(seen: Seen) -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        )
        .route(
            "/echo",
            post(
                |State(seen): State<Seen>, body: axum::body::Body| async move {
                    let read = axum::body::to_bytes(body, 1 << 20).await;
                    let outcome = read.as_ref().map(|b| b.len()).map_err(|e| {
                        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
                        let mut timed_out = false;
                        while let Some(c) = cause {
                            timed_out |= c.downcast_ref::<BodyTimeout>().is_some();
                            cause = c.source();
                        }
                        format!("{e} (body timeout: {timed_out})")
                    });
                    seen.reads.lock().unwrap().push(outcome.clone());
                    match outcome {
                        Ok(n) => (axum::http::StatusCode::OK, n.to_string()),
                        Err(e) => (axum::http::StatusCode::BAD_REQUEST, e),
                    }
                },
            ),
        )
        .route(
            "/endless",
            get(|State(seen): State<Seen>| async move {
                axum::body::Body::new(Endless(seen.dropped.clone()))
            }),
        )
        .route(
            "/hold",
            get(|State(seen): State<Seen>| async move {
                seen.started.notify_one();
                seen.release.notified().await;
                "done"
            }),
        )
        .with_state(seen)
}

struct Running {
    addr: SocketAddr,
    seen: Seen,
    stop: Option<oneshot::Sender<()>>,
    served: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Asks for shutdown and waits (within the bound) for `serve_with` to return.
    async fn shut_down(&mut self) {
        let _ = self.stop.take().expect("shut down once").send(());
        timeout(BOUND, &mut self.served)
            .await
            .expect("serve_with returns after shutdown")
            .expect("the server task did not panic")
            .expect("serve_with returns Ok");
    }
}

async fn start(limits: ConnLimits) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Seen::default();
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(serve_with(listener, router(seen.clone()), limits, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        seen,
        stop: Some(stop),
        served,
    }
}

fn get_request(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

/// Reads one response (head and `Content-Length` body) and returns it as text.
async fn response(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return text;
            }
        }
        let n = timeout(BOUND, stream.read(&mut buf))
            .await
            .expect("a response arrives within the bound")
            .expect("the connection stays readable");
        assert!(n > 0, "closed before a whole response: {text:?}");
        got.extend_from_slice(&buf[..n]);
    }
}

/// Reads until the server closes the connection (end of file or reset), within the bound.
async fn closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match timeout(BOUND, stream.read(&mut buf)).await {
            Err(_) => panic!("the connection is still open after {BOUND:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return got,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn issue_10_a_normal_request_is_answered_and_the_connection_is_kept_alive() {
    let mut server = start(limits()).await;
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    for _ in 0..3 {
        c.write_all(get_request("/hello").as_bytes()).await.unwrap();
        let r = response(&mut c).await;
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
        assert!(r.ends_with("hello"), "{r}");
    }
    c.write_all(get_request("/peer").as_bytes()).await.unwrap();
    let r = response(&mut c).await;
    assert!(r.ends_with(&c.local_addr().unwrap().to_string()), "{r}");
    let body = "x".repeat(10_000);
    let post = format!(
        "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    c.write_all(post.as_bytes()).await.unwrap();
    let r = response(&mut c).await;
    assert!(r.ends_with("10000"), "{r}");
    server.shut_down().await;
}

#[tokio::test]
async fn issue_10_a_client_that_never_finishes_its_headers_is_disconnected() {
    let mut server = start(ConnLimits {
        header_timeout: SHORT,
        ..limits()
    })
    .await;
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    c.write_all(b"GET /hello HTTP/1.1\r\nHost: test\r\n")
        .await
        .unwrap();
    let got = closed(&mut c).await;
    assert!(!got.starts_with(b"HTTP/1.1 200"), "{got:?}");

    // Nor can it hold the connection by trickling header bytes (slowloris).
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    let (mut rd, mut wr) = c.split();
    let trickle = async {
        wr.write_all(b"GET /hello HTTP/1.1\r\n").await?;
        loop {
            wr.write_all(b"X").await?;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        #[allow(unreachable_code)]
        Ok::<(), std::io::Error>(())
    };
    let mut buf = [0u8; 64];
    let read_closed = async {
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::select! {
        _ = trickle => {} // the server closed the connection under the writer
        () = read_closed => {}
        () = tokio::time::sleep(BOUND) => panic!("a trickled head held the connection"),
    }

    // A connection that sends nothing at all is closed too.
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    closed(&mut c).await;
    server.shut_down().await;
}

#[tokio::test]
async fn issue_10_a_stalled_body_gets_408_and_the_handlers_read_fails() {
    let mut server = start(ConnLimits {
        body_timeout: SHORT,
        ..limits()
    })
    .await;
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    c.write_all(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\nx")
        .await
        .unwrap();
    let r = response(&mut c).await;
    assert!(r.starts_with("HTTP/1.1 408"), "{r}");
    assert!(r.to_ascii_lowercase().contains("connection: close"), "{r}");
    assert!(r.contains("did not arrive within 0.3 s"), "{r}");
    closed(&mut c).await;
    let reads = server.seen.reads.lock().unwrap().clone();
    assert_eq!(reads.len(), 1);
    let failure = reads[0].as_ref().expect_err("the body read fails");
    assert!(failure.ends_with("(body timeout: true)"), "{failure}");
    server.shut_down().await;
}

#[tokio::test]
async fn issue_10_a_body_trickled_byte_by_byte_does_not_hold_the_connection() {
    let mut server = start(ConnLimits {
        body_timeout: SHORT,
        ..limits()
    })
    .await;
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    let (mut rd, mut wr) = c.split();
    let trickle = async {
        wr.write_all(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n")
            .await?;
        loop {
            wr.write_all(b"x").await?;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        #[allow(unreachable_code)]
        Ok::<(), std::io::Error>(())
    };
    let mut got = Vec::new();
    let read_closed = async {
        let mut buf = [0u8; 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::select! {
        _ = trickle => {}
        () = read_closed => {}
        () = tokio::time::sleep(BOUND) => panic!("a trickled body held the connection"),
    }
    // The 408 is written; whether it is read before the reset that unread bytes cause is up
    // to the kernels. The handler's read failing is what must hold.
    assert!(
        got.is_empty() || got.starts_with(b"HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    let reads = server.seen.reads.lock().unwrap().clone();
    assert!(
        matches!(reads.as_slice(), [Err(e)] if e.ends_with("(body timeout: true)")),
        "{reads:?}"
    );
    server.shut_down().await;
}

#[tokio::test]
async fn issue_10_an_idle_keep_alive_connection_is_closed() {
    let mut server = start(ConnLimits {
        idle_timeout: SHORT,
        ..limits()
    })
    .await;
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    c.write_all(get_request("/hello").as_bytes()).await.unwrap();
    assert!(response(&mut c).await.ends_with("hello"));
    // The header timeout is a minute, so only the idle timeout can close it this soon.
    assert!(closed(&mut c).await.is_empty());
    server.shut_down().await;
}

#[tokio::test]
async fn issue_10_at_most_max_connections_are_served_and_a_waiting_one_is_served_when_one_closes() {
    let mut server = start(ConnLimits {
        max_connections: 2,
        ..limits()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = TcpStream::connect(server.addr).await.unwrap();
        c.write_all(get_request("/hello").as_bytes()).await.unwrap();
        assert!(response(&mut c).await.ends_with("hello"));
        held.push(c);
    }
    // The third connection completes in the kernel's backlog but is not served.
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    third
        .write_all(get_request("/hello").as_bytes())
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let early = timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(early.is_err(), "served beyond the limit: {early:?}");
    // One held connection closes: its permit goes to the waiting one.
    drop(held.remove(0));
    assert!(response(&mut third).await.ends_with("hello"));
    server.shut_down().await;
}

#[tokio::test]
async fn issue_10_a_connection_closed_by_a_timeout_gives_its_place_back() {
    let mut server = start(ConnLimits {
        max_connections: 1,
        header_timeout: SHORT,
        ..limits()
    })
    .await;
    // Takes the only place and says nothing: closed at the header timeout.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut next = TcpStream::connect(server.addr).await.unwrap();
    next.write_all(get_request("/hello").as_bytes())
        .await
        .unwrap();
    assert!(response(&mut next).await.ends_with("hello"));
    closed(&mut silent).await;
    server.shut_down().await;
}

#[tokio::test]
async fn issue_10_shutdown_lets_a_request_in_flight_finish_and_then_stops_accepting() {
    let mut server = start(limits()).await;
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    c.write_all(get_request("/hold").as_bytes()).await.unwrap();
    timeout(BOUND, server.seen.started.notified())
        .await
        .expect("the handler starts");
    let _ = server.stop.take().unwrap().send(());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !server.served.is_finished(),
        "serve_with returned with a request in flight"
    );
    server.seen.release.notify_one();
    let r = response(&mut c).await;
    assert!(r.starts_with("HTTP/1.1 200") && r.ends_with("done"), "{r}");
    timeout(BOUND, &mut server.served)
        .await
        .expect("serve_with returns once the request is done")
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "still accepting"
    );
}

#[tokio::test]
async fn issue_10_shutdown_cuts_a_request_that_outlives_the_grace() {
    let mut server = start(ConnLimits {
        shutdown_grace: SHORT,
        ..limits()
    })
    .await;
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    c.write_all(get_request("/hold").as_bytes()).await.unwrap();
    timeout(BOUND, server.seen.started.notified())
        .await
        .expect("the handler starts");
    server.shut_down().await;
    assert!(closed(&mut c).await.is_empty());
}

#[tokio::test]
async fn issue_10_a_client_that_stops_reading_a_response_loses_the_connection() {
    let mut server = start(ConnLimits {
        body_timeout: SHORT,
        ..limits()
    })
    .await;
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    c.write_all(get_request("/endless").as_bytes())
        .await
        .unwrap();
    // Never read: once the socket buffers are full the server's writes wait, then fail.
    timeout(BOUND, server.seen.dropped.notified())
        .await
        .expect("the stalled response is abandoned within the bound");
    drop(c);
    server.shut_down().await;
}
