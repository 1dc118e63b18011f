//! Quality on the risk-control split, the part of the training data no fitting step saw.

use std::collections::BTreeMap;

use arbiter_core::Flag;
use arbiter_core::stats::{brier, ece, log_loss, roc_auc};

use arbiter_model::RowView;
use arbiter_model::spec::{ECE_BINS, HoldoutMetrics};

use crate::train::covers;

pub(crate) fn empty() -> HoldoutMetrics {
    HoldoutMetrics {
        rows: 0,
        auc: None,
        ece: 0.0,
        brier: 0.0,
        log_loss: 0.0,
        alpha: 0.0,
        coverage_benign: 0.0,
        coverage_malicious: 0.0,
        flag_rates: BTreeMap::new(),
    }
}

pub(crate) fn measure(views: &[RowView], malicious: &[bool], alpha: f64) -> HoldoutMetrics {
    let p: Vec<f64> = views.iter().map(|v| v.p).collect();
    let coverage = |class: bool| {
        let rows: Vec<&RowView> = views
            .iter()
            .zip(malicious)
            .filter(|(_, m)| **m == class)
            .map(|(v, _)| v)
            .collect();
        let hit = rows
            .iter()
            .filter(|v| covers(&v.conformal_set, class))
            .count();
        hit as f64 / rows.len().max(1) as f64
    };
    let n = views.len().max(1) as f64;
    HoldoutMetrics {
        rows: views.len() as u64,
        auc: roc_auc(&p, malicious),
        ece: ece(&p, malicious, ECE_BINS),
        brier: brier(&p, malicious),
        log_loss: log_loss(&p, malicious),
        alpha,
        coverage_benign: coverage(false),
        coverage_malicious: coverage(true),
        flag_rates: Flag::ALL
            .iter()
            .map(|f| {
                let k = views.iter().filter(|v| v.flags.contains(f)).count();
                (f.as_str().to_string(), k as f64 / n)
            })
            .collect(),
    }
}
