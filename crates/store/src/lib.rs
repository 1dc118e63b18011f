//! Persistence behind one contract: alerts, their evidence packages, decisions, cases,
//! feedback, the teaching set, tokens, the model registry and the small state guardrails
//! keep across restarts.
//!
//! - [`StoreRead`] is everything a reader may ask; readers never wait behind the writer.
//! - [`Store`] adds the one write operation, [`Store::apply`]: a batch of [`Mutation`]s as
//!   one transaction, with compare-and-set state transitions. Only the ledger
//!   (`arbiter-ledger`) calls it, after appending the same mutations to the audit log.
//! - [`SqliteStore`] (one file, WAL, versioned migrations) is the embedded default;
//!   [`MemoryStore`] keeps everything in memory (tests, simulations). Both pass the same
//!   [`conformance`] suite, which every backend must pass.
//!
//! ```
//! use arbiter_store::{MemoryStore, StoreRead};
//! let store = MemoryStore::new();
//! assert_eq!(store.stats().unwrap().alerts, 0);
//! ```

pub mod conformance;
mod error;
mod memory;
mod migrations;
mod mutation;
mod registry;
mod sqlite;
mod types;

pub use error::StoreError;
pub use memory::MemoryStore;
pub use migrations::MIGRATIONS;
pub use mutation::{Applied, Mutation, Recorded};
pub use registry::{
    CanaryBounds, CanaryTally, GateRow, ModelRow, ModelState, NewGate, NewModel, NewToken,
    OpinionRow, SecondOpinion, TokenRow,
};
pub use sqlite::SqliteStore;
pub use types::{
    AlertRow, CaseRow, CaseUpdate, DecisionRow, ExampleRow, FeedbackRow, NewAlert, NewDecision,
    NewExample, NewFeedback, QueueFilter, Release, Stats,
};

use arbiter_core::{AlertKey, EvidencePackage, ModelId};

/// What readers may ask. Every method takes `&self` and is safe to call from many threads
/// while a write is in progress; a reader sees each [`Store::apply`] batch whole or not at all.
pub trait StoreRead: Send + Sync {
    /// Which of these keys are already stored.
    fn existing_keys(&self, keys: &[AlertKey]) -> Result<Vec<AlertKey>, StoreError>;
    fn alert(&self, id: i64) -> Result<Option<AlertRow>, StoreError>;
    fn alert_by_key(&self, key: &AlertKey) -> Result<Option<AlertRow>, StoreError>;
    /// The alert's evidence package, as stored.
    fn package(&self, id: i64) -> Result<Option<EvidencePackage>, StoreError>;
    /// Alerts passing `filter`, riskiest first, then the most uncertain, then oldest.
    fn queue(&self, filter: &QueueFilter) -> Result<Vec<AlertRow>, StoreError>;
    /// An alert's decisions, oldest first (the policy's suggestion first).
    fn decisions(&self, alert: i64) -> Result<Vec<DecisionRow>, StoreError>;
    /// Feedback on an alert, oldest first.
    fn feedback(&self, alert: i64) -> Result<Vec<FeedbackRow>, StoreError>;
    /// The teaching set: examples with an id above `after`, oldest first, at most `limit`
    /// (0: no limit).
    fn examples(&self, after: i64, limit: usize) -> Result<Vec<ExampleRow>, StoreError>;
    fn get_state(&self, name: &str) -> Result<Option<String>, StoreError>;
    fn stats(&self) -> Result<Stats, StoreError>;
    /// Every flood-control case, oldest first (to rebuild flood control on start).
    fn cases(&self) -> Result<Vec<CaseRow>, StoreError>;
    /// The live (not revoked) token with this hash.
    fn token_by_hash(&self, sha256: &str) -> Result<Option<TokenRow>, StoreError>;
    fn token(&self, id: i64) -> Result<Option<TokenRow>, StoreError>;
    fn tokens(&self) -> Result<Vec<TokenRow>, StoreError>;
    fn models(&self) -> Result<Vec<ModelRow>, StoreError>;
    fn model(&self, id: &ModelId) -> Result<Option<ModelRow>, StoreError>;
    /// Gate reports recorded for `candidate`, oldest first.
    fn gates(&self, candidate: &ModelId) -> Result<Vec<GateRow>, StoreError>;
    /// Second opinions given by `model` or beside its decisions (the alert was acted on by
    /// `model`), newest first, at most `limit` (0: no limit); with `disagreeing`, only those
    /// whose tier differs from the one acted on.
    fn opinions(
        &self,
        model: &ModelId,
        disagreeing: bool,
        limit: usize,
    ) -> Result<Vec<OpinionRow>, StoreError>;
    /// How the alerts `model` decided have fared with humans.
    fn canary_tally(&self, model: &ModelId) -> Result<CanaryTally, StoreError>;
    /// The highest audit index whose mutations are applied (`None`: never written).
    fn applied_through(&self) -> Result<Option<u64>, StoreError>;
}

/// The write side. Only the ledger calls it.
pub trait Store: StoreRead {
    /// Applies every mutation of `batch` in order as one transaction and records the highest
    /// audit index as applied; on any error nothing is applied. Returns one [`Applied`] per
    /// mutation, in order.
    fn apply(&self, batch: &[Recorded]) -> Result<Vec<Applied>, StoreError>;

    /// Marks entries up to `index` as applied without applying anything (a log whose older
    /// entries predate recorded mutations). Never moves the mark backwards.
    fn mark_applied(&self, index: u64) -> Result<(), StoreError>;
}
