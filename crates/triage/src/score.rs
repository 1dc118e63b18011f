//! Scoring and explaining, shareable across threads and run outside the writer: a batch is
//! scored within a deadline, or decided without the model.

use std::sync::{Arc, mpsc};
use std::time::Duration;

use arbiter_core::{Clock, EvidencePackage};
use arbiter_explain::{CaseStore, Explaining};
use arbiter_ingest::{Record, Value};
use arbiter_model::Model;
use arbiter_policy::ModelStatus;

use crate::TriageError;

/// How much lower than the rest of the process scoring runs (Linux nice value): scoring and
/// explaining is background work that may take every core; a person's click, a read and the
/// writer's turn should not queue behind it for the CPU.
pub const SCORING_NICENESS: i32 = 10;

/// Lowers the calling thread's CPU priority by [`SCORING_NICENESS`] (Linux; elsewhere, and on
/// failure, nothing happens: priority is an optimisation, not a guarantee).
pub fn give_way() {
    #[cfg(target_os = "linux")]
    {
        let _ =
            rustix::process::setpriority_process(Some(rustix::thread::gettid()), SCORING_NICENESS);
    }
}

/// Makes the global rayon pool (where TreeSHAP, explanation and OOD search run) give way too.
/// Call once at the start of a server, before any scoring; later calls change nothing.
pub fn scoring_pool_gives_way() {
    let _ = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("arbiter-score-{i}"))
        .start_handler(|_| give_way())
        .build_global();
}

/// A model made ready to score and explain, with the field holding the asset's role.
pub struct Scorer {
    explaining: Arc<Explaining>,
    asset_index: Option<usize>,
    taught: std::sync::Mutex<Taught>,
}

/// How far [`Scorer::learn_cases`] has read the teaching set.
#[derive(Debug, Default)]
struct Taught {
    after: i64,
    alerts: std::collections::HashSet<i64>,
}

/// What scoring a batch gave.
#[derive(Debug, Clone)]
pub struct Scored {
    /// One per record, `None` when the model gave nothing (timeout, error).
    pub packages: Vec<Option<EvidencePackage>>,
    pub status: ModelStatus,
    /// How long it took, per record, in milliseconds, as the clock measured it.
    pub ms_per_row: f64,
    /// The bundle that scored it.
    pub bundle: String,
}

impl Scorer {
    /// `asset_field` names the field holding the asset role (default `asset_role` when the
    /// schema has it); `cases` are resolved past alerts for the packages' similar cases.
    pub fn new(
        model: Arc<Model>,
        cases: Option<CaseStore>,
        asset_field: Option<&str>,
    ) -> Result<Scorer, TriageError> {
        let asset_field = asset_field.map(str::to_string).or_else(|| {
            model
                .schema
                .field("asset_role")
                .map(|_| "asset_role".to_string())
        });
        let asset_index = asset_field
            .as_ref()
            .and_then(|name| model.encoder.spec.names.iter().position(|n| n == name));
        // Without a file of past cases, similar cases come from the alerts analysts resolve.
        let cases = cases.unwrap_or_else(|| CaseStore::empty(&model, "resolved alerts"));
        Ok(Scorer {
            explaining: Arc::new(Explaining::new(model, Some(cases))?),
            asset_index,
            taught: std::sync::Mutex::new(Taught::default()),
        })
    }

    /// Adds the alerts people resolved since the last call — the teaching set's examples
    /// whose features were kept, one case per alert, labelled as the first example on it
    /// says — to the similar cases every later package is compared with. Returns how many
    /// were added.
    pub fn learn_cases(
        &self,
        store: &dyn arbiter_store::StoreRead,
    ) -> Result<usize, arbiter_store::StoreError> {
        let Some(cases) = self.explaining.cases() else {
            return Ok(0);
        };
        let model = self.model();
        let mut t = self
            .taught
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut added = 0;
        loop {
            let page = store.examples(t.after, 1000)?;
            let Some(last) = page.last().map(|e| e.id) else {
                break;
            };
            for e in &page {
                let Some(features) = &e.features else {
                    continue;
                };
                if !t.alerts.insert(e.alert) {
                    continue;
                }
                let record = Record::from_observed(&model.schema, features, e.alert as u64);
                let source = arbiter_core::RowSource {
                    file: "store".into(),
                    line: e.alert as u64,
                };
                cases.add(
                    model,
                    &e.example.key.to_string(),
                    source,
                    e.example.label.as_str(),
                    &record,
                );
                added += 1;
            }
            t.after = last;
        }
        Ok(added)
    }

    pub fn model(&self) -> &Arc<Model> {
        &self.explaining.model
    }

    /// The asset role of a record, if the schema has one.
    pub fn asset<'r>(&self, r: &'r Record) -> Option<&'r str> {
        self.asset_index.and_then(|j| match &r.features[j] {
            Value::Cat(s) => Some(s.as_str()),
            _ => None,
        })
    }

    /// Scores and explains `records` read from `file` on a worker thread, waiting at most
    /// `deadline` of real time.
    pub fn score(
        &self,
        records: &[Record],
        file: &str,
        deadline: Duration,
        clock: &dyn Clock,
    ) -> Scored {
        let bundle = self.model().id.clone();
        if records.is_empty() {
            return Scored {
                packages: Vec::new(),
                status: ModelStatus::Ok,
                ms_per_row: 0.0,
                bundle,
            };
        }
        let started = clock.now_ms();
        let explaining = self.explaining.clone();
        let (rows, file_name) = (records.to_vec(), file.to_string());
        let (tx, rx) = mpsc::channel();
        // A detached worker: when the deadline passes the batch is decided without the model at
        // once, and the worker's late result is dropped when it finishes.
        let spawned = std::thread::Builder::new()
            .name("arbiter-score".into())
            .spawn(move || {
                let _ = tx.send(
                    explaining
                        .explain(&rows, &file_name)
                        .map_err(|e| e.to_string()),
                );
            });
        let (result, timed_out) = match spawned {
            Err(e) => (Err(format!("cannot start a scoring thread: {e}")), false),
            Ok(_) => match rx.recv_timeout(deadline) {
                Ok(r) => (r, false),
                Err(mpsc::RecvTimeoutError::Timeout) => (Err("deadline passed".to_string()), true),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    (Err("the scoring thread panicked".to_string()), false)
                }
            },
        };
        let ms_per_row = (clock.now_ms() - started).max(0) as f64 / records.len() as f64;
        let (packages, status) = match result {
            Ok(p) => (p.into_iter().map(Some).collect(), ModelStatus::Ok),
            Err(_) if timed_out => (vec![None; records.len()], ModelStatus::Timeout),
            Err(e) => (vec![None; records.len()], ModelStatus::Error(e)),
        };
        Scored {
            packages,
            status,
            ms_per_row,
            bundle,
        }
    }
}
