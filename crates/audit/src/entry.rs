//! The audit entry and its canonical byte form.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::AuditError;

/// One audited fact: a suggestion, decision, approval, override, policy or model change, …
///
/// The bytes that are hashed into the Merkle tree are `serde_json::to_vec(&entry)` at append
/// time (fields in struct order). That is the canonical form *by construction*, not by
/// re-derivation: verification always hashes the bytes stored on disk and never
/// re-serialises a parsed entry, so a future serde or float-formatting change can never make
/// an honest old log look tampered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// When the audited thing happened (UTC).
    pub time: DateTime<Utc>,
    /// What kind of thing it was.
    pub kind: EntryKind,
    /// Who did it: "arbiter/policy", "analyst:alice", "cli", …
    pub actor: String,
    /// What it is about: alert id, host, user, … (these are indexed for [`crate::AuditLog::query`]).
    pub entities: Vec<String>,
    /// One line for humans.
    pub summary: String,
    /// The decision, evidence digest, policy text hash, …
    pub body: serde_json::Value,
}

/// The kinds of audited events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// The model proposed something.
    Suggestion,
    /// A decision was taken (by a policy or a human).
    Decision,
    /// A human approved a proposed action.
    Approval,
    /// A human overrode the model or a policy.
    Override,
    /// A policy was changed.
    PolicyChange,
    /// The model was changed (retrained, swapped, re-thresholded).
    ModelChange,
    /// An action was refused.
    Denied,
    /// Labels entered the teaching set from outside a decision (imported incident tickets),
    /// or a quarantined example was released.
    Teaching,
    /// The log itself recovered from a crash (a torn tail was dropped).
    Recovery,
}

impl Entry {
    /// The canonical bytes of this entry: what is stored and hashed.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

/// Serialises a batch, naming the position of the first entry that fails.
pub(crate) fn encode_all(es: &[Entry]) -> Result<Vec<Vec<u8>>, AuditError> {
    es.iter()
        .enumerate()
        .map(|(index, e)| {
            e.canonical_bytes()
                .map_err(|source| AuditError::Serialize { index, source })
        })
        .collect()
}
