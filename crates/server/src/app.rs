//! Shared state of a running server: the writer (the ledger and the guardrails, behind one
//! lock), and everything readers use without it — the store's read side, the audit log's
//! reader, the scorer and the policy in force (each swapped whole behind an `Arc`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use arbiter_audit::AuditReader;
use arbiter_core::{Actor, Clock};
use arbiter_ledger::{Ledger, Rules};
use arbiter_model::Model;
use arbiter_policy::Policy;
use arbiter_store::{SqliteStore, StoreRead};
use arbiter_triage::{Challenger, Guards, Scorer};

use crate::denials::Denials;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::writer::{Door, Turn};

/// Limits that protect the server and say so (408, 413, 429, 503) instead of failing silently.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Alerts accepted but not yet triaged, across all requests, above which ingest answers
    /// `429` with `Retry-After`.
    pub queue_capacity: usize,
    /// Largest request body, in bytes (`413` above).
    pub max_body_bytes: usize,
    /// Most alerts in one ingest request (`413` above).
    pub max_batch: usize,
    /// Alerts scored and explained together, before the writer is taken (bigger batches
    /// explain faster).
    pub score_chunk: usize,
    /// Alerts decided and recorded per turn of the writer: a decision arriving meanwhile
    /// waits for at most one such turn.
    pub write_chunk: usize,
    /// Mark the console's cookie `Secure` (when served behind TLS).
    pub secure_cookies: bool,
    /// How often entries no checkpoint covers get one, and refusals are written.
    pub checkpoint_every: Duration,
    /// Distinct (actor, action, peer) refusal counters kept between two writes; beyond it,
    /// refusals are counted under one overflow counter.
    pub max_denial_keys: usize,
    /// Connections, timeouts.
    pub conn: crate::listen::ConnLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            queue_capacity: 20_000,
            max_body_bytes: 16 << 20,
            max_batch: 10_000,
            score_chunk: 256,
            write_chunk: 16,
            secure_cookies: false,
            checkpoint_every: Duration::from_secs(1),
            max_denial_keys: 10_000,
            conn: crate::listen::ConnLimits::default(),
        }
    }
}

/// Where a server's state lives.
#[derive(Debug, Clone)]
pub struct Paths {
    pub db: PathBuf,
    /// Default: `audit/` beside the database.
    pub audit: Option<PathBuf>,
    pub model: PathBuf,
    pub policy: PathBuf,
    /// Resolved past alerts for similar cases (labelled, the model's schema).
    pub cases: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Model(#[from] arbiter_model::ModelError),
    #[error(transparent)]
    Policy(#[from] arbiter_policy::PolicyError),
    #[error(transparent)]
    Store(#[from] arbiter_store::StoreError),
    #[error(transparent)]
    Ledger(#[from] arbiter_ledger::LedgerError),
    #[error(transparent)]
    Triage(#[from] arbiter_triage::TriageError),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The policy in force with its text (served to readers, audited on change).
#[derive(Debug)]
pub struct PolicyInForce {
    pub policy: Arc<Policy>,
    pub text: String,
    pub sha256: String,
}

/// What only the writer touches.
pub struct Writer {
    pub ledger: Ledger,
    pub guards: Guards,
}

pub struct Inner {
    /// The writer, one at a time; people and admin changes before ingest chunks.
    pub writer: Door<Writer>,
    /// Set when a write panicked holding the writer: every later write refuses until a
    /// restart (the ledger reconciles on open).
    pub poisoned: AtomicBool,
    pub store: Arc<dyn StoreRead>,
    pub audit: AuditReader,
    pub scorer: RwLock<Arc<Scorer>>,
    /// The shadow or canary scoring beside the champion; swapped under the writer.
    pub challenger: RwLock<Option<Arc<Challenger>>>,
    pub policy: RwLock<Arc<PolicyInForce>>,
    pub clock: Arc<dyn Clock>,
    pub denials: Denials,
    /// Whether the circuit breaker was open after the last batch (for /health).
    pub breaker_open: AtomicBool,
    /// Alerts accepted and waiting for the writer.
    pub pending: AtomicUsize,
    pub limits: Limits,
    pub deadline: Duration,
    pub metrics: Metrics,
    pub batch_seq: AtomicU64,
    pub started: Instant,
    pub draining: AtomicBool,
    pub audit_dir: PathBuf,
    /// Resolved past alerts, reloaded for a new model.
    pub cases: Option<PathBuf>,
}

/// A cheap handle on the server's state.
#[derive(Clone)]
pub struct App(pub Arc<Inner>);

impl App {
    /// Opens the store and audit log (reconciling them), loads the model and policy and puts
    /// them in force, audited, when they differ from those last in force.
    pub fn open(
        paths: &Paths,
        limits: Limits,
        deadline: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<App, OpenError> {
        // Scoring gives way to people and readers for the CPU.
        arbiter_triage::scoring_pool_gives_way();
        let policy = Arc::new(Policy::load(&paths.policy)?);
        let text = std::fs::read_to_string(&paths.policy).map_err(|source| OpenError::Io {
            path: paths.policy.clone(),
            source,
        })?;
        let model = Arc::new(Model::load(&paths.model)?);
        if let Some(dir) = paths.db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| OpenError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let store = Arc::new(SqliteStore::open(&paths.db)?);
        let audit_dir = paths
            .audit
            .clone()
            .unwrap_or_else(|| paths.db.with_file_name("audit"));
        let opened = Ledger::open(store.clone(), &audit_dir, clock.clone())?;
        if !opened.recovery.is_clean() || !opened.recovery.notes.is_empty() {
            eprintln!("serve: audit log: {}", opened.recovery);
        }
        if opened.reconciled.restored > 0 || !opened.reconciled.voided.is_empty() {
            eprintln!("serve: store: {}", opened.reconciled);
        }
        let mut ledger = opened.ledger;
        // A promoted champion outranks the bundle on the command line: a restart with the old
        // `--model` must not quietly undo a four-eyes promotion.
        let (model, model_path) = match ledger.champion()? {
            Some(c) if c.parent.is_some() && c.id.as_str() != model.id => {
                eprintln!(
                    "serve: the registry's champion {} (promoted) is in force, not --model {}",
                    c.id, model.id
                );
                let path = PathBuf::from(&c.path);
                (Arc::new(crate::challenger::verified(&path, &c.id)?), path)
            }
            _ => (model, paths.model.clone()),
        };
        let scorer = Arc::new(crate::challenger::scorer(
            model.clone(),
            paths.cases.as_deref(),
            store.as_ref(),
        )?);
        arbiter_triage::put_in_force(
            &mut ledger,
            &text,
            &paths.policy.display().to_string(),
            &model,
            &model_path,
            &Actor::system("serve"),
        )?;
        let challenger = match ledger.challenger()? {
            None => None,
            Some(row) => Some(Arc::new(crate::challenger::load(
                &row,
                &model,
                paths.cases.as_deref(),
                store.as_ref(),
            )?)),
        };
        let guards = Guards::restore(policy.clone(), &model, store.as_ref(), clock.as_ref())?;
        let audit = ledger.audit().reader();
        let sha256 = arbiter_triage::sha256_hex(text.as_bytes());
        let read: Arc<dyn StoreRead> = store;
        Ok(App(Arc::new(Inner {
            writer: Door::new(Writer { ledger, guards }),
            poisoned: AtomicBool::new(false),
            store: read,
            audit,
            scorer: RwLock::new(scorer),
            challenger: RwLock::new(challenger),
            policy: RwLock::new(Arc::new(PolicyInForce {
                policy,
                text,
                sha256,
            })),
            denials: Denials::new(limits.max_denial_keys),
            clock,
            breaker_open: AtomicBool::new(false),
            pending: AtomicUsize::new(0),
            limits,
            deadline,
            metrics: Metrics::default(),
            batch_seq: AtomicU64::new(0),
            started: Instant::now(),
            draining: AtomicBool::new(false),
            audit_dir,
            cases: paths.cases.clone(),
        })))
    }

    /// Runs `f` with the writer at the next turn (people, admin changes, refusals), off the
    /// async threads.
    pub async fn write<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        F: FnOnce(&mut Writer) -> Result<R, ApiError> + Send + 'static,
        R: Send + 'static,
    {
        self.write_turn(Turn::Priority, f).await
    }

    /// Runs `f` with the writer when nobody with priority waits (ingest chunks).
    pub async fn write_bulk<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        F: FnOnce(&mut Writer) -> Result<R, ApiError> + Send + 'static,
        R: Send + 'static,
    {
        self.write_turn(Turn::Bulk, f).await
    }

    async fn write_turn<R, F>(&self, turn: Turn, f: F) -> Result<R, ApiError>
    where
        F: FnOnce(&mut Writer) -> Result<R, ApiError> + Send + 'static,
        R: Send + 'static,
    {
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            if app.0.poisoned.load(Ordering::SeqCst) {
                return Err(poisoned());
            }
            let mut w = app.0.writer.enter(turn);
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut w))) {
                Ok(r) => r,
                Err(_) => {
                    app.0.poisoned.store(true, Ordering::SeqCst);
                    Err(poisoned())
                }
            }
        })
        .await
        .map_err(|e| ApiError::internal(format!("the writer task failed: {e}")))?
    }

    /// Runs `f` with the store's read side and the audit reader, off the async threads and
    /// without the writer's lock.
    pub async fn read<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        F: FnOnce(&dyn StoreRead, &AuditReader) -> Result<R, ApiError> + Send + 'static,
        R: Send + 'static,
    {
        let app = self.clone();
        tokio::task::spawn_blocking(move || f(app.0.store.as_ref(), &app.0.audit))
            .await
            .map_err(|e| ApiError::internal(format!("the reader task failed: {e}")))?
    }

    /// The scorer (and so the model) in force.
    pub fn scorer(&self) -> Arc<Scorer> {
        self.0.scorer.read().expect("scorer lock").clone()
    }

    pub fn model(&self) -> Arc<Model> {
        self.scorer().model().clone()
    }

    /// The shadow or canary, if one runs.
    pub fn challenger(&self) -> Option<Arc<Challenger>> {
        self.0.challenger.read().expect("challenger lock").clone()
    }

    /// Swaps the challenger (call under the writer, after the change is audited).
    pub fn set_challenger(&self, c: Option<Arc<Challenger>>) {
        *self.0.challenger.write().expect("challenger lock") = c;
    }

    pub fn policy(&self) -> Arc<PolicyInForce> {
        self.0.policy.read().expect("policy lock").clone()
    }

    /// What a human decision is checked against: the policy's reason codes, the model's
    /// labels and features.
    pub fn rules(&self) -> Rules {
        let model = self.model();
        Rules {
            reason_codes: self
                .policy()
                .policy
                .reason_codes()
                .iter()
                .map(|c| c.code.clone())
                .collect(),
            labels: labels(&model),
            features: model.schema.features().map(|f| f.name.clone()).collect(),
        }
    }

    /// Counts a refused request; the refusals are written to the audit log together, off the
    /// request path, by [`App::flush`].
    pub fn deny(&self, actor: Actor, what: &str, entities: Vec<String>, peer: Option<String>) {
        self.0.metrics.denied.fetch_add(1, Ordering::Relaxed);
        self.0
            .denials
            .note(actor, what, entities, peer, self.0.clock.now());
    }

    /// Writes the refusals counted so far and signs a checkpoint over entries no checkpoint
    /// covers: what the background task does every `checkpoint_every`.
    pub async fn flush(&self) -> Result<(), ApiError> {
        let denials = self.0.denials.drain();
        self.write(move |w| {
            w.ledger.record_denials(&denials)?;
            w.ledger.checkpoint_if_behind()?;
            Ok(())
        })
        .await
    }

    /// Flushes every `checkpoint_every` until the server stops.
    pub fn spawn_background(&self) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(app.0.limits.checkpoint_every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = app.flush().await {
                    eprintln!("serve: could not write refusals or sign a checkpoint: {e}");
                }
            }
        })
    }
}

/// Labels an override may set: benign first, then the model's categories.
pub fn labels(model: &Model) -> Vec<String> {
    let mut labels: Vec<String> = vec!["benign".into()];
    for c in &model.spec.category_head.classes {
        if !labels.contains(c) {
            labels.push(c.clone());
        }
    }
    labels
}

fn poisoned() -> ApiError {
    ApiError::unavailable(
        "writer_poisoned",
        "a previous request failed while holding the writer; restart the server (the ledger \
         reconciles the store with the audit log on start)",
    )
}
