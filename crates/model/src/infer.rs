//! A loaded model bundle and scoring.

use std::collections::BTreeMap;
use std::path::Path;

use arbiter_core::{Probability, RowSource, Schema, Score, Verdict};
use arbiter_ingest::Record;
use rayon::prelude::*;

use crate::bundle;
use crate::calibrate::{sigmoid, softmax};
use crate::conformal::Conformal;
use crate::encode::{Encoder, RowNotes};
use crate::error::ModelError;
use crate::flags::Evidence;
use crate::forest::Forest;
use crate::ood::{Detector, Reference};
use crate::spec::ModelSpec;
use crate::support::{LEAF_SUPPORT, LeafSupport};

/// Rows walked together through each tree.
const BLOCK: usize = 64;

/// The file a retrained bundle says what changed in (written by `arbiter-retrain`).
pub const CHANGES: &str = "changes.json";

/// The part of [`CHANGES`] that says where a bundle came from.
#[derive(serde::Deserialize)]
struct Lineage {
    champion: String,
}

/// A model ready to score.
pub struct Model {
    /// `sha256:…` content id of the bundle.
    pub id: String,
    pub schema: Schema,
    pub spec: ModelSpec,
    pub encoder: Encoder,
    pub detector: Detector,
    /// The champion a retrained bundle was built from: the `champion` of its `changes.json`,
    /// which the content hash covers. `None` for a bundle trained from data alone.
    pub parent: Option<String>,
    members: Vec<Forest>,
    head: Forest,
    baseline: Forest,
    support: Option<LeafSupport>,
}

/// Raw model outputs for a batch of rows.
#[derive(Debug, Clone)]
pub struct Inference {
    /// Per member, per row: raw margin (log-odds).
    pub member_margin: Vec<Vec<f64>>,
    /// Per row, per head class: raw score.
    pub head_raw: Vec<f64>,
    /// Distance to the training rows of the row's verdict.
    pub ood_distance: Vec<f64>,
    /// Leaf-space support for each class, `[benign, malicious]`, when the model blends it in
    /// (empty otherwise).
    pub support: Vec<[f64; 2]>,
}

/// Everything derived for one row before it becomes a [`Score`].
#[derive(Debug, Clone, PartialEq)]
pub struct RowView {
    pub p: f64,
    pub member_p: Vec<f64>,
    pub spread: f64,
    pub head: Vec<f64>,
    pub ood_score: f64,
    pub conformal_set: Vec<Verdict>,
    pub flags: Vec<arbiter_core::Flag>,
}

fn forest(text: &str, what: &str) -> Result<Forest, ModelError> {
    Forest::parse(text).map_err(|e| ModelError::ModelText(format!("{what}: {e}")))
}

fn text<'a>(
    files: &'a BTreeMap<String, Vec<u8>>,
    name: &str,
    dir: &Path,
) -> Result<&'a str, ModelError> {
    let bytes = files.get(name).ok_or_else(|| ModelError::Bundle {
        path: dir.to_path_buf(),
        message: format!("{name} is missing"),
    })?;
    std::str::from_utf8(bytes).map_err(|_| ModelError::Bundle {
        path: dir.to_path_buf(),
        message: format!("{name} is not UTF-8"),
    })
}

impl Model {
    /// Loads and verifies a bundle directory.
    pub fn load(dir: &Path) -> Result<Model, ModelError> {
        let (manifest, files) = bundle::read(dir)?;
        let bad = |message: String| ModelError::Bundle {
            path: dir.to_path_buf(),
            message,
        };
        let spec: ModelSpec = serde_json::from_str(text(&files, "model.json", dir)?)
            .map_err(|e| bad(format!("model.json is invalid: {e}")))?;
        let schema = Schema::from_yaml(text(&files, "schema.yaml", dir)?, "schema.yaml")
            .map_err(|e| bad(e.to_string()))?;
        let reference = |name: &str| -> Result<Reference, ModelError> {
            crate::reference::decode(
                files
                    .get(name)
                    .ok_or_else(|| bad(format!("{name} is missing")))?,
            )
            .map_err(|e| bad(format!("{name} {e}")))
        };
        let references = [
            reference(crate::reference::FILES[0])?,
            reference(crate::reference::FILES[1])?,
        ];
        let members = spec
            .members
            .iter()
            .map(|m| forest(text(&files, m, dir)?, m))
            .collect::<Result<Vec<_>, _>>()?;
        let head = forest(
            text(&files, &spec.category_head.file, dir)?,
            "category head",
        )?;
        let baseline = forest(text(&files, &spec.baseline, dir)?, "baseline")?;
        let support = match &spec.blend {
            None => None,
            Some(_) => {
                let table: LeafSupport = serde_json::from_str(text(&files, LEAF_SUPPORT, dir)?)
                    .map_err(|e| bad(format!("{LEAF_SUPPORT} is invalid: {e}")))?;
                let fits = table.members.len() == members.len()
                    && table.members.iter().zip(&members).all(|(t, f)| {
                        t.len() == f.trees.len()
                            && t.iter()
                                .zip(&f.trees)
                                .all(|(l, tree)| l.len() == tree.num_leaves.max(1))
                    });
                if !fits {
                    return Err(bad(format!(
                        "{LEAF_SUPPORT} does not match the members' trees and leaves"
                    )));
                }
                Some(table)
            }
        };
        let parent = match files.get(CHANGES) {
            None => None,
            Some(bytes) => Some(
                serde_json::from_slice::<Lineage>(bytes)
                    .map_err(|e| bad(format!("{CHANGES} is invalid: {e}")))?
                    .champion,
            ),
        };
        Ok(Model {
            id: manifest.id,
            parent,
            encoder: Encoder::from_spec(spec.encoder.clone()),
            detector: Detector::new(spec.ood.clone(), references),
            schema,
            spec,
            members,
            head,
            baseline,
            support,
        })
    }

    /// Builds a model from freshly trained parts: the spec, the fitted detector and the model
    /// texts of the members, the category head and the baseline. Training scores its later
    /// splits with it before the bundle is written; its id stays empty until then.
    pub fn from_parts(
        schema: Schema,
        spec: ModelSpec,
        detector: Detector,
        texts: (&[String], &str, &str),
    ) -> Result<Model, ModelError> {
        let members = texts
            .0
            .iter()
            .map(|t| forest(t, "member"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Model {
            id: String::new(),
            parent: None,
            encoder: Encoder::from_spec(spec.encoder.clone()),
            detector,
            schema,
            spec,
            members,
            head: forest(texts.1, "category head")?,
            baseline: forest(texts.2, "baseline")?,
            support: None,
        })
    }

    /// The trees' raw outputs for a row-major matrix: per member margins, and head scores
    /// (row-major, one per class). Walked in Rust, in parallel over rows; equal to LightGBM's
    /// raw scores (tested against it).
    pub fn infer_trees(&self, x: &[f64]) -> Result<(Vec<Vec<f64>>, Vec<f64>), ModelError> {
        let (member_margin, head_raw, _) = self.walk(x, None);
        Ok((member_margin, head_raw))
    }

    /// Walks every tree once per row: member margins, head scores and, when `support` is
    /// given, each row's leaf-space support from the same walk. Rows go in blocks of
    /// [`BLOCK`], tree by tree within a block, blocks in parallel.
    #[allow(clippy::type_complexity)]
    fn walk(
        &self,
        x: &[f64],
        support: Option<&LeafSupport>,
    ) -> (Vec<Vec<f64>>, Vec<f64>, Vec<[f64; 2]>) {
        let width = self.encoder.width().max(1);
        let k = self.head.num_class;
        let m = self.members.len();
        let blocks: Vec<(Vec<f64>, Vec<f64>, Vec<[f64; 2]>)> = x
            .par_chunks(width * BLOCK)
            .map(|block| {
                let rows = block.len() / width;
                let mut leaves: Vec<Vec<u32>> = Vec::with_capacity(m);
                let mut margins = vec![0.0; rows * m];
                for (j, forest) in self.members.iter().enumerate() {
                    let nt = forest.trees.len();
                    let mut reached = vec![0u32; rows * nt];
                    forest.leaves_block(block, width, &mut reached);
                    let mut raw = vec![0.0; forest.num_class.max(1)];
                    for (r, row) in reached.chunks_exact(nt.max(1)).enumerate() {
                        raw.fill(0.0);
                        forest.raw_from_leaves(row, &mut raw);
                        margins[r * m + j] = raw[0];
                    }
                    leaves.push(reached);
                }
                let mut head = vec![0.0; rows * k];
                let nt = self.head.trees.len();
                let mut reached = vec![0u32; rows * nt];
                self.head.leaves_block(block, width, &mut reached);
                for (out, row) in head
                    .chunks_exact_mut(k)
                    .zip(reached.chunks_exact(nt.max(1)))
                {
                    self.head.raw_from_leaves(row, out);
                }
                let mut supports = Vec::new();
                if let Some(table) = support {
                    let mut scratch = [Vec::new(), Vec::new()];
                    for r in 0..rows {
                        let row: Vec<&[u32]> = leaves
                            .iter()
                            .zip(&self.members)
                            .map(|(l, f)| &l[r * f.trees.len()..(r + 1) * f.trees.len()])
                            .collect();
                        supports.push(table.support_of(&row, &mut scratch));
                    }
                }
                (margins, head, supports)
            })
            .collect();
        let n = x.len() / width;
        let mut member_margin = vec![Vec::with_capacity(n); m];
        let mut head_raw = Vec::with_capacity(n * k);
        let mut supports = Vec::new();
        for (margins, head, s) in blocks {
            for row in margins.chunks_exact(m.max(1)) {
                for (j, &v) in row.iter().enumerate() {
                    member_margin[j].push(v);
                }
            }
            head_raw.extend(head);
            supports.extend(s);
        }
        (member_margin, head_raw, supports)
    }

    /// Sets the leaf-support table (training fits it from the training split).
    pub fn set_support(&mut self, support: Option<LeafSupport>) {
        self.support = support;
    }

    /// The leaf-support table, when the model blends it into the OOD score.
    pub fn support(&self) -> Option<&LeafSupport> {
        self.support.as_ref()
    }

    /// The OOD score of a row from its k-NN distance and, when blended, its support.
    fn ood_score(&self, distance: f64, support: Option<[f64; 2]>, malicious: bool) -> f64 {
        let knn = self.detector.score(distance, malicious);
        match (&self.spec.blend, support) {
            (Some(blend), Some(s)) => blend.score(knn, s[usize::from(malicious)], malicious),
            _ => knn,
        }
    }

    /// The member forests, for explanations.
    pub fn members(&self) -> &[Forest] {
        &self.members
    }

    /// The category head's forest.
    pub fn head(&self) -> &Forest {
        &self.head
    }

    /// Calibrated probability of the mean member margin.
    pub fn calibrated(&self, member_margin: &[Vec<f64>], i: usize) -> f64 {
        let mean = member_margin.iter().map(|m| m[i]).sum::<f64>() / member_margin.len() as f64;
        Probability::saturating(self.spec.calibration.chosen.apply(mean)).get()
    }

    /// All raw outputs for a row-major matrix; the OOD distance of each row is measured against
    /// the training rows of the verdict the model gives it.
    pub fn infer(&self, x: &[f64]) -> Result<Inference, ModelError> {
        let blended = self.support.as_ref().filter(|_| self.spec.blend.is_some());
        let (member_margin, head_raw, support) = self.walk(x, blended);
        let verdicts: Vec<bool> = (0..x.len() / self.encoder.width().max(1))
            .map(|i| self.calibrated(&member_margin, i) >= 0.5)
            .collect();
        let ood_distance = self.detector.distances(x, self.encoder.width(), &verdicts);
        Ok(Inference {
            member_margin,
            head_raw,
            ood_distance,
            support,
        })
    }

    /// The evaluation baseline's probability of malicious.
    pub fn baseline_probability(&self, x: &[f64]) -> Result<Vec<f64>, ModelError> {
        Ok(x.par_chunks(self.encoder.width().max(1))
            .map(|row| sigmoid(self.baseline.raw(row)[0]))
            .collect())
    }

    /// Derives calibrated probability, spread, conformal set and flags for row `i`.
    pub fn view(&self, inf: &Inference, i: usize, notes: &RowNotes, alpha: f64) -> RowView {
        let cal = &self.spec.calibration.chosen;
        let margins: Vec<f64> = inf.member_margin.iter().map(|m| m[i]).collect();
        let p = self.calibrated(&inf.member_margin, i);
        let member_p: Vec<f64> = margins.iter().map(|&m| cal.apply(m)).collect();
        let mp = member_p.iter().sum::<f64>() / member_p.len() as f64;
        let spread =
            (member_p.iter().map(|q| (q - mp).powi(2)).sum::<f64>() / member_p.len() as f64).sqrt();
        let k = self.spec.category_head.classes.len();
        let head = softmax(
            &inf.head_raw[i * k..(i + 1) * k],
            self.spec.category_head.temperature,
        );
        let ood_score = self.ood_score(inf.ood_distance[i], inf.support.get(i).copied(), p >= 0.5);
        let conformal_set = Conformal::set(p, self.spec.conformal.thresholds(alpha));
        let flag_set = if (alpha - self.spec.flags.alpha).abs() < 1e-12 {
            conformal_set.clone()
        } else {
            Conformal::set(p, self.spec.conformal.thresholds(self.spec.flags.alpha))
        };
        let benign_idx = self
            .spec
            .category_head
            .classes
            .iter()
            .position(|c| c == arbiter_core::BENIGN);
        let flags = self.spec.flags.flags(&Evidence {
            p,
            member_p: &member_p,
            conformal_set: &flag_set,
            head_benign: benign_idx.map_or(1.0 - p, |b| head[b]),
            ood_score,
            missing: !notes.missing.is_empty(),
            unseen_category: !notes.unseen.is_empty(),
        });
        RowView {
            p,
            member_p,
            spread,
            head,
            ood_score,
            conformal_set,
            flags,
        }
    }

    /// Category probabilities consistent with `p`: benign gets `1 − p`, and `p` is shared among
    /// attack categories in proportion to the category head.
    pub fn categories(&self, view: &RowView) -> BTreeMap<String, f64> {
        let classes = &self.spec.category_head.classes;
        let attack_mass: f64 = classes
            .iter()
            .zip(&view.head)
            .filter(|(c, _)| *c != arbiter_core::BENIGN)
            .map(|(_, q)| q)
            .sum();
        let attacks = classes
            .iter()
            .filter(|c| *c != arbiter_core::BENIGN)
            .count()
            .max(1);
        classes
            .iter()
            .zip(&view.head)
            .map(|(c, q)| {
                let v = if c == arbiter_core::BENIGN {
                    1.0 - view.p
                } else if attack_mass > 1e-12 {
                    view.p * q / attack_mass
                } else {
                    view.p / attacks as f64
                };
                (c.clone(), v)
            })
            .collect()
    }

    /// Scores records read from `file` at conformal level `alpha`.
    pub fn score(
        &self,
        records: &[Record],
        file: &str,
        alpha: f64,
    ) -> Result<Vec<Score>, ModelError> {
        let (x, notes) = self.encoder.encode_all(records);
        let inf = self.infer(&x)?;
        Ok(records
            .iter()
            .enumerate()
            .map(|(i, r)| self.to_score(r, file, &inf, &notes[i], i, alpha))
            .collect())
    }

    fn to_score(
        &self,
        r: &Record,
        file: &str,
        inf: &Inference,
        notes: &RowNotes,
        i: usize,
        alpha: f64,
    ) -> Score {
        let v = self.view(inf, i, notes, alpha);
        let lo = v.member_p.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.member_p.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let names = &self.encoder.spec.names;
        Score {
            p_malicious: Probability::saturating(v.p),
            member_spread: v.spread,
            member_disagreement: arbiter_core::member_disagreement(&v.member_p),
            interval: [lo, hi],
            alpha,
            conformal_set: v.conformal_set.clone(),
            categories: self.categories(&v),
            ood_score: v.ood_score,
            flags: v.flags.clone(),
            missing_fields: notes.missing.iter().map(|&j| names[j].clone()).collect(),
            unseen_values: notes
                .unseen
                .iter()
                .map(|(j, s)| format!("{}={}", names[*j], s))
                .collect(),
            bundle: self.id.clone(),
            schema: self.schema.id(),
            source: RowSource {
                file: file.to_string(),
                line: r.line,
            },
            ids: r.ids.iter().cloned().collect(),
            time: r.time_ms.and_then(|ms| {
                chrono::DateTime::from_timestamp_millis(ms)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            }),
            observed_label: r.label.clone(),
        }
    }
}
