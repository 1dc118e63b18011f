//! The one writer: the triage engine, the store's write connection and the audit log behind
//! one lock. Everything that appends to the audit log or writes the store goes through here,
//! so "audit first, then store" holds for HTTP ingest, human decisions and admin changes
//! alike.

use std::path::Path;

use arbiter_audit::{AuditLog, Entry, EntryKind};
use arbiter_model::Model;
use arbiter_policy::Policy;
use arbiter_store::SqliteStore;
use arbiter_triage::{Engine, Incoming, Summary, Triaged};

use crate::error::ApiError;

pub struct Core {
    pub engine: Engine<'static>,
    pub store: SqliteStore,
    pub audit: AuditLog,
    /// The policy file's text as in force (served to admins, audited on change).
    pub policy_text: String,
    pub summary: Summary,
}

/// A model loaded for the life of the process. A model change leaks the previous bundle
/// (a few MiB): changes are rare and an `Engine` borrows its model.
pub fn leak_model(path: &Path) -> Result<&'static Model, arbiter_model::ModelError> {
    Ok(Box::leak(Box::new(Model::load(path)?)))
}

impl Core {
    pub fn triage(&mut self, batch: Vec<Incoming>, file: &str) -> Result<Vec<Triaged>, ApiError> {
        let Core {
            engine,
            store,
            audit,
            summary,
            ..
        } = self;
        Ok(engine.triage(batch, file, store, audit, summary)?)
    }

    /// Appends one entry and returns its index: the caller acts only after this returns.
    pub fn audit(&mut self, entry: Entry) -> Result<u64, ApiError> {
        Ok(self.audit.append(&entry)?)
    }

    /// Records a refused attempt. Failing to audit a refusal does not turn it into success.
    pub fn audit_denied(&mut self, actor: &str, entities: Vec<String>, summary: String) {
        let entry = Entry {
            time: chrono::Utc::now(),
            kind: EntryKind::Denied,
            actor: actor.to_string(),
            entities,
            summary: summary.clone(),
            body: serde_json::json!({"denied": summary}),
        };
        if let Err(e) = self.audit.append(&entry) {
            eprintln!("serve: could not audit a denied attempt ({summary}): {e}");
        }
    }

    /// Puts a new policy in force: audited first, then used.
    pub fn change_policy(&mut self, text: &str, actor: &str) -> Result<u64, ApiError> {
        let policy = Policy::from_yaml(text, "policy (uploaded)")
            .map_err(|e| ApiError::unprocessable(format!("the policy was not changed: {e}")))?;
        let report = arbiter_policy::run_tests(&policy);
        if !report.passed() {
            let failing: Vec<String> = report
                .cases
                .iter()
                .filter(|c| !c.passed)
                .map(|c| format!("{}: got {}", c.name, c.got_tier))
                .collect();
            return Err(ApiError::unprocessable(format!(
                "the policy was not changed: {} of its embedded tests fail",
                failing.len()
            ))
            .with_detail(serde_json::json!(failing)));
        }
        let hash = arbiter_triage::sha256_hex(text.as_bytes());
        let index = self.audit(Entry {
            time: chrono::Utc::now(),
            kind: EntryKind::PolicyChange,
            actor: actor.to_string(),
            entities: vec![format!("policy:{hash}")],
            summary: format!("policy {hash:.12} now in force (uploaded by {actor})"),
            body: serde_json::json!({"sha256": hash, "text": text}),
        })?;
        self.engine.set_policy(policy);
        self.policy_text = text.to_string();
        arbiter_store::Store::put_state(&mut self.store, "policy_sha256", &hash)?;
        Ok(index)
    }

    /// Puts a new model bundle in force: loaded and checked, audited, then used.
    pub fn change_model(&mut self, path: &Path, actor: &str) -> Result<u64, ApiError> {
        let model = leak_model(path).map_err(|e| {
            ApiError::unprocessable(format!(
                "the model was not changed: cannot load {}: {e}",
                path.display()
            ))
        })?;
        let store: &dyn arbiter_store::Store = &self.store;
        let engine = Engine::new(
            model,
            self.engine.policy().clone(),
            store,
            self.engine.deadline,
            None,
            None,
        )?;
        let index = self.audit(Entry {
            time: chrono::Utc::now(),
            kind: EntryKind::ModelChange,
            actor: actor.to_string(),
            entities: vec![model.id.clone()],
            summary: format!("model bundle {} now in force (by {actor})", model.id),
            body: serde_json::json!({"bundle": model.id, "path": path.display().to_string(),
                                     "schema": model.schema.id()}),
        })?;
        self.engine = engine;
        arbiter_store::Store::put_state(&mut self.store, "model_bundle", &model.id)?;
        Ok(index)
    }
}
