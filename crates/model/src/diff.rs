//! What differs between two bundles, in the terms a reviewer of a promotion asks about:
//! lineage, training data and rows, categories, holdout quality, the certified auto-close
//! thresholds and the OOD flag level.

use serde::Serialize;

use crate::Model;

/// One compared property: its value in each bundle, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub what: String,
    pub a: String,
    pub b: String,
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "none".into(), |x| format!("{x:.digits$}"))
}

/// Every compared property whose text differs between `a` and `b`; with `all`, also the ones
/// that are the same.
pub fn diff(a: &Model, b: &Model, all: bool) -> Vec<Difference> {
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut row = |what: &str, f: &dyn Fn(&Model) -> String| {
        rows.push((what.to_string(), f(a), f(b)));
    };
    row("id", &|m| m.id.clone());
    row("parent", &|m| {
        m.parent.clone().unwrap_or_else(|| "none".into())
    });
    row("schema", &|m| m.spec.schema.clone());
    row("training data", &|m| {
        m.spec
            .training
            .data
            .iter()
            .map(|d| format!("{} ({} rows, sha256 {:.12})", d.name, d.rows, d.sha256))
            .collect::<Vec<_>>()
            .join(", ")
    });
    row("training rows", &|m| {
        m.spec.training.split_rows[0].to_string()
    });
    row("members × iterations", &|m| {
        format!(
            "{} × {}",
            m.spec.training.members, m.spec.training.iterations
        )
    });
    row("seed", &|m| m.spec.training.seed.to_string());
    row("categories", &|m| {
        m.spec
            .training
            .categories
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    });
    row("holdout AUC", &|m| opt(m.spec.holdout.auc, 4));
    row("holdout ECE", &|m| format!("{:.4}", m.spec.holdout.ece));
    row("holdout benign coverage", &|m| {
        format!("{:.3}", m.spec.holdout.coverage_benign)
    });
    row("declared base rate", &|m| opt(m.spec.risk.base_rate, 4));
    let alphas: Vec<f64> = {
        let mut v: Vec<f64> = a
            .spec
            .risk
            .table
            .iter()
            .chain(&b.spec.risk.table)
            .map(|r| r.alpha)
            .collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    };
    for alpha in alphas {
        row(&format!("auto-close threshold at α {alpha}"), &|m| match m
            .spec
            .risk
            .table
            .iter()
            .find(|r| r.alpha == alpha)
        {
            None => "not in the table".into(),
            Some(r) => match r.threshold {
                None => "not certified".into(),
                Some(t) => format!(
                    "p ≤ {t:.4} (benign coverage {:.3}, bound {:.4})",
                    r.benign_coverage, r.upper_bound
                ),
            },
        });
    }
    row("OOD flag level", &|m| {
        format!(
            "quantile {:.4} of calibration rows (k = {}, {} + {} reference rows)",
            m.spec.flags.ood_quantile,
            m.spec.ood.k,
            m.spec.ood.reference_rows[0],
            m.spec.ood.reference_rows[1]
        )
    });
    rows.into_iter()
        .filter(|(_, x, y)| all || x != y)
        .map(|(what, a, b)| Difference { what, a, b })
        .collect()
}
