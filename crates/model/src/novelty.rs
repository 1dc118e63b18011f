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
}
