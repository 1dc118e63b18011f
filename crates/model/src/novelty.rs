//! Choosing how sensitive the OOD flag is, by rehearsing novelty on the training data.
//!
//! The auto-close guarantee of the risk-control table only covers attacks like those in the
//! training data. Against a family never seen, the OOD flag is the only defence, so its level
//! is chosen by a leave-one-family-out rehearsal: for each attack family F, one plain model is
//! trained on the training split without F, and F's rows (never seen by that model) play the
//! novel attack. A row of F could be silently closed when that model calls it benign
//! (probability below the low-confidence band) and its OOD score against benign training rows
//! stays under the flag level. The level chosen is the least sensitive one on a grid at which,
//! for every family, at most `target` of its rows could be silently closed.
//!
//! The level trades human workload for protection, so the rehearsal also keeps the whole
//! **frontier**: at each level of the grid, the share of held-out benign rows the flag leaves
//! closable, the share of each left-out family that would pass, and the reviews per 1,000
//! alerts the flag adds. The target (a training option) picks the operating point on it; the
//! frontier says what a different target would cost or save.
//!
//! `arbiter-train` runs the rehearsal; this module holds its outcome, stored in the bundle.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyRehearsal {
    pub family: String,
    pub rows: u64,
    /// Rows the model trained without this family calls benign.
    pub called_benign: u64,
    /// OOD scores of those rows (against benign training rows), sorted.
    #[serde(skip)]
    pub ood_scores: Vec<f64>,
    /// Rows that could be silently closed at the chosen level.
    pub closable: u64,
}

/// One point of the workload–risk frontier: what a flag level lets through and what it costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrontierPoint {
    pub level: f64,
    /// Share of held-out benign rows called benign (p below the low-confidence band) whose OOD
    /// score stays under the level: what the flag leaves for auto-closing.
    pub benign_coverage: f64,
    /// Per family (in the order of [`Rehearsal::families`]), the share of its rows that would
    /// pass unflagged.
    pub pass: Vec<f64>,
    /// Benign alerts the flag holds for a human, per 1,000 alerts at the attack share
    /// [`Frontier::attack_rate`].
    pub reviews_per_1000: f64,
}

/// The frontier over the level grid, least sensitive level first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frontier {
    /// Held-out benign rows measured.
    pub benign_rows: u64,
    /// Share of them called benign at all: the coverage with no OOD flag.
    pub benign_called_benign: f64,
    /// Attack share the review cost is stated for: the declared deployment rate, else the
    /// training data's own.
    pub attack_rate: f64,
    pub points: Vec<FrontierPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rehearsal {
    /// Largest share of a novel family that may be silently closable.
    pub target: f64,
    /// The chosen OOD flag level (share of benign calibration rows nearer than a flagged row).
    pub chosen: f64,
    /// Whether the target was met at the chosen level (if not, the most sensitive level of the
    /// grid is used).
    pub met: bool,
    pub families: Vec<FamilyRehearsal>,
    /// The workload–risk frontier (absent in bundles made before it was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontier: Option<Frontier>,
    /// Weight of the k-NN score in the OOD score (1: k-NN alone; the rest is leaf support).
    #[serde(default = "one")]
    pub knn_weight: f64,
    /// Each k-NN weight tried, with the level it would need.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weights: Vec<WeightTrial>,
}

fn one() -> f64 {
    1.0
}

/// One blend weight tried by the rehearsal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightTrial {
    pub knn_weight: f64,
    /// The least sensitive level meeting the target (the most sensitive one when none does).
    pub level: f64,
    pub met: bool,
    /// The largest share of a family passing at that level.
    pub worst: f64,
}

impl FamilyRehearsal {
    /// Rows that could pass unflagged at an OOD flag level.
    pub fn closable_at(&self, level: f64) -> u64 {
        self.ood_scores.partition_point(|&s| s < level) as u64
    }
}

impl Rehearsal {
    /// Records, per family, what passes at the level actually used.
    pub fn set_level(&mut self, level: f64) {
        for f in &mut self.families {
            f.closable = f.closable_at(level);
        }
    }

    /// Measures the frontier at `levels` from held-out benign rows, given as (called benign,
    /// OOD score) pairs. The review cost of a level is the benign rows called benign that it
    /// flags, scaled to 1,000 alerts of which `attack_rate` are attacks.
    pub fn measure_frontier(&mut self, levels: &[f64], benign: &[(bool, f64)], attack_rate: f64) {
        let n = benign.len().max(1) as f64;
        let called = benign.iter().filter(|(b, _)| *b).count() as f64 / n;
        let points = levels
            .iter()
            .map(|&level| {
                let kept = benign.iter().filter(|(b, s)| *b && *s < level).count() as f64 / n;
                FrontierPoint {
                    level,
                    benign_coverage: kept,
                    pass: self
                        .families
                        .iter()
                        .map(|f| f.closable_at(level) as f64 / (f.rows.max(1)) as f64)
                        .collect(),
                    reviews_per_1000: 1000.0 * (1.0 - attack_rate) * (called - kept),
                }
            })
            .collect();
        self.frontier = Some(Frontier {
            benign_rows: benign.len() as u64,
            benign_called_benign: called,
            attack_rate,
            points,
        });
    }
}

impl FrontierPoint {
    /// The largest share of any one family passing at this level.
    pub fn worst(&self) -> f64 {
        self.pass.iter().copied().fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_pass_unflagged_when_their_ood_score_stays_under_the_level() {
        let mut r = Rehearsal {
            target: 0.01,
            chosen: 0.9,
            met: true,
            families: vec![FamilyRehearsal {
                family: "dos".into(),
                rows: 10,
                called_benign: 3,
                ood_scores: vec![0.2, 0.85, 0.95],
                closable: 0,
            }],
            frontier: None,
            knn_weight: 1.0,
            weights: vec![],
        };
        assert_eq!(r.families[0].closable_at(0.9), 2);
        assert_eq!(
            r.families[0].closable_at(0.2),
            0,
            "a score at the level is flagged"
        );
        r.set_level(0.99);
        assert_eq!(r.families[0].closable, 3);
    }

    #[test]
    fn the_frontier_prices_each_level_in_benign_coverage_family_passes_and_reviews() {
        let mut r = Rehearsal {
            target: 0.1,
            chosen: 0.5,
            met: true,
            families: vec![FamilyRehearsal {
                family: "r2l".into(),
                rows: 4,
                called_benign: 2,
                ood_scores: vec![0.3, 0.8],
                closable: 0,
            }],
            frontier: None,
            knn_weight: 1.0,
            weights: vec![],
        };
        // Five benign rows: one called malicious, four called benign with these OOD scores.
        let benign = [
            (true, 0.1),
            (true, 0.4),
            (true, 0.6),
            (true, 0.95),
            (false, 0.0),
        ];
        r.measure_frontier(&[0.9, 0.5], &benign, 0.2);
        let f = r.frontier.as_ref().unwrap();
        assert_eq!(f.benign_rows, 5);
        assert!((f.benign_called_benign - 0.8).abs() < 1e-12);
        let (loose, strict) = (&f.points[0], &f.points[1]);
        assert!(
            (loose.benign_coverage - 0.6).abs() < 1e-12,
            "three of five under 0.9"
        );
        assert_eq!(
            loose.pass,
            vec![0.5],
            "both called-benign rows of four pass at 0.9"
        );
        assert!((strict.benign_coverage - 0.4).abs() < 1e-12);
        assert_eq!(strict.pass, vec![0.25]);
        // 1,000 alerts, 800 benign; at 0.5 the flag holds 0.8 − 0.4 of them.
        assert!((strict.reviews_per_1000 - 320.0).abs() < 1e-9);
        assert!((loose.reviews_per_1000 - 160.0).abs() < 1e-9);
        assert_eq!(strict.worst(), 0.25);
    }
}
