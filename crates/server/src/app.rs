//! Shared state of a running server: the writer ([`Core`]), a read connection for queries,
//! limits, metrics; and authentication of each request.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arbiter_audit::AuditLog;
use arbiter_policy::Policy;
use arbiter_store::{SqliteStore, Tokens};
use arbiter_triage::Engine;
use axum::http::{HeaderMap, header};

use crate::auth::{Caller, Permission, token_hash};
use crate::core::{Core, leak_model};
use crate::error::ApiError;
use crate::metrics::Metrics;

/// Limits that protect the server and say so (413, 429) instead of failing silently.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Alerts accepted but not yet triaged, across all requests, above which ingest answers
    /// `429` with `Retry-After`.
    pub queue_capacity: usize,
    /// Largest request body, in bytes (`413` above).
    pub max_body_bytes: usize,
    /// Most alerts in one ingest request (`413` above).
    pub max_batch: usize,
    /// Alerts the writer triages at a time; a request holding more is taken in several turns
    /// so that decisions queued meanwhile are not held up by the whole request.
    pub write_chunk: usize,
    /// Mark the console's cookie `Secure` (when served behind TLS).
    pub secure_cookies: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            queue_capacity: 20_000,
            max_body_bytes: 16 << 20,
            max_batch: 10_000,
            write_chunk: 128,
            secure_cookies: false,
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
    Audit(#[from] arbiter_audit::AuditError),
    #[error(transparent)]
    Triage(#[from] arbiter_triage::TriageError),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct Inner {
    /// The writer. A FIFO-fair lock, so an analyst's click waits for the batches already
    /// queued but is never overtaken by later ones.
    pub core: tokio::sync::Mutex<Core>,
    /// Set when a write panicked holding the writer: its state may be half-applied, so every
    /// later write refuses until a restart (the audit log recovers on open).
    pub poisoned: AtomicBool,
    /// The model in force (also inside the engine): read without waiting for the writer.
    pub model: std::sync::RwLock<&'static arbiter_model::Model>,
    pub reader: Mutex<SqliteStore>,
    /// Alerts accepted and waiting for the writer.
    pub pending: AtomicUsize,
    pub limits: Limits,
    pub metrics: Metrics,
    pub batch_seq: AtomicU64,
    pub started: Instant,
    pub draining: AtomicBool,
    /// Labels an override may set and features it may name (from the schema).
    pub labels: Vec<String>,
    pub features: Vec<String>,
    pub audit_dir: PathBuf,
}

/// A cheap handle on the server's state.
#[derive(Clone)]
pub struct App(pub Arc<Inner>);

impl App {
    /// Opens the store and audit log and loads the model and policy. Policy and model are
    /// audited before the first decision when they differ from those last in force.
    pub fn open(paths: &Paths, limits: Limits, deadline: Duration) -> Result<App, OpenError> {
        let policy = Policy::load(&paths.policy)?;
        let policy_text =
            std::fs::read_to_string(&paths.policy).map_err(|source| OpenError::Io {
                path: paths.policy.clone(),
                source,
            })?;
        let model = leak_model(&paths.model)?;
        if let Some(dir) = paths.db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| OpenError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut store = SqliteStore::open(&paths.db)?;
        let reader = SqliteStore::open(&paths.db)?;
        let audit_dir = paths
            .audit
            .clone()
            .unwrap_or_else(|| paths.db.with_file_name("audit"));
        let (mut audit, recovery) = AuditLog::open(&audit_dir)?;
        if recovery.dropped_bytes > 0 {
            eprintln!("audit log: {recovery}");
        }
        let cases = paths
            .cases
            .as_deref()
            .map(|p| arbiter_triage::load_cases(model, p))
            .transpose()?;
        let engine = Engine::new(model, policy, &store, deadline, None, cases)?;
        engine.record_changes(policy_text.as_bytes(), "serve", &mut store, &mut audit)?;
        let mut labels: Vec<String> = vec!["benign".into()];
        for c in &model.spec.category_head.classes {
            if !labels.contains(c) {
                labels.push(c.clone());
            }
        }
        let features = model.schema.features().map(|f| f.name.clone()).collect();
        Ok(App(Arc::new(Inner {
            poisoned: AtomicBool::new(false),
            core: tokio::sync::Mutex::new(Core {
                engine,
                store,
                audit,
                policy_text,
                summary: Default::default(),
            }),
            reader: Mutex::new(reader),
            model: std::sync::RwLock::new(model),
            pending: AtomicUsize::new(0),
            limits,
            metrics: Metrics::default(),
            batch_seq: AtomicU64::new(0),
            started: Instant::now(),
            draining: AtomicBool::new(false),
            labels,
            features,
            audit_dir,
        })))
    }

    /// Runs `f` with the writer, off the async threads.
    pub async fn write<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        F: FnOnce(&mut Core) -> Result<R, ApiError> + Send + 'static,
        R: Send + 'static,
    {
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            if app.0.poisoned.load(Ordering::SeqCst) {
                return Err(poisoned());
            }
            let mut core = app.0.core.blocking_lock();
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut core))) {
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

    /// Runs `f` with the read connection, off the async threads.
    pub async fn read<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        F: FnOnce(&SqliteStore) -> Result<R, ApiError> + Send + 'static,
        R: Send + 'static,
    {
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let store = app.0.reader.lock().map_err(|_| poisoned())?;
            f(&store)
        })
        .await
        .map_err(|e| ApiError::internal(format!("the reader task failed: {e}")))?
    }

    /// Who presented `token`, if it is live.
    pub async fn caller_for(&self, token: String) -> Result<Option<Caller>, ApiError> {
        let hash = token_hash(&token);
        let row = self.read(move |s| Ok(s.token_by_hash(&hash)?)).await?;
        Ok(row.and_then(|t| {
            Some(Caller {
                token_id: t.id,
                name: t.name,
                role: t.role.parse().ok()?,
            })
        }))
    }

    /// Authenticates an API request (`Authorization: Bearer …`) and checks `perm`. Every
    /// refusal is audited, naming `what` was attempted and on which `entities`.
    pub async fn require(
        &self,
        headers: &HeaderMap,
        perm: Permission,
        what: &str,
        entities: Vec<String>,
    ) -> Result<Caller, ApiError> {
        let token = bearer(headers);
        self.require_token(token, perm, what, entities).await
    }

    pub async fn require_token(
        &self,
        token: Option<String>,
        perm: Permission,
        what: &str,
        entities: Vec<String>,
    ) -> Result<Caller, ApiError> {
        let caller = match token {
            Some(t) => self.caller_for(t).await?,
            None => None,
        };
        self.authorize(caller, perm, what, entities).await
    }

    /// Checks that an already resolved `caller` holds `perm`; refusals are audited.
    pub async fn authorize(
        &self,
        caller: Option<Caller>,
        perm: Permission,
        what: &str,
        entities: Vec<String>,
    ) -> Result<Caller, ApiError> {
        match caller {
            Some(c) if c.role.allows(perm) => Ok(c),
            Some(c) => {
                let msg = format!(
                    "{} (role {}) may not {what}: it needs the {} permission",
                    c.name,
                    c.role,
                    perm.as_str()
                );
                self.deny(c.actor(), entities, msg.clone()).await;
                Err(ApiError::forbidden(msg))
            }
            None => {
                let msg = format!("no valid token to {what}: send Authorization: Bearer <token>");
                self.deny(
                    "anonymous".into(),
                    entities,
                    format!("unauthenticated attempt to {what}"),
                )
                .await;
                Err(ApiError::unauthorized(msg))
            }
        }
    }

    /// Audits a refusal (and counts it).
    pub async fn deny(&self, actor: String, entities: Vec<String>, summary: String) {
        self.0.metrics.denied.fetch_add(1, Ordering::Relaxed);
        let _ = self
            .write(move |core| {
                core.audit_denied(&actor, entities, summary);
                Ok(())
            })
            .await;
    }
}

impl App {
    pub fn model(&self) -> &'static arbiter_model::Model {
        *self.0.model.read().expect("model lock")
    }
}

fn poisoned() -> ApiError {
    ApiError::internal("a previous request failed while holding the store; restart the server")
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let t = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))?;
    Some(t.trim().to_string()).filter(|t| !t.is_empty())
}

/// The console's session cookie, if any.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().strip_prefix("arbiter_token="))
        .map(str::to_string)
        .find(|t| !t.is_empty())
}
