//! `arbiter serve`: the API and the analyst console on one embedded store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
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
    /// Alerts the writer triages at a time (a decision waits for at most one such chunk)
    #[arg(long, env = "ARBITER_WRITE_CHUNK", default_value_t = Limits::default().write_chunk)]
    pub write_chunk: usize,
    /// Scoring deadline per ingest batch, in milliseconds (timeout ⇒ analyst, model_timeout)
    #[arg(long, env = "ARBITER_DEADLINE_MS", default_value_t = 10_000)]
    pub deadline_ms: u64,
    /// Mark the console cookie Secure (behind a TLS-terminating proxy)
    #[arg(long, env = "ARBITER_SECURE_COOKIES")]
    pub secure_cookies: bool,
}

pub fn open(args: &Args) -> anyhow::Result<App> {
    let paths = Paths {
        db: args.db.clone(),
        audit: args.audit.clone(),
        model: args.model.clone(),
        policy: args.policy.clone(),
        cases: args.cases.clone(),
    };
    let limits = Limits {
        queue_capacity: args.queue_capacity,
        max_body_bytes: args.max_body_bytes,
        max_batch: args.max_batch,
        write_chunk: args.write_chunk,
        secure_cookies: args.secure_cookies,
    };
    App::open(&paths, limits, Duration::from_millis(args.deadline_ms))
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
