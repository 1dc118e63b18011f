//! Similar past cases: the nearest resolved alerts, in the OOD detector's feature space.

use std::sync::RwLock;

use arbiter_core::{BENIGN, RowSource, SimilarCase, SimilarCases};
use arbiter_ingest::Record;
use arbiter_model::Model;
use arbiter_model::knn::Index;
use arbiter_model::ood::{CATEGORICAL_MISMATCH, Reference};

/// Cases listed per package.
pub const CASES: usize = 3;

/// How similarity is measured, stated in every package.
pub const REPRESENTATION: &str = "Euclidean distance over the model's features, numbers as \
signed log then z-scored on training rows (clipped at ±8), a categorical mismatch counting 1; \
the OOD detector's space";

struct Case {
    alert_id: String,
    source: RowSource,
    resolution: String,
    category: String,
}

/// Resolved past alerts, indexed for nearest-neighbour search, and those resolved since the
/// index was built, searched exactly by a scan (so the store grows as analysts resolve
/// alerts, without a rebuild on every decision).
pub struct CaseStore {
    name: String,
    cases: Vec<Case>,
    reference: Reference,
    index: Index,
    grown: RwLock<Grown>,
}

/// Cases added after the index was built.
#[derive(Default)]
struct Grown {
    cases: Vec<Case>,
    numeric: Vec<f32>,
    codes: Vec<u32>,
}

impl CaseStore {
    /// Builds a store from labelled records (their labels are the resolutions).
    pub fn new(model: &Model, name: &str, file: &str, records: &[Record]) -> CaseStore {
        let spec = &model.detector.spec;
        let (dn, dc) = (spec.numeric.len(), spec.categorical.len());
        let mut numeric = Vec::new();
        let mut codes = Vec::new();
        let mut cases = Vec::new();
        let mut row = Vec::with_capacity(model.encoder.width());
        for r in records.iter().filter(|r| r.label.is_some()) {
            row.clear();
            model.encoder.encode(r, &mut row);
            let (num, c) = spec.scale(&row);
            // Missing coordinates sit at the training mean, as in the OOD references.
            numeric.extend(num.into_iter().map(|v| if v.is_nan() { 0.0 } else { v }));
            codes.extend(c);
            cases.push(Case {
                alert_id: crate::package::alert_id(r, file),
                source: RowSource {
                    file: file.to_string(),
                    line: r.line,
                },
                resolution: r.label.clone().unwrap_or_default(),
                category: r.category.clone().unwrap_or_else(|| BENIGN.into()),
            });
        }
        let reference = Reference {
            rows: cases.len(),
            numeric,
            codes,
        };
        let index = Index::new(&reference, dn, dc);
        CaseStore {
            name: name.to_string(),
            cases,
            reference,
            index,
            grown: RwLock::new(Grown::default()),
        }
    }

    /// An empty store that grows as alerts are resolved.
    pub fn empty(model: &Model, name: &str) -> CaseStore {
        CaseStore::new(model, name, name, &[])
    }

    /// Adds one resolved alert: `record` holds its features as the model read them, `resolution`
    /// its label (benign or the attack family).
    pub fn add(
        &self,
        model: &Model,
        alert_id: &str,
        source: RowSource,
        resolution: &str,
        record: &Record,
    ) {
        let mut row = Vec::with_capacity(model.encoder.width());
        model.encoder.encode(record, &mut row);
        let (num, codes) = model.detector.spec.scale(&row);
        let mut g = self
            .grown
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        g.numeric
            .extend(num.into_iter().map(|v| if v.is_nan() { 0.0 } else { v }));
        g.codes.extend(codes);
        g.cases.push(Case {
            alert_id: alert_id.to_string(),
            source,
            resolution: resolution.to_string(),
            category: resolution.to_string(),
        });
    }

    /// Resolved alerts held, indexed and grown.
    pub fn len(&self) -> usize {
        self.cases.len() + self.grown.read().map_or(0, |g| g.cases.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The nearest cases to an encoded row, from the index and the cases grown since.
    pub fn similar(&self, model: &Model, row: &[f64]) -> SimilarCases {
        let (num, codes) = model.detector.spec.scale(row);
        let case = |c: &Case, d: f32| SimilarCase {
            alert_id: c.alert_id.clone(),
            source: c.source.clone(),
            resolution: c.resolution.clone(),
            category: c.category.clone(),
            distance: f64::from(d),
        };
        let mut found: Vec<SimilarCase> = if self.cases.is_empty() {
            Vec::new()
        } else {
            self.index
                .nearest(&self.reference, &num, &codes, CASES)
                .into_iter()
                .map(|(i, d)| case(&self.cases[i], d))
                .collect()
        };
        let g = self
            .grown
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (dn, dc) = (num.len(), codes.len());
        for (i, c) in g.cases.iter().enumerate() {
            let refn = &g.numeric[i * dn..(i + 1) * dn];
            let refc = &g.codes[i * dc..(i + 1) * dc];
            let mut d2: f32 = num
                .iter()
                .zip(refn)
                .filter(|(q, _)| !q.is_nan())
                .map(|(q, x)| (q - x) * (q - x))
                .sum();
            d2 += codes
                .iter()
                .zip(refc)
                .filter(|(a, b)| **a != u32::MAX && a != b)
                .count() as f32
                * CATEGORICAL_MISMATCH;
            found.push(case(c, d2.sqrt()));
        }
        // Nearest first; equal distances keep the older case first.
        found.sort_by(|a, b| a.distance.total_cmp(&b.distance));
        found.truncate(CASES);
        let held = self.cases.len() + g.cases.len();
        SimilarCases {
            representation: REPRESENTATION.into(),
            store: Some(format!("{} ({held} resolved alerts)", self.name)),
            note: found.is_empty().then(|| {
                "no alert has been resolved yet, so there is nothing to compare with".into()
            }),
            cases: found,
        }
    }
}

/// What a package says when there is no store of past alerts.
pub fn none() -> SimilarCases {
    SimilarCases {
        representation: REPRESENTATION.into(),
        store: None,
        cases: Vec::new(),
        note: Some(
            "no store of resolved past alerts was given (arbiter explain --cases FILE), so \
             there is nothing to compare with"
                .into(),
        ),
    }
}
