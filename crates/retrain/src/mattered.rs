//! "The feature that should have mattered", aggregated per feature and family, with the
//! champion's and the candidate's exact TreeSHAP attributions on those alerts.
//!
//! Analysts name the feature; nothing in training reads it (the candidate learns only from
//! the label and its weight), so this report is how a reviewer sees whether retraining moved
//! the model toward what the analysts pointed at: the feature's share of the attribution and
//! its rank among all features, before and after.

use std::collections::BTreeMap;

use arbiter_explain::Explainer;
use arbiter_learn::Lesson;
use arbiter_model::Model;
use serde::{Deserialize, Serialize};

/// One model's attribution to a feature, averaged over a group of alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    /// Mean share of the feature in the alert's total |contribution| (ensemble mean, margin).
    pub share: f64,
    /// Mean rank of the feature by |contribution| (1 = the largest).
    pub rank: f64,
}

/// Examples that named one feature, for one family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mattered {
    pub feature: String,
    /// The corrected label's family.
    pub family: String,
    pub examples: usize,
    /// `None` when the model does not read a feature of that name.
    pub champion: Option<Attribution>,
    pub candidate: Option<Attribution>,
}

struct Attributor<'a> {
    model: &'a Model,
    members: Vec<Explainer>,
}

impl<'a> Attributor<'a> {
    fn new(model: &'a Model) -> Self {
        Attributor {
            model,
            members: model
                .members()
                .iter()
                .map(|f| Explainer::new(f.clone()))
                .collect(),
        }
    }

    /// |contribution| per feature of one lesson's record, averaged over the members.
    fn magnitudes(&self, l: &Lesson) -> Vec<f64> {
        let (x, _) = self
            .model
            .encoder
            .encode_all(std::slice::from_ref(&l.record));
        let width = self.model.encoder.width();
        let mut sum = vec![0.0; width];
        for e in &self.members {
            let phi = e.contributions(&x);
            for (s, p) in sum.iter_mut().zip(&phi[..width]) {
                *s += p;
            }
        }
        let n = self.members.len().max(1) as f64;
        sum.iter().map(|s| (s / n).abs()).collect()
    }

    fn of(&self, feature: &str, group: &[&Lesson]) -> Option<Attribution> {
        let j = self
            .model
            .encoder
            .spec
            .names
            .iter()
            .position(|n| n == feature)?;
        let (mut share, mut rank) = (0.0, 0.0);
        for l in group {
            let m = self.magnitudes(l);
            let total: f64 = m.iter().sum();
            share += if total > 0.0 { m[j] / total } else { 0.0 };
            rank += 1.0 + m.iter().filter(|v| **v > m[j]).count() as f64;
        }
        let n = group.len().max(1) as f64;
        Some(Attribution {
            share: share / n,
            rank: rank / n,
        })
    }
}

/// Groups the lessons that name a feature by (feature, family) and attributes each group.
pub(crate) fn aggregate(
    champion: &Model,
    candidate: &Model,
    taught: &[&Lesson],
    feature_of: &dyn Fn(&Lesson) -> Option<String>,
) -> Vec<Mattered> {
    let mut groups: BTreeMap<(String, String), Vec<&Lesson>> = BTreeMap::new();
    for l in taught {
        if let Some(f) = feature_of(l) {
            groups
                .entry((f, l.label.as_str().to_string()))
                .or_default()
                .push(l);
        }
    }
    if groups.is_empty() {
        return Vec::new();
    }
    let (a, b) = (Attributor::new(champion), Attributor::new(candidate));
    groups
        .into_iter()
        .map(|((feature, family), group)| Mattered {
            champion: a.of(&feature, &group),
            candidate: b.of(&feature, &group),
            examples: group.len(),
            feature,
            family,
        })
        .collect()
}
