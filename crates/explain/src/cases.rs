//! Similar past cases: the nearest resolved alerts, in the OOD detector's feature space.

use arbiter_core::{BENIGN, RowSource, SimilarCase, SimilarCases};
use arbiter_ingest::Record;
use arbiter_model::Model;
use arbiter_model::knn::Index;
use arbiter_model::ood::Reference;

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

/// Resolved past alerts, indexed for nearest-neighbour search.
pub struct CaseStore {
    name: String,
    cases: Vec<Case>,
    reference: Reference,
    index: Index,
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
        }
    }

    pub fn len(&self) -> usize {
        self.cases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// The nearest cases to an encoded row.
    pub fn similar(&self, model: &Model, row: &[f64]) -> SimilarCases {
        let (num, codes) = model.detector.spec.scale(row);
        let cases = self
            .index
            .nearest(&self.reference, &num, &codes, CASES)
            .into_iter()
            .map(|(i, d)| {
                let c = &self.cases[i];
                SimilarCase {
                    alert_id: c.alert_id.clone(),
                    source: c.source.clone(),
                    resolution: c.resolution.clone(),
                    category: c.category.clone(),
                    distance: f64::from(d),
                }
            })
            .collect();
        SimilarCases {
            representation: REPRESENTATION.into(),
            store: Some(format!(
                "{} ({} resolved alerts)",
                self.name,
                self.cases.len()
            )),
            cases,
            note: None,
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
