//! The policy file: its types, how it is parsed, and the defaults used when a section is absent.
//!
//! Every struct denies unknown fields because a typo in a safety policy (`max_impat`) must
//! fail loudly instead of silently falling back to a default that may grant more autonomy.

use std::collections::BTreeMap;
use std::path::Path;

use arbiter_core::{Flag, Tier, Verdict};
use serde::{Deserialize, Serialize};

use crate::cases::TestCase;
use crate::error::{Location, PolicyError};
use crate::validate::{locate, validate};

/// The only policy format version this build understands.
pub const POLICY_VERSION: u64 = 1;

/// The α levels of the bundle's risk-control table; `auto_close.alpha` must be one of them.
pub const RISK_ALPHAS: [f64; 5] = [0.001, 0.005, 0.01, 0.02, 0.05];

pub use arbiter_core::Impact;

/// One entry of the action catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub impact: Impact,
    /// Whether the action can be fully undone (unblock, re-enable). Irreversible actions always
    /// go to an analyst: no confidence level makes an unrecoverable mistake acceptable.
    pub reversible: bool,
    /// Who is affected when it fires: "one host", "identity", "whole org".
    pub blast_radius: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A confidence floor and an impact ceiling for one tier.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub min_confidence: f64,
    pub max_impact: Impact,
}

/// The `auto` and `approve` bands; anything that fits neither goes to an analyst.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bands {
    #[serde(default = "Bands::default_auto")]
    pub auto: Band,
    #[serde(default = "Bands::default_approve")]
    pub approve: Band,
}

impl Bands {
    fn default_auto() -> Band {
        Band {
            min_confidence: 0.90,
            max_impact: Impact::Low,
        }
    }
    fn default_approve() -> Band {
        Band {
            min_confidence: 0.60,
            max_impact: Impact::High,
        }
    }
}

impl Default for Bands {
    fn default() -> Self {
        Bands {
            auto: Bands::default_auto(),
            approve: Bands::default_approve(),
        }
    }
}

/// Uncertainty flags that take the decision away from the model. A flag listed in neither
/// list still blocks `auto`: automation requires a clean bill of health. `epistemic` and
/// `aleatoric` route on the two kinds of uncertainty by their measured values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uncertain {
    #[serde(default = "Uncertain::default_analyst")]
    pub analyst: Vec<Flag>,
    #[serde(default)]
    pub abstain: Vec<Flag>,
    /// The verdicts on which a flag under `abstain` takes the decision away. On any other
    /// verdict the flag sends the alert to an analyst with the recommendation shown: a novel
    /// alert the model calls malicious is worth escalating with its reading, while a novel
    /// alert it calls benign is where its reading is least trustworthy. Both by default.
    #[serde(default = "Uncertain::both_verdicts")]
    pub abstain_verdicts: Vec<Verdict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epistemic: Option<EpistemicRoute>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aleatoric: Option<AleatoricRoute>,
}

/// Where an alert goes when the model does not know enough: its members disagree by at least
/// `min_disagreement` bits, or it lies at least `min_distance` from training (the OOD score).
/// Either trigger suffices; at least one must be set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpistemicRoute {
    /// `approve`, `analyst` or `abstain`; never `auto`.
    pub tier: Tier,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_disagreement: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_distance: Option<f64>,
}

/// Where an alert goes when cases like it are genuinely mixed: the calibrated probability's
/// entropy is at least `min_entropy` bits, or (with `both_verdicts: true`) its conformal set
/// holds both verdicts. Either trigger suffices; at least one must be set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AleatoricRoute {
    /// `approve`, `analyst` or `abstain`; never `auto`.
    pub tier: Tier,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_entropy: Option<f64>,
    #[serde(default)]
    pub both_verdicts: bool,
}

impl Uncertain {
    fn both_verdicts() -> Vec<Verdict> {
        vec![Verdict::Benign, Verdict::Malicious]
    }

    fn default_analyst() -> Vec<Flag> {
        vec![
            Flag::OutOfDistribution,
            Flag::MissingTelemetry,
            Flag::ConflictingSignals,
            Flag::UnstableExplanation,
            Flag::LowConfidence,
        ]
    }
}

impl Default for Uncertain {
    fn default() -> Self {
        Uncertain {
            analyst: Uncertain::default_analyst(),
            abstain: Vec::new(),
            abstain_verdicts: Uncertain::both_verdicts(),
            epistemic: None,
            aleatoric: None,
        }
    }
}

/// Which row of the bundle's risk-control table certifies benign auto-closes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoClose {
    pub alpha: f64,
}

impl Default for AutoClose {
    fn default() -> Self {
        AutoClose { alpha: 0.01 }
    }
}

/// An override reason an analyst can pick when disagreeing with the recommendation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonCode {
    pub code: String,
    pub label: String,
}

fn default_reason_codes() -> Vec<ReasonCode> {
    [
        ("expected_activity", "Expected activity"),
        ("known_application", "Known application behaviour"),
        ("authorised_user", "Authorised user"),
        ("change_window", "Inside a change window"),
        ("rule_too_sensitive", "Detection too sensitive"),
        ("model_wrong", "Model verdict wrong"),
        ("missing_context", "Missing context"),
        ("true_positive_confirmed", "True positive confirmed"),
        ("duplicate", "Duplicate of an open case"),
    ]
    .into_iter()
    .map(|(code, label)| ReasonCode {
        code: code.to_string(),
        label: label.to_string(),
    })
    .collect()
}

/// Circuit-breaker thresholds over the last `window` scoring outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Share of errors and timeouts in the window above which the breaker opens.
    pub max_error_rate: f64,
    /// p95 latency of successful scores above which the breaker opens.
    pub max_latency_ms: u64,
    /// Number of most recent outcomes considered.
    pub window: usize,
    /// Seconds the breaker stays open before letting one trial call through (half-open).
    pub cooldown_s: u64,
    /// Outcomes needed before the rates mean anything; avoids opening on the first error.
    pub min_samples: usize,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            max_error_rate: 0.2,
            max_latency_ms: 500,
            window: 50,
            cooldown_s: 60,
            min_samples: 10,
        }
    }
}

/// Which alerts count as "the same" and for how long they collapse into one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FloodConfig {
    pub window_s: u64,
    /// Fields read from the package: `category`, `label`, or the name of an `ids` entry.
    pub key: Vec<String>,
}

impl Default for FloodConfig {
    fn default() -> Self {
        FloodConfig {
            window_s: 300,
            key: vec!["category".to_string(), "host".to_string()],
        }
    }
}

/// A parsed and validated policy. Only [`Policy::from_yaml`] and [`Policy::load`] build one,
/// so every `Policy` in the program has passed validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub(crate) version: u64,
    pub(crate) actions: BTreeMap<String, Action>,
    pub(crate) close_action: String,
    pub(crate) categories: BTreeMap<String, String>,
    pub(crate) default_action: String,
    #[serde(default)]
    pub(crate) bands: Bands,
    #[serde(default)]
    pub(crate) assets: BTreeMap<String, Impact>,
    #[serde(default)]
    pub(crate) uncertain: Uncertain,
    #[serde(default)]
    pub(crate) auto_close: AutoClose,
    #[serde(default)]
    pub(crate) rate_limits: BTreeMap<String, crate::guard::Rate>,
    #[serde(default = "default_reason_codes")]
    pub(crate) reason_codes: Vec<ReasonCode>,
    #[serde(default)]
    pub(crate) breaker: BreakerConfig,
    #[serde(default)]
    pub(crate) flood: FloodConfig,
    #[serde(default)]
    pub(crate) teaching: Teaching,
    #[serde(default)]
    pub(crate) tests: Vec<TestCase>,
    #[serde(skip)]
    pub(crate) file: String,
}

/// What the teaching set's poisoning screen treats specially.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Teaching {
    /// Families on which a malicious → benign label the model disagrees with counts only once a
    /// second, different person agrees (an insider teaching the model to close them is the
    /// costliest poisoning).
    #[serde(default)]
    pub high_impact: Vec<String>,
}

impl Policy {
    /// Reads and validates a policy file; errors name the file by the path given.
    pub fn load(path: impl AsRef<Path>) -> Result<Policy, PolicyError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Policy::from_yaml(&text, &path.display().to_string())
    }

    /// Parses and validates policy text; `file_name` is only used in error messages.
    pub fn from_yaml(text: &str, file_name: &str) -> Result<Policy, PolicyError> {
        let syntax = |e: serde_yaml_ng::Error| syntax_error(e, file_name);
        // The version is checked before the structure so a file written for a newer format is
        // reported as such rather than as a list of unknown keys.
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(syntax)?;
        let at = Location {
            file: file_name.to_string(),
            line: locate(text, &["version"]),
        };
        match value.get("version") {
            Some(v) if v.as_u64() == Some(POLICY_VERSION) => {}
            Some(v) => {
                let version = serde_yaml_ng::to_string(v)
                    .map(|s| s.trim().to_string())
                    .unwrap_or_else(|_| "?".to_string());
                return Err(PolicyError::Version { at, version });
            }
            None => {
                return Err(PolicyError::Invalid {
                    at,
                    key: "version".to_string(),
                    message: "missing; this build reads policy version 1".to_string(),
                });
            }
        }
        let mut policy: Policy = serde_yaml_ng::from_str(text).map_err(syntax)?;
        policy.file = file_name.to_string();
        validate(&policy, text)?;
        Ok(policy)
    }

    pub fn version(&self) -> u64 {
        self.version
    }
    /// The file name the policy was read from.
    pub fn file(&self) -> &str {
        &self.file
    }
    pub fn actions(&self) -> &BTreeMap<String, Action> {
        &self.actions
    }
    pub fn action(&self, name: &str) -> Option<&Action> {
        self.actions.get(name)
    }
    pub fn close_action(&self) -> &str {
        &self.close_action
    }
    pub fn categories(&self) -> &BTreeMap<String, String> {
        &self.categories
    }
    pub fn default_action(&self) -> &str {
        &self.default_action
    }
    /// The action recommended for a malicious verdict of this category (the default action
    /// for unknown or novel categories).
    pub fn action_for_category(&self, category: Option<&str>) -> &str {
        category
            .and_then(|c| self.categories.get(c))
            .map_or(self.default_action.as_str(), String::as_str)
    }
    pub fn bands(&self) -> &Bands {
        &self.bands
    }
    pub fn assets(&self) -> &BTreeMap<String, Impact> {
        &self.assets
    }
    pub fn uncertain(&self) -> &Uncertain {
        &self.uncertain
    }
    /// The α row of the bundle's risk-control table the caller must read the auto-close
    /// threshold from.
    pub fn auto_close_alpha(&self) -> f64 {
        self.auto_close.alpha
    }
    pub fn rate_limits(&self) -> &BTreeMap<String, crate::guard::Rate> {
        &self.rate_limits
    }
    /// Override reason codes offered to analysts.
    pub fn reason_codes(&self) -> &[ReasonCode] {
        &self.reason_codes
    }
    /// Families on which a benign flip needs a second reviewer before it can teach.
    pub fn high_impact_families(&self) -> &[String] {
        &self.teaching.high_impact
    }
    pub fn breaker(&self) -> &BreakerConfig {
        &self.breaker
    }
    pub fn flood(&self) -> &FloodConfig {
        &self.flood
    }
    pub fn tests(&self) -> &[TestCase] {
        &self.tests
    }
    /// Counts for `arbiter policy check`.
    pub fn summary(&self) -> crate::tests_runner::CheckSummary {
        crate::tests_runner::summary(self)
    }
}

/// Turns a serde_yaml_ng error into `file line N: message`, dropping its own `at line …` tail
/// so the location is stated once, in front, like every other policy error.
fn syntax_error(e: serde_yaml_ng::Error, file: &str) -> PolicyError {
    let full = e.to_string();
    let message = match full
        .rfind(" at line ")
        .or_else(|| full.rfind(" at position "))
    {
        Some(i) => full[..i].to_string(),
        None => full,
    };
    PolicyError::Syntax {
        at: Location {
            file: file.to_string(),
            line: e.location().map(|l| l.line()),
        },
        message,
    }
}
