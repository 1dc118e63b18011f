//! `arbiter serve`: the API and the analyst console on one embedded store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use std::sync::Arc;

use anyhow::Context;
use arbiter_core::SystemClock;
use arbiter_server::listen::ConnLimits;
use arbiter_server::{App, Limits, Paths};

#[derive(clap::Args, Clone)]
pub struct Args {
    /// Model bundle directory
    #[arg(long, env = "ARBITER_MODEL")]
    pub model: PathBuf,
    /// Policy file (YAML)
    #[arg(long, env = "ARBITER_POLICY", default_value = "policies/default.yaml")]
    pub policy: PathBuf,
    /// SQLite database (created if absent)
    #[arg(long, env = "ARBITER_DB", default_value = "out/arbiter.db")]
    pub db: PathBuf,
    /// Audit log directory (default: `audit/` beside the database)
    #[arg(long, env = "ARBITER_AUDIT")]
    pub audit: Option<PathBuf>,
    /// Resolved past alerts (labelled, the model's schema) for similar cases
    #[arg(long, env = "ARBITER_CASES")]
    pub cases: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free port)
    #[arg(long, env = "ARBITER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Alerts waiting for triage above which ingest answers 429 with Retry-After
    #[arg(long, env = "ARBITER_QUEUE_CAPACITY", default_value_t = Limits::default().queue_capacity)]
    pub queue_capacity: usize,
    /// Largest request body in bytes (413 above)
    #[arg(long, env = "ARBITER_MAX_BODY_BYTES", default_value_t = Limits::default().max_body_bytes)]
    pub max_body_bytes: usize,
    /// Most alerts in one ingest request (413 above)
    #[arg(long, env = "ARBITER_MAX_BATCH", default_value_t = Limits::default().max_batch)]
    pub max_batch: usize,
    /// Alerts scored and explained together before the writer is taken
    #[arg(long, env = "ARBITER_SCORE_CHUNK", default_value_t = Limits::default().score_chunk)]
    pub score_chunk: usize,
    /// Alerts decided and recorded per turn of the writer (a decision waits for at most one)
    #[arg(long, env = "ARBITER_WRITE_CHUNK", default_value_t = Limits::default().write_chunk)]
    pub write_chunk: usize,
    /// Scoring deadline per ingest batch, in milliseconds (timeout ⇒ analyst, model_timeout)
    #[arg(long, env = "ARBITER_DEADLINE_MS", default_value_t = 10_000)]
    pub deadline_ms: u64,
    /// Mark the console cookie Secure (behind a TLS-terminating proxy)
    #[arg(long, env = "ARBITER_SECURE_COOKIES")]
    pub secure_cookies: bool,
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Connection limits and timeouts.
#[derive(clap::Args, Clone, Debug)]
pub struct ConnArgs {
    /// Connections served at once (more wait in the kernel's backlog)
    #[arg(long, env = "ARBITER_MAX_CONNECTIONS", default_value_t = ConnLimits::default().max_connections)]
    pub max_connections: usize,
    /// Milliseconds a client has to send a request's headers
    #[arg(long, env = "ARBITER_HEADER_TIMEOUT_MS", default_value_t = ConnLimits::default().header_timeout.as_millis() as u64)]
    pub header_timeout_ms: u64,
    /// Milliseconds a client has to send a request's body (408 after)
    #[arg(long, env = "ARBITER_BODY_TIMEOUT_MS", default_value_t = ConnLimits::default().body_timeout.as_millis() as u64)]
    pub body_timeout_ms: u64,
    /// Milliseconds a keep-alive connection may sit idle between requests
    #[arg(long, env = "ARBITER_IDLE_TIMEOUT_MS", default_value_t = ConnLimits::default().idle_timeout.as_millis() as u64)]
    pub idle_timeout_ms: u64,
    /// Milliseconds between signed audit checkpoints while entries arrive (and refusal writes)
    #[arg(long, env = "ARBITER_CHECKPOINT_MS", default_value_t = 1000)]
    pub checkpoint_ms: u64,
}

impl Default for ConnArgs {
    fn default() -> Self {
        let c = ConnLimits::default();
        ConnArgs {
            max_connections: c.max_connections,
            header_timeout_ms: c.header_timeout.as_millis() as u64,
            body_timeout_ms: c.body_timeout.as_millis() as u64,
            idle_timeout_ms: c.idle_timeout.as_millis() as u64,
            checkpoint_ms: 1000,
        }
    }
}

pub fn open(args: &Args) -> anyhow::Result<App> {
    let paths = Paths {
        db: args.db.clone(),
        audit: args.audit.clone(),
        model: args.model.clone(),
        policy: args.policy.clone(),
        cases: args.cases.clone(),
    };
    let ms = Duration::from_millis;
    let limits = Limits {
        queue_capacity: args.queue_capacity,
        max_body_bytes: args.max_body_bytes,
        max_batch: args.max_batch,
        score_chunk: args.score_chunk,
        write_chunk: args.write_chunk,
        secure_cookies: args.secure_cookies,
        checkpoint_every: ms(args.conn.checkpoint_ms.max(10)),
        conn: ConnLimits {
            max_connections: args.conn.max_connections.max(1),
            header_timeout: ms(args.conn.header_timeout_ms),
            body_timeout: ms(args.conn.body_timeout_ms),
            idle_timeout: ms(args.conn.idle_timeout_ms),
            ..ConnLimits::default()
        },
        ..Limits::default()
    };
    App::open(
        &paths,
        limits,
        Duration::from_millis(args.deadline_ms),
        Arc::new(SystemClock),
    )
    .with_context(|| format!("cannot start the server on {}", args.db.display()))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let app = open(&args)?;
    serve(app, args.listen, |_| {})
}

/// Serves until Ctrl-C or SIGTERM; `ready` gets the bound address.
pub fn serve(app: App, listen: SocketAddr, ready: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        eprintln!("serve: listening on http://{addr} (console at /queue, API at /api/v1, OpenAPI at /api/v1/openapi.json)");
        ready(addr);
        arbiter_server::serve(listener, app, arbiter_server::shutdown_signal()).await?;
        Ok(())
    })
}
