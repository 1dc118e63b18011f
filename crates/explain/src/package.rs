//! Assembling the evidence package of each alert.

use arbiter_core::{
    Aleatoric, BENIGN, EVIDENCE_SCHEMA_VERSION, Epistemic, EvidencePackage, Falsification,
    FieldRole, FieldValue, Flag, NOVEL, Provenance, Score, Summary, Uncertainty, Verdict,
    VerdictSummary,
};
use arbiter_ingest::Record;
use arbiter_model::Model;
use arbiter_model::encode::FeatureCoding;
use arbiter_model::profile::FeatureProfile;
use rayon::prelude::*;

use crate::cases::{self, CaseStore};
use crate::counterfactual::{self, Query, Search};
use crate::drivers::{self, FeatureView, TOP_DRIVERS, prob, show};
use crate::error::ExplainError;
use crate::hypotheses::{self, Inputs};
use crate::shap::Explainer;

/// Below this stability, a mid-confidence verdict is flagged `unstable_explanation`.
pub const UNSTABLE_BELOW: f64 = 0.5;
/// "Mid-confidence": calibrated probability strictly inside this band.
pub const MID_CONFIDENCE: [f64; 2] = [0.1, 0.9];

/// The first identifier's value, else `file:line`.
pub fn alert_id(r: &Record, file: &str) -> String {
    match r.ids.first() {
        Some((_, v)) => v.clone(),
        None => {
            let name = std::path::Path::new(file)
                .file_name()
                .map_or(file.to_string(), |n| n.to_string_lossy().into_owned());
            format!("{name}:{}", r.line)
        }
    }
}

/// A model made ready to explain: its trees parsed and indexed.
pub struct Explaining {
    pub model: std::sync::Arc<Model>,
    members: Vec<Explainer>,
    head: Explainer,
    search: Search,
    cases: Option<CaseStore>,
    /// Per feature, the size of a "one unit" change: the benign 10–90 % width, or 1.
    scale: Vec<f64>,
}

/// Bytes of TreeSHAP contributions an [`Explaining`] keeps across calls by default, shared
/// among the members and the category head in proportion to their trees.
pub const MEMO_BYTES: usize = 48 << 20;

impl Explaining {
    /// The resolved past alerts similar cases come from, when there are any.
    pub fn cases(&self) -> Option<&CaseStore> {
        self.cases.as_ref()
    }

    pub fn new(
        model: std::sync::Arc<Model>,
        cases: Option<CaseStore>,
    ) -> Result<Explaining, ExplainError> {
        Explaining::with_memo(model, cases, MEMO_BYTES)
    }

    /// As [`Explaining::new`], keeping at most `memo_bytes` of TreeSHAP contributions across
    /// calls (0: none; every call computes afresh). Packages are the same either way.
    pub fn with_memo(
        model: std::sync::Arc<Model>,
        cases: Option<CaseStore>,
        memo_bytes: usize,
    ) -> Result<Explaining, ExplainError> {
        let forests = model.members();
        let search = Search::new(forests, &model.encoder.categorical());
        let trees: usize =
            forests.iter().map(|f| f.trees.len()).sum::<usize>() + model.head().trees.len();
        let explainer = |forest: &arbiter_model::forest::Forest| {
            let share = memo_bytes as f64 * forest.trees.len() as f64 / trees.max(1) as f64;
            if memo_bytes == 0 {
                Explainer::new(forest.clone())
            } else {
                Explainer::with_memo(forest.clone(), share as usize)
            }
        };
        let members = forests.iter().map(explainer).collect();
        let head = explainer(model.head());
        let scale = (0..model.encoder.width())
            .map(|j| match model.spec.profile.get(j) {
                Some(FeatureProfile::Numeric {
                    benign_p10: Some(lo),
                    benign_p90: Some(hi),
                    ..
                }) if hi > lo => hi - lo,
                _ => 1.0,
            })
            .collect();
        Ok(Explaining {
            model,
            members,
            head,
            search,
            cases,
            scale,
        })
    }

    /// Bytes of TreeSHAP contributions kept across calls so far.
    pub fn memo_bytes(&self) -> usize {
        self.members
            .iter()
            .map(Explainer::memo_bytes)
            .sum::<usize>()
            + self.head.memo_bytes()
    }

    /// Scores and explains records read from `file`.
    pub fn explain(
        &self,
        records: &[Record],
        file: &str,
    ) -> Result<Vec<EvidencePackage>, ExplainError> {
        let scores = self
            .model
            .score(records, file, self.model.spec.flags.alpha)?;
        let (x, _) = self.model.encoder.encode_all(records);
        let w = self.model.encoder.width();
        // TreeSHAP for the whole batch at once: rows that share a tree's decisions share its
        // contributions.
        let members: Vec<Vec<f64>> = self
            .members
            .iter()
            .map(|e| e.contributions_batch(&x))
            .collect();
        let head = self.head.contributions_batch(&x);
        let member_stride = self.members.first().map_or(0, |e| e.width());
        let head_stride = self.head.width() * self.head.forest.num_class;
        Ok(records
            .par_iter()
            .zip(scores.par_iter())
            .zip(x.par_chunks(w))
            .enumerate()
            .map(|(i, ((r, s), row))| {
                let member_phi = members
                    .iter()
                    .map(|m| m[i * member_stride..i * member_stride + w].to_vec())
                    .collect();
                let head_phi = &head[i * head_stride..(i + 1) * head_stride];
                self.package(r, s, row, (member_phi, head_phi), file)
            })
            .collect())
    }

    fn features<'a>(&'a self, r: &Record) -> Vec<FeatureView<'a>> {
        let schema = &self.model.schema;
        self.model
            .encoder
            .spec
            .names
            .iter()
            .enumerate()
            .map(|(j, name)| FeatureView {
                name,
                about: schema.field(name).map_or("", |f| f.about.as_str()),
                value: drivers::field_value(&r.features[j]),
                profile: self.model.spec.profile.get(j),
            })
            .collect()
    }

    /// One package; `phi` holds each member's contributions (features only) and the category
    /// head's (per class, features then bias).
    fn package(
        &self,
        r: &Record,
        s: &Score,
        row: &[f64],
        phi: (Vec<Vec<f64>>, &[f64]),
        file: &str,
    ) -> EvidencePackage {
        let model = &*self.model;
        let n = model.encoder.width();
        let features = self.features(r);
        let (member_phi, head_phi) = phi;
        let p = s.p_malicious.get();
        let label = s.verdict();
        let attack = s
            .categories
            .iter()
            .filter(|(c, _)| *c != BENIGN)
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(a.0)));
        let drivers = drivers::drivers(
            &features,
            &member_phi,
            attack.map(|a| a.0.as_str()),
            TOP_DRIVERS,
        );
        let stability = drivers::stability(&member_phi, n, TOP_DRIVERS);
        let mut flags = s.flags.clone();
        if stability < UNSTABLE_BELOW && p > MID_CONFIDENCE[0] && p < MID_CONFIDENCE[1] {
            flags.push(Flag::UnstableExplanation);
        }
        let hypotheses = hypotheses::hypotheses(&Inputs {
            classes: &model.spec.category_head.classes,
            probs: &s.categories,
            head_phi,
            features: &features,
            ood_score: s.ood_score,
            ood_level: model.spec.flags.ood_quantile,
            unseen: &s.unseen_values,
        });
        // Vary the drivers that push toward the verdict, strongest first.
        let toward: Vec<usize> = drivers
            .iter()
            .filter(|d| d.toward == label)
            .filter_map(|d| {
                model
                    .encoder
                    .spec
                    .names
                    .iter()
                    .position(|nm| *nm == d.field)
            })
            .collect();
        let category = |f: usize, v: f64| -> FieldValue {
            match &model.encoder.spec.codings[f] {
                FeatureCoding::Categorical { values } => values
                    .get(v as usize)
                    .map_or(FieldValue::Text(format!("(unseen code {v})")), |s| {
                        FieldValue::Text(s.clone())
                    }),
                FeatureCoding::Numeric => FieldValue::Number(v),
            }
        };
        let calibrate = |m: f64| model.spec.calibration.chosen.apply(m);
        let counterfactual = counterfactual::search(
            &self.search,
            &Query {
                x: row,
                features: &toward,
                names: &model.encoder.spec.names,
                scale: &self.scale,
                category: &category,
                calibrate: &calibrate,
                p,
            },
        );
        let falsify = self.falsification(&drivers, &counterfactual, label);
        let similar_cases = match &self.cases {
            Some(store) => store.similar(model, row),
            None => cases::none(),
        };
        let (category_name, category_p) =
            attack.map_or((None, 0.0), |(c, v)| (Some(c.clone()), *v));
        let summary = Summary {
            why: why(
                label,
                p,
                &category_name,
                category_p,
                &hypotheses,
                &drivers,
                &flags,
            ),
            check_next: falsify.check.clone(),
        };
        EvidencePackage {
            schema_version: EVIDENCE_SCHEMA_VERSION.into(),
            alert_id: alert_id(r, file),
            source: s.source.clone(),
            ids: s.ids.clone(),
            time: s.time.clone(),
            verdict: VerdictSummary {
                label,
                p_malicious: p,
                interval: s.interval,
                conformal_set: s.conformal_set.clone(),
                alpha: s.alpha,
                category: category_name,
                category_p,
            },
            uncertainty: Uncertainty {
                flags,
                ood_score: s.ood_score,
                member_spread: s.member_spread,
                stability,
                epistemic: Epistemic::from_parts(
                    s.member_disagreement,
                    s.ood_score,
                    s.flags.contains(&Flag::OutOfDistribution),
                ),
                aleatoric: Aleatoric::assess(p, s.conformal_set.len() == 2),
            },
            summary,
            drivers,
            hypotheses,
            counterfactual,
            falsify,
            similar_cases,
            provenance: self.provenance(s),
            observed_label: s.observed_label.clone(),
        }
    }

    fn falsification(
        &self,
        drivers: &[arbiter_core::Driver],
        cf: &arbiter_core::Counterfactual,
        label: Verdict,
    ) -> Falsification {
        let schema = &self.model.schema;
        let (field, because) = if let Some(c) = cf.changes.first() {
            (
                c.field.clone(),
                format!(
                    "the smallest change that flips the verdict is to {}",
                    c.field
                ),
            )
        } else if let Some(d) = drivers.iter().find(|d| d.toward == label) {
            (
                d.field.clone(),
                format!(
                    "{} = {} pushes hardest toward the verdict, and no small change flips it",
                    d.field,
                    show(&d.value)
                ),
            )
        } else {
            return Falsification {
                field: None,
                check: "no single field drives this verdict; review the raw event".into(),
                because: "no driver points toward the verdict".into(),
            };
        };
        let text = schema.field(&field).map_or("", |f| f.falsify.as_str());
        let check = if text.is_empty() {
            format!("verify {field} in the source telemetry (the schema gives no check for it)")
        } else {
            text.to_string()
        };
        Falsification {
            field: Some(field),
            check,
            because,
        }
    }

    fn provenance(&self, s: &Score) -> Provenance {
        let model = &*self.model;
        let expected = model.encoder.width();
        Provenance {
            bundle: model.id.clone(),
            schema: model.schema.id(),
            calibration: model.spec.calibration.chosen.name().to_string(),
            features_expected: expected,
            features_present: expected - s.missing_fields.len(),
            missing: s.missing_fields.clone(),
            unseen_values: s.unseen_values.clone(),
            not_model_inputs: model
                .schema
                .fields
                .iter()
                .filter(|f| {
                    !f.role.is_feature()
                        && f.role != FieldRole::Label
                        && f.role != FieldRole::Category
                })
                .map(|f| f.name.clone())
                .collect(),
            window: s.time.clone().map(|t| [t.clone(), t]),
            method: "exact path-dependent TreeSHAP over each ensemble member (mean shown), \
                     per-class TreeSHAP of the category head for hypotheses"
                .into(),
        }
    }
}

fn why(
    label: Verdict,
    p: f64,
    category: &Option<String>,
    category_p: f64,
    hypotheses: &[arbiter_core::Hypothesis],
    drivers: &[arbiter_core::Driver],
    flags: &[Flag],
) -> String {
    let mut s = String::new();
    if !flags.is_empty() {
        let names: Vec<&str> = flags.iter().map(|f| f.as_str()).collect();
        s.push_str(&format!("UNCERTAIN ({}) — ", names.join(", ")));
    }
    match (label, category) {
        (Verdict::Malicious, Some(c)) => s.push_str(&format!(
            "malicious, p {}, most likely {c} ({})",
            prob(p),
            prob(category_p)
        )),
        (Verdict::Malicious, None) => s.push_str(&format!("malicious, p {}", prob(p))),
        (Verdict::Benign, _) => s.push_str(&format!("benign, p(malicious) {}", prob(p))),
    }
    if let [first, second, ..] = hypotheses {
        if first.name == NOVEL {
            s.push_str(&format!(
                "; unlike anything seen in training (novel {})",
                prob(first.p)
            ));
        } else if second.p >= 0.5 * first.p && second.p > 0.05 {
            s.push_str(&format!(
                "; close call: {} {} vs {} {}",
                first.name,
                prob(first.p),
                second.name,
                prob(second.p)
            ));
        }
    }
    let main: Vec<String> = drivers
        .iter()
        .filter(|d| d.toward == label)
        .take(2)
        .map(|d| format!("{} = {}", d.field, show(&d.value)))
        .collect();
    if !main.is_empty() {
        s.push_str(&format!("; mainly {}", main.join(" and ")));
    }
    s
}
