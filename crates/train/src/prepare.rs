//! From labelled input files to what every training step reads: the encoded matrix, the classes
//! and the four-way stratified split.

use std::collections::{BTreeMap, BTreeSet};

use arbiter_core::{BENIGN, Schema};
use arbiter_ingest::Record;

use arbiter_model::encode::{Encoder, RowNotes};
use arbiter_model::spec::DataFile;

use crate::error::TrainError;
use crate::options::TrainOptions;
use crate::split;
use crate::train::InputFile;

/// Names of the four parts of the split, in order.
pub(crate) const PARTS: [&str; 4] = ["training", "calibrator", "conformal", "risk-control"];

pub(crate) struct Prepared {
    pub encoder: Encoder,
    /// Row-major encoded features of every row.
    pub x: Vec<f64>,
    pub notes: Vec<RowNotes>,
    pub width: usize,
    /// Category names, `benign` first.
    pub classes: Vec<String>,
    /// Category index of every row.
    pub class: Vec<usize>,
    pub malicious: Vec<bool>,
    /// Training weight of every row (1 unless the input file gave weights).
    pub weight: Vec<f32>,
    /// Row indices of each part of the split.
    pub parts: [Vec<usize>; 4],
    /// Label values seen in the input.
    pub labels: Vec<String>,
    pub data_files: Vec<DataFile>,
}

/// Copies the given rows of a row-major matrix.
pub(crate) fn gather(x: &[f64], width: usize, rows: &[usize]) -> Vec<f64> {
    let mut out = Vec::with_capacity(rows.len() * width);
    for &r in rows {
        out.extend_from_slice(&x[r * width..(r + 1) * width]);
    }
    out
}

impl Prepared {
    /// Encoded features of the given rows.
    pub fn rows(&self, rows: &[usize]) -> Vec<f64> {
        gather(&self.x, self.width, rows)
    }

    /// Binary truth of the given rows.
    pub fn truth(&self, rows: &[usize]) -> Vec<bool> {
        rows.iter().map(|&r| self.malicious[r]).collect()
    }

    /// Runs `f` with the split replaced by `parts` (indices into the same rows), then puts the
    /// split back: how cross-fitting trains fold pipelines without copying the matrix.
    pub fn with_parts<T>(&mut self, parts: [Vec<usize>; 4], f: impl FnOnce(&Prepared) -> T) -> T {
        let saved = std::mem::replace(&mut self.parts, parts);
        let out = f(self);
        self.parts = saved;
        out
    }

    /// Rows per category.
    pub fn category_counts(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for &c in &self.class {
            *m.entry(self.classes[c].clone()).or_insert(0) += 1;
        }
        m
    }
}

/// Checks the input, splits it and encodes it.
pub(crate) fn prepare(
    schema: &Schema,
    inputs: Vec<InputFile>,
    opts: &TrainOptions,
) -> Result<Prepared, TrainError> {
    let mut data_files = Vec::new();
    let mut records: Vec<Record> = Vec::new();
    let mut weight: Vec<f32> = Vec::new();
    for f in inputs {
        let n = f.data.records.len();
        match f.weights {
            Some(w) if w.len() != n => {
                return Err(TrainError::Training(format!(
                    "{}: {} weights for {n} records",
                    f.name,
                    w.len()
                )));
            }
            Some(w) => {
                if let Some(bad) = w.iter().find(|w| !(w.is_finite() && **w > 0.0)) {
                    return Err(TrainError::Training(format!(
                        "{}: weight {bad} is not a positive number",
                        f.name
                    )));
                }
                weight.extend(w);
            }
            None => weight.extend(std::iter::repeat_n(1.0, n)),
        }
        data_files.push(DataFile {
            name: f.name.clone(),
            sha256: f.sha256,
            rows: f.data.report.rows_accepted,
            skipped: f.data.report.rows_skipped,
        });
        for r in f.data.records {
            if r.category.is_none() {
                return Err(TrainError::Row {
                    file: f.name.clone(),
                    line: r.line,
                    message: "the row has no label, and training needs ground truth".into(),
                });
            }
            records.push(r);
        }
    }
    let cats: Vec<&str> = records
        .iter()
        .map(|r| r.category.as_deref().unwrap_or(""))
        .collect();
    let attacks = cats.iter().filter(|c| **c != BENIGN).count();
    if attacks == 0 || attacks == cats.len() {
        return Err(TrainError::Training(format!(
            "need both benign and malicious rows, found {} benign and {attacks} malicious",
            cats.len() - attacks
        )));
    }
    let part = split::stratified(&cats, &opts.split, opts.seed);
    let parts: [Vec<usize>; 4] =
        std::array::from_fn(|k| (0..records.len()).filter(|&i| part[i] == k).collect());
    for (rows, name) in parts.iter().zip(PARTS) {
        if rows.len() < 20 {
            return Err(TrainError::Training(format!(
                "the {name} split holds {} rows; give at least a few hundred labelled rows",
                rows.len()
            )));
        }
    }
    let mut classes: Vec<String> = cats
        .iter()
        .filter(|c| **c != BENIGN)
        .map(|c| c.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    classes.insert(0, BENIGN.to_string());
    let index: BTreeMap<&str, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let class: Vec<usize> = cats.iter().map(|c| index[c]).collect();
    let train_recs: Vec<Record> = parts[0].iter().map(|&i| records[i].clone()).collect();
    let encoder = crate::encode::fit(schema, &train_recs);
    drop(train_recs);
    let (x, notes) = encoder.encode_all(&records);
    Ok(Prepared {
        width: encoder.width(),
        malicious: class.iter().map(|&c| c != 0).collect(),
        weight,
        labels: records
            .iter()
            .filter_map(|r| r.label.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        encoder,
        x,
        notes,
        classes,
        class,
        parts,
        data_files,
    })
}
