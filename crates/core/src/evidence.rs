//! The evidence package: one JSON document per alert, the contract between scoring and every
//! later stage (policy, store, console). Versioned by [`EVIDENCE_SCHEMA_VERSION`]; the JSON
//! Schema lives in `docs/schemas/evidence-package.schema.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::score::{Flag, RowSource, Verdict};
use crate::uncertainty::{Aleatoric, Epistemic};

/// Version of the package layout. A consumer must refuse a major version it does not know.
pub const EVIDENCE_SCHEMA_VERSION: &str = "1.1";

/// A feature value as the analyst sees it: a number, a symbol, or nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    Number(f64),
    Text(String),
    Missing,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidencePackage {
    pub schema_version: String,
    /// The first identifier field's value, else `file:line`.
    pub alert_id: String,
    pub source: RowSource,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ids: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    pub verdict: VerdictSummary,
    pub uncertainty: Uncertainty,
    /// The one-line "why" and the one-line "what to check next", for the top of the page.
    pub summary: Summary,
    pub drivers: Vec<Driver>,
    pub hypotheses: Vec<Hypothesis>,
    pub counterfactual: Counterfactual,
    pub falsify: Falsification,
    pub similar_cases: SimilarCases,
    pub provenance: Provenance,
    /// Ground truth when the data carried it (evaluation only; never a model input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictSummary {
    /// Verdict at p = 0.5.
    pub label: Verdict,
    pub p_malicious: f64,
    pub interval: [f64; 2],
    pub conformal_set: Vec<Verdict>,
    pub alpha: f64,
    /// The most probable attack family and its probability (share of `p_malicious`).
    pub category: Option<String>,
    pub category_p: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uncertainty {
    pub flags: Vec<Flag>,
    pub ood_score: f64,
    pub member_spread: f64,
    /// Agreement of the ensemble members on the top drivers: mean pairwise overlap of their
    /// top-5 feature sets (1 = identical).
    pub stability: f64,
    /// What the model does not know (member disagreement, distance from training). Since 1.1.
    #[serde(default)]
    pub epistemic: Epistemic,
    /// How much cases like this overlap between verdicts (entropy, conformal set). Since 1.1.
    #[serde(default)]
    pub aleatoric: Aleatoric,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub why: String,
    pub check_next: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Driver {
    pub field: String,
    pub value: FieldValue,
    /// What the value usually is, e.g. "benign median 230".
    pub typical: Option<String>,
    /// Exact SHAP value, in log-odds of the ensemble margin (mean over members).
    pub contribution: f64,
    /// Which verdict it pushes toward.
    pub toward: Verdict,
    /// Share of ensemble members whose contribution has the same sign.
    pub member_agreement: f64,
    /// One sentence for the analyst.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub field: String,
    pub value: FieldValue,
    /// Contribution to this hypothesis (log-odds of its class in the category head).
    pub contribution: f64,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hypothesis {
    /// `benign`, an attack family, or `novel`.
    pub name: String,
    /// Probability (for `novel`: a weight from the OOD score, not a calibrated probability).
    pub p: f64,
    #[serde(rename = "for")]
    pub evidence_for: Vec<Evidence>,
    pub against: Vec<Evidence>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub field: String,
    pub from: FieldValue,
    pub to: FieldValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counterfactual {
    /// Whether a change was found that flips the verdict.
    pub found: bool,
    pub changes: Vec<Change>,
    pub flips_to: Option<Verdict>,
    /// Calibrated probability after the change.
    pub p_after: Option<f64>,
    /// The finding in one sentence, or the plain statement that no small change flips it.
    pub statement: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Falsification {
    /// The field whose check is proposed.
    pub field: Option<String>,
    /// The check, from the schema's `falsify` text.
    pub check: String,
    /// Why this check and not another.
    pub because: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimilarCase {
    pub alert_id: String,
    pub source: RowSource,
    /// How the case was resolved (its label).
    pub resolution: String,
    pub category: String,
    pub distance: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimilarCases {
    /// How "similar" is measured.
    pub representation: String,
    /// Where past cases came from, when a store exists.
    pub store: Option<String>,
    pub cases: Vec<SimilarCase>,
    /// Said when there is nothing to compare with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    pub bundle: String,
    pub schema: String,
    pub calibration: String,
    pub features_expected: usize,
    pub features_present: usize,
    /// Features the model reads that this row lacked.
    pub missing: Vec<String>,
    /// Categorical values never seen in training.
    pub unseen_values: Vec<String>,
    /// Fields in the row the model does not read (identifiers, time, ignored fields).
    pub not_model_inputs: Vec<String>,
    /// Event time window of the row, when the schema declares a time.
    pub window: Option<[String; 2]>,
    /// How the drivers were computed.
    pub method: String,
}

impl EvidencePackage {
    /// A package that carries a verdict and nothing else: what a policy reads when it is
    /// tested or exercised without a model (policy `tests:`, property tests). Every
    /// explanation field is empty and says so.
    pub fn verdict_only(
        alert_id: &str,
        label: Verdict,
        p_malicious: f64,
        category: Option<&str>,
        flags: Vec<Flag>,
    ) -> EvidencePackage {
        let none = "not explained: a verdict-only package".to_string();
        let epistemic = Epistemic::from_parts(0.0, 0.0, flags.contains(&Flag::OutOfDistribution));
        EvidencePackage {
            schema_version: EVIDENCE_SCHEMA_VERSION.to_string(),
            alert_id: alert_id.to_string(),
            source: RowSource {
                file: alert_id.to_string(),
                line: 1,
            },
            ids: BTreeMap::new(),
            time: None,
            verdict: VerdictSummary {
                label,
                p_malicious,
                interval: [p_malicious, p_malicious],
                conformal_set: vec![label],
                alpha: 0.1,
                category: category.map(str::to_string),
                category_p: p_malicious,
            },
            uncertainty: Uncertainty {
                flags,
                ood_score: 0.0,
                member_spread: 0.0,
                stability: 1.0,
                epistemic,
                aleatoric: Aleatoric::assess(p_malicious, false),
            },
            summary: Summary {
                why: none.clone(),
                check_next: none.clone(),
            },
            drivers: Vec::new(),
            hypotheses: Vec::new(),
            counterfactual: Counterfactual {
                found: false,
                changes: Vec::new(),
                flips_to: None,
                p_after: None,
                statement: none.clone(),
            },
            falsify: Falsification {
                field: None,
                check: none.clone(),
                because: none.clone(),
            },
            similar_cases: SimilarCases {
                representation: none.clone(),
                store: None,
                cases: Vec::new(),
                note: Some(none.clone()),
            },
            provenance: Provenance {
                bundle: String::new(),
                schema: String::new(),
                calibration: String::new(),
                features_expected: 0,
                features_present: 0,
                missing: Vec::new(),
                unseen_values: Vec::new(),
                not_model_inputs: Vec::new(),
                window: None,
                method: none,
            },
            observed_label: None,
        }
    }
}
