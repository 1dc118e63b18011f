//! Label consistency with the nearest trusted rows: for an example, the share of malicious
//! rows among its `k` nearest neighbours in the OOD detector's space (numbers as signed log,
//! z-scored; a categorical mismatch counting 1), searched exactly.

use arbiter_ingest::Record;
use arbiter_model::Model;
use arbiter_model::knn::Index;
use arbiter_model::ood::Reference;
use rayon::prelude::*;

/// Trusted labelled rows, indexed.
pub struct Neighbours {
    malicious: Vec<bool>,
    reference: Reference,
    index: Index,
    k: usize,
}

impl std::fmt::Debug for Neighbours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Neighbours")
            .field("rows", &self.malicious.len())
            .field("k", &self.k)
            .finish()
    }
}

impl Neighbours {
    /// Indexes the labelled rows of `records` (unlabelled ones are skipped).
    pub fn new(model: &Model, records: &[&Record], k: usize) -> Neighbours {
        let spec = &model.detector.spec;
        let (dn, dc) = (spec.numeric.len(), spec.categorical.len());
        let mut numeric = Vec::new();
        let mut codes = Vec::new();
        let mut malicious = Vec::new();
        let mut row = Vec::with_capacity(model.encoder.width());
        for r in records {
            let Some(m) = r.is_malicious() else { continue };
            row.clear();
            model.encoder.encode(r, &mut row);
            let (num, c) = spec.scale(&row);
            numeric.extend(num.into_iter().map(|v| if v.is_nan() { 0.0 } else { v }));
            codes.extend(c);
            malicious.push(m);
        }
        let reference = Reference {
            rows: malicious.len(),
            numeric,
            codes,
        };
        let index = Index::new(&reference, dn, dc);
        Neighbours {
            malicious,
            reference,
            index,
            k: k.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.malicious.len()
    }

    pub fn is_empty(&self) -> bool {
        self.malicious.is_empty()
    }

    /// The share of malicious rows among each record's `k` nearest (`None` with no rows).
    pub fn malicious_share(&self, model: &Model, records: &[&Record]) -> Vec<Option<f64>> {
        if self.is_empty() {
            return vec![None; records.len()];
        }
        let spec = &model.detector.spec;
        records
            .par_iter()
            .map(|r| {
                let mut row = Vec::with_capacity(model.encoder.width());
                model.encoder.encode(r, &mut row);
                let (num, codes) = spec.scale(&row);
                let num: Vec<f32> = num
                    .into_iter()
                    .map(|v| if v.is_nan() { 0.0 } else { v })
                    .collect();
                let near = self.index.nearest(&self.reference, &num, &codes, self.k);
                let m = near.iter().filter(|(i, _)| self.malicious[*i]).count();
                Some(m as f64 / near.len().max(1) as f64)
            })
            .collect()
    }
}
