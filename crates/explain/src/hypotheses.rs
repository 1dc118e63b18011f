//! Competing hypotheses: benign, each attack family the model knows, and "novel" (none of
//! them, driven by the OOD score), each with the evidence for and against it.

use std::collections::BTreeMap;

use arbiter_core::{BENIGN, Evidence, FieldValue, Hypothesis, NOVEL};
use arbiter_model::profile::FeatureProfile;

use crate::drivers::{FeatureView, number, show, typical};

/// Evidence items per side of a hypothesis.
pub const EVIDENCE_ITEMS: usize = 3;

/// Hypotheses listed besides `benign` and `novel`.
pub const ATTACK_HYPOTHESES: usize = 3;

fn item(f: &FeatureView<'_>, contribution: f64) -> Evidence {
    let mut text = format!("{} = {}", f.name, show(&f.value));
    if let Some(t) = typical(f.profile) {
        text.push_str(&format!(" ({t})"));
    }
    Evidence {
        field: f.name.to_string(),
        value: f.value.clone(),
        contribution,
        text,
    }
}

/// For and against from one class's contributions.
fn sides(features: &[FeatureView<'_>], phi: &[f64]) -> (Vec<Evidence>, Vec<Evidence>) {
    let mut idx: Vec<usize> = (0..features.len()).filter(|&j| phi[j] != 0.0).collect();
    idx.sort_by(|&a, &b| phi[b].total_cmp(&phi[a]).then(a.cmp(&b)));
    let pro = idx
        .iter()
        .filter(|&&j| phi[j] > 0.0)
        .take(EVIDENCE_ITEMS)
        .map(|&j| item(&features[j], phi[j]))
        .collect();
    let con = idx
        .iter()
        .rev()
        .filter(|&&j| phi[j] < 0.0)
        .take(EVIDENCE_ITEMS)
        .map(|&j| item(&features[j], phi[j]))
        .collect();
    (pro, con)
}

/// How far outside the benign 10–90 % band a numeric value lies, in band widths.
fn outside_benign(f: &FeatureView<'_>) -> Option<(f64, String)> {
    let (
        FieldValue::Number(x),
        Some(FeatureProfile::Numeric {
            benign_p10: Some(lo),
            benign_p90: Some(hi),
            ..
        }),
    ) = (&f.value, f.profile)
    else {
        return None;
    };
    let width = (hi - lo).abs().max(1e-9);
    if x > hi {
        Some((
            (x - hi) / width,
            format!(
                "{} = {} is above the benign 90th percentile {}",
                f.name,
                number(*x),
                number(*hi)
            ),
        ))
    } else if x < lo {
        Some((
            (lo - x) / width,
            format!(
                "{} = {} is below the benign 10th percentile {}",
                f.name,
                number(*x),
                number(*lo)
            ),
        ))
    } else {
        None
    }
}

/// Everything the hypotheses are built from.
pub struct Inputs<'a> {
    pub classes: &'a [String],
    /// Probability per class, consistent with `p_malicious` (benign = 1 − p).
    pub probs: &'a BTreeMap<String, f64>,
    /// The category head's contributions: per class, one value per feature then the bias.
    pub head_phi: &'a [f64],
    pub features: &'a [FeatureView<'a>],
    pub ood_score: f64,
    /// The OOD flag level.
    pub ood_level: f64,
    /// `field=value` pairs never seen in training.
    pub unseen: &'a [String],
}

/// The weight of "novel": 0 up to the flag level, rising to 1 for rows beyond everything seen.
pub fn novel_weight(ood_score: f64, level: f64) -> f64 {
    if level >= 1.0 {
        return 0.0;
    }
    ((ood_score - level) / (1.0 - level)).clamp(0.0, 1.0)
}

pub fn hypotheses(inp: &Inputs<'_>) -> Vec<Hypothesis> {
    let width = inp.features.len() + 1;
    let novel = if inp.unseen.is_empty() {
        novel_weight(inp.ood_score, inp.ood_level)
    } else {
        novel_weight(inp.ood_score, inp.ood_level).max(0.5)
    };
    let mut out: Vec<Hypothesis> = inp
        .classes
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let phi = &inp.head_phi[c * width..(c + 1) * width - 1];
            let (evidence_for, against) = sides(inp.features, phi);
            Hypothesis {
                name: name.clone(),
                p: inp.probs.get(name).copied().unwrap_or(0.0) * (1.0 - novel),
                evidence_for,
                against,
            }
        })
        .collect();
    out.sort_by(|a, b| b.p.total_cmp(&a.p).then(a.name.cmp(&b.name)));
    let benign = out.iter().position(|h| h.name == BENIGN);
    let mut kept: Vec<Hypothesis> = Vec::new();
    for (i, h) in out.into_iter().enumerate() {
        let attacks_kept = kept.iter().filter(|k| k.name != BENIGN).count();
        if Some(i) == benign || attacks_kept < ATTACK_HYPOTHESES {
            kept.push(h);
        }
    }
    let mut outliers: Vec<(f64, String)> = inp.features.iter().filter_map(outside_benign).collect();
    outliers.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut novel_for: Vec<Evidence> = Vec::new();
    if novel > 0.0 {
        novel_for.push(Evidence {
            field: "ood_score".into(),
            value: FieldValue::Number(inp.ood_score),
            contribution: 0.0,
            text: format!(
                "farther from known rows of its verdict than {:.0} % of calibration rows",
                100.0 * inp.ood_score
            ),
        });
    }
    novel_for.extend(inp.unseen.iter().map(|u| Evidence {
        field: u.split('=').next().unwrap_or(u).to_string(),
        value: FieldValue::Text(u.split_once('=').map_or(u.as_str(), |x| x.1).to_string()),
        contribution: 0.0,
        text: format!("{u} was never seen in training"),
    }));
    novel_for.extend(
        outliers
            .into_iter()
            .take((EVIDENCE_ITEMS + 1).saturating_sub(novel_for.len()))
            .map(|(_, text)| Evidence {
                field: text.split(" = ").next().unwrap_or("").to_string(),
                value: FieldValue::Missing,
                contribution: 0.0,
                text,
            }),
    );
    let against = if novel == 0.0 {
        vec![Evidence {
            field: "ood_score".into(),
            value: FieldValue::Number(inp.ood_score),
            contribution: 0.0,
            text: format!(
                "its distance to known rows of its verdict is typical (OOD score {:.2}, flag level {})",
                inp.ood_score, inp.ood_level
            ),
        }]
    } else {
        Vec::new()
    };
    kept.push(Hypothesis {
        name: NOVEL.into(),
        p: novel,
        evidence_for: novel_for,
        against,
    });
    kept.sort_by(|a, b| b.p.total_cmp(&a.p).then(a.name.cmp(&b.name)));
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn novel_weighs_nothing_up_to_the_flag_level_and_everything_beyond_all_seen() {
        assert_eq!(novel_weight(0.5, 0.65), 0.0);
        assert!((novel_weight(0.825, 0.65) - 0.5).abs() < 1e-12);
        assert_eq!(novel_weight(1.0, 0.65), 1.0);
    }

    #[test]
    fn benign_and_novel_are_always_listed_and_probabilities_sum_to_one() {
        let classes: Vec<String> = ["benign", "dos", "probe", "r2l", "u2r"]
            .map(String::from)
            .to_vec();
        let probs: BTreeMap<String, f64> = [
            ("benign", 0.01),
            ("dos", 0.9),
            ("probe", 0.05),
            ("r2l", 0.03),
            ("u2r", 0.01),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let features = vec![FeatureView {
            name: "count",
            about: "",
            value: FieldValue::Number(511.0),
            profile: None,
        }];
        let head_phi = vec![-1.0, 0.0, 2.0, 0.0, -0.5, 0.0, 0.1, 0.0, 0.0, 0.0];
        let h = hypotheses(&Inputs {
            classes: &classes,
            probs: &probs,
            head_phi: &head_phi,
            features: &features,
            ood_score: 0.85,
            ood_level: 0.8,
            unseen: &[],
        });
        let names: Vec<&str> = h.iter().map(|x| x.name.as_str()).collect();
        assert!(
            names.contains(&"benign") && names.contains(&"novel"),
            "{names:?}"
        );
        assert_eq!(h.len(), 5, "benign, three attack families, novel");
        assert_eq!(h[0].name, "dos");
        assert_eq!(h[0].evidence_for[0].field, "count");
        let benign = h.iter().find(|x| x.name == "benign").unwrap();
        assert_eq!(benign.against[0].field, "count");
        let total: f64 =
            h.iter().map(|x| x.p).sum::<f64>() + probs["u2r"] * (1.0 - novel_weight(0.85, 0.8));
        assert!((total - 1.0).abs() < 1e-9, "{total}");
    }
}
