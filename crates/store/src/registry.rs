//! Identities and models: API tokens (stored hashed, tied to a person) and the model registry.

use arbiter_core::{Actor, ModelId, Role};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An API token as stored: only the SHA-256 of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRow {
    pub id: i64,
    /// What the token is called (`alice-laptop`, `siem-forwarder`).
    pub name: String,
    /// The person (or machine) who holds it: four eyes counts persons, not tokens.
    pub person: String,
    pub role: Role,
    #[serde(skip_serializing)]
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    /// Who minted it (a person, or a program such as `cli/token`).
    pub created_by: Actor,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    pub person: String,
    pub role: Role,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Actor,
}

/// Where a model is in its life. Promotion and rollback are state changes; at most one model
/// is the champion and at most one is a challenger (in shadow or canary) at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ModelState {
    /// Registered and verified, deciding nothing.
    Candidate,
    /// Scores live traffic beside the champion; its decisions are recorded, never acted on.
    Shadow,
    /// Decides a declared share of live traffic, rolled back when a declared bound is crossed.
    Canary,
    /// In force: decides every alert the canary does not.
    Champion,
    /// Was champion or challenger, replaced or rolled back.
    Retired,
}

impl ModelState {
    pub const ALL: &'static [ModelState] = &[
        ModelState::Candidate,
        ModelState::Shadow,
        ModelState::Canary,
        ModelState::Champion,
        ModelState::Retired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ModelState::Candidate => "candidate",
            ModelState::Shadow => "shadow",
            ModelState::Canary => "canary",
            ModelState::Champion => "champion",
            ModelState::Retired => "retired",
        }
    }

    /// Shadow or canary: scoring beside the champion.
    pub fn is_challenger(self) -> bool {
        matches!(self, ModelState::Shadow | ModelState::Canary)
    }
}

impl std::fmt::Display for ModelState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ModelState {
    type Err = arbiter_core::VocabError;
    fn from_str(s: &str) -> Result<ModelState, Self::Err> {
        // `registered` and `active` are this vocabulary's words before schema version 6; audit
        // entries written then still read back.
        match s {
            "candidate" | "registered" => Ok(ModelState::Candidate),
            "shadow" => Ok(ModelState::Shadow),
            "canary" => Ok(ModelState::Canary),
            "champion" | "active" => Ok(ModelState::Champion),
            "retired" => Ok(ModelState::Retired),
            other => Err(arbiter_core::VocabError::new(
                "model state",
                other,
                "one of candidate, shadow, canary, champion, retired".to_string(),
            )),
        }
    }
}

impl Serialize for ModelState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ModelState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ModelState, D::Error> {
        let s = <std::borrow::Cow<'de, str> as Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What a canary may do before it is rolled back by itself, declared when it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanaryBounds {
    /// Share of live alerts the canary decides (by a hash of the alert key), in (0, 1].
    pub share: f64,
    /// Rolled back when humans override or reject more than this share of the canary's
    /// decisions they reviewed…
    pub max_override_rate: f64,
    /// …once at least this many were reviewed.
    pub min_reviewed: u64,
    /// Rolled back when more than this many of the canary's automated decisions (auto-close,
    /// auto-act) were found wrong by a human (the auto-close audit bound).
    pub max_automated_overridden: u64,
}

/// A registered model bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRow {
    pub id: ModelId,
    /// Where the bundle lives on the server's disk.
    pub path: String,
    pub schema: String,
    pub state: ModelState,
    /// The champion a retrained bundle was built from (its `changes.json`, inside the hash).
    pub parent: Option<ModelId>,
    pub registered_by: Actor,
    pub registered_at: DateTime<Utc>,
    pub changed_by: Actor,
    pub changed_at: DateTime<Utc>,
    /// When it last became champion: rollback restores the champion before, by this time.
    pub champion_at: Option<DateTime<Utc>>,
    /// The bounds it runs under while in canary.
    pub canary: Option<CanaryBounds>,
    /// The first admin's promotion request, waiting for a second, different admin.
    pub promotion_requested_by: Option<Actor>,
    pub promotion_requested_at: Option<DateTime<Utc>>,
}

/// A gate report as recorded: which candidate against which champion, and the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGate {
    pub candidate: ModelId,
    pub champion: ModelId,
    pub passed: bool,
    /// SHA-256 of the report's JSON.
    pub sha256: String,
    pub report: serde_json::Value,
    pub by: Actor,
    pub at: DateTime<Utc>,
}

/// A recorded gate report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateRow {
    pub id: i64,
    pub candidate: ModelId,
    pub champion: ModelId,
    pub passed: bool,
    pub sha256: String,
    pub report: serde_json::Value,
    pub by: Actor,
    pub at: DateTime<Utc>,
    pub audit_index: u64,
}

/// The decision a second model would have made on an alert it did not decide: the shadow's
/// beside the champion's, or the champion's beside the canary's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondOpinion {
    pub model: ModelId,
    /// The state the model was in (`shadow`, `canary`, `champion`).
    pub role: ModelState,
    pub tier: arbiter_core::Tier,
    pub action: Option<String>,
    pub p_malicious: Option<f64>,
    pub verdict: Option<arbiter_core::Verdict>,
    pub category: Option<String>,
    pub reasons: Vec<arbiter_core::Reason>,
    pub package: Option<arbiter_core::EvidencePackage>,
}

/// A stored second opinion, with the alert's own (acted-on) decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpinionRow {
    pub alert: i64,
    pub key: arbiter_core::AlertKey,
    /// The model whose decision was acted on.
    pub acted_by: Option<ModelId>,
    pub acted_tier: arbiter_core::Tier,
    pub acted_action: Option<String>,
    pub acted_p_malicious: Option<f64>,
    pub opinion: SecondOpinion,
}

/// How a canary has fared: its decisions, and what humans made of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanaryTally {
    /// Alerts it decided.
    pub decided: u64,
    /// Of those, decided by automation (tier `auto`).
    pub automated: u64,
    /// Of those it decided, with at least one human decision.
    pub reviewed: u64,
    /// Of those reviewed, overridden or rejected by a human.
    pub overridden: u64,
    /// Of its automated decisions, overridden or rejected by a human.
    pub automated_overridden: u64,
}

/// A model to register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewModel {
    pub id: ModelId,
    pub path: String,
    pub schema: String,
    #[serde(default)]
    pub parent: Option<ModelId>,
    pub by: Actor,
    pub at: DateTime<Utc>,
}
