//! Leaf-space support: a second novelty signal, read off the trees themselves.
//!
//! For every tree of every ensemble member, the table counts the training rows of each class
//! that reach each leaf. A row's **support** for a class is the 10th percentile, over all member
//! trees, of that count in the leaves the row lands in: low when, in a tenth of the trees or
//! more, the row sits in a leaf that almost no training row of that class reached. It is
//! measured against the class of the row's verdict, like the k-NN distance, and sees what the
//! distance cannot (where the trees draw their boundaries), while the distance sees features
//! the trees never split on.
//!
//! [`Blend`] combines the two, as chosen by the novelty rehearsal: `w·knn + (1 − w)·leaf` of
//! the two percentile scores, itself turned into a percentile among calibration rows of the
//! class, and raised to the k-NN score whenever that alone reaches [`KNN_CAP`], so a row far
//! beyond everything seen is flagged whatever its leaves say
//! (`docs/results/novelty-signals.md` has the measurement).

use serde::{Deserialize, Serialize};

use crate::forest::Forest;

/// The bundle file holding the leaf-support table, present when the spec has a blend.
pub const LEAF_SUPPORT: &str = "leaf-support.json";

/// A k-NN score at or above this flags on its own, whatever the blend.
pub const KNN_CAP: f64 = 0.999;

/// Training rows of each class per (member, tree, leaf): `[benign, malicious]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeafSupport {
    pub members: Vec<Vec<Vec<[u32; 2]>>>,
}

/// The blend of the k-NN and leaf-support scores, stored in `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Blend {
    /// Weight of the k-NN score; the leaf score gets the rest.
    pub knn_weight: f64,
    /// Sorted supports of calibration rows of each class: [benign, malicious].
    pub leaf_calibration: [Vec<f64>; 2],
    /// Sorted blended scores of the same rows.
    pub blend_calibration: [Vec<f64>; 2],
}

/// The 10th percentile of counts (the value a tenth of the trees fall to or below).
pub fn low_quantile(counts: &mut [u32]) -> f64 {
    if counts.is_empty() {
        return 0.0;
    }
    let k = counts.len() / 10;
    let (_, v, _) = counts.select_nth_unstable(k);
    f64::from(*v)
}

impl LeafSupport {
    /// Counts, for each member, the rows of a row-major matrix reaching each leaf.
    pub fn fit(members: &[Forest], x: &[f64], width: usize, malicious: &[bool]) -> LeafSupport {
        let members = members
            .iter()
            .map(|forest| {
                let mut table: Vec<Vec<[u32; 2]>> = forest
                    .trees
                    .iter()
                    .map(|t| vec![[0, 0]; t.num_leaves.max(1)])
                    .collect();
                for (row, &m) in x.chunks(width.max(1)).zip(malicious) {
                    for (t, tree) in forest.trees.iter().enumerate() {
                        table[t][tree.leaf(row)][usize::from(m)] += 1;
                    }
                }
                table
            })
            .collect();
        LeafSupport { members }
    }

    /// A row's support for each class from the leaves it reached, `leaves[member][tree]`;
    /// `scratch` is reused between rows.
    pub fn support_of(&self, leaves: &[&[u32]], scratch: &mut [Vec<u32>; 2]) -> [f64; 2] {
        let [b, m] = scratch;
        b.clear();
        m.clear();
        for (table, reached) in self.members.iter().zip(leaves) {
            for (counts, &leaf) in table.iter().zip(*reached) {
                let c = counts[leaf as usize];
                b.push(c[0]);
                m.push(c[1]);
            }
        }
        [low_quantile(b), low_quantile(m)]
    }

    /// A row's support for each class: `[benign, malicious]`.
    pub fn support(&self, members: &[Forest], row: &[f64]) -> [f64; 2] {
        self.walk(members, row).1
    }

    /// One walk of every member's trees for a row: each member's raw margin (summed in tree
    /// order, as `Forest::raw`) and the row's support for each class.
    pub fn walk(&self, members: &[Forest], row: &[f64]) -> (Vec<f64>, [f64; 2]) {
        let mut counts: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
        let margins = members
            .iter()
            .zip(&self.members)
            .map(|(forest, table)| {
                let mut raw = vec![0.0; forest.num_class.max(1)];
                for (t, (tree, leaves)) in forest.trees.iter().zip(table).enumerate() {
                    let leaf = tree.leaf(row);
                    let n = raw.len();
                    raw[t % n] += tree.leaf_value[leaf];
                    counts[0].push(leaves[leaf][0]);
                    counts[1].push(leaves[leaf][1]);
                }
                raw[0]
            })
            .collect();
        let [b, m] = &mut counts;
        (margins, [low_quantile(b), low_quantile(m)])
    }
}

/// Share of `sorted` strictly below `x`.
fn below(sorted: &[f64], x: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted.partition_point(|&c| c < x) as f64 / sorted.len() as f64
}

impl Blend {
    /// Share of calibration rows of the class with more support than `support`: 0 is typical,
    /// 1 is less supported than every calibration row.
    pub fn leaf_score(&self, support: f64, malicious: bool) -> f64 {
        let cal = &self.leaf_calibration[usize::from(malicious)];
        if cal.is_empty() {
            return 0.0;
        }
        let at_most = cal.partition_point(|&c| c <= support);
        (cal.len() - at_most) as f64 / cal.len() as f64
    }

    /// The weighted mix of the two scores, before it is turned into a percentile.
    pub fn mix(&self, knn_score: f64, leaf_score: f64) -> f64 {
        self.knn_weight * knn_score + (1.0 - self.knn_weight) * leaf_score
    }

    /// The OOD score of a row from its k-NN score and its support for its verdict's class.
    pub fn score(&self, knn_score: f64, support: f64, malicious: bool) -> f64 {
        let mixed = self.mix(knn_score, self.leaf_score(support, malicious));
        let blended = below(&self.blend_calibration[usize::from(malicious)], mixed);
        if knn_score >= KNN_CAP {
            blended.max(knn_score)
        } else {
            blended
        }
    }

    /// Fits the calibration of a blend from calibration rows: their k-NN scores, supports for
    /// their own class, and classes.
    pub fn fit(knn_weight: f64, knn: &[f64], support: &[f64], malicious: &[bool]) -> Blend {
        let mut leaf_calibration = [Vec::new(), Vec::new()];
        for (&s, &m) in support.iter().zip(malicious) {
            leaf_calibration[usize::from(m)].push(s);
        }
        for c in &mut leaf_calibration {
            c.sort_by(f64::total_cmp);
        }
        let mut blend = Blend {
            knn_weight,
            leaf_calibration,
            blend_calibration: [Vec::new(), Vec::new()],
        };
        let mut mixed = [Vec::new(), Vec::new()];
        for ((&k, &s), &m) in knn.iter().zip(support).zip(malicious) {
            mixed[usize::from(m)].push(blend.mix(k, blend.leaf_score(s, m)));
        }
        for c in &mut mixed {
            c.sort_by(f64::total_cmp);
        }
        blend.blend_calibration = mixed;
        blend
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_low_quantile_is_what_a_tenth_of_the_trees_fall_to() {
        let mut c: Vec<u32> = (1..=20).rev().collect();
        assert_eq!(low_quantile(&mut c), 3.0);
        assert_eq!(low_quantile(&mut []), 0.0);
    }

    fn blend(w: f64) -> Blend {
        // Benign calibration rows: supports 10, 20, 30, 40 with k-NN scores 0, 0.25, 0.5, 0.75.
        Blend::fit(
            w,
            &[0.0, 0.25, 0.5, 0.75],
            &[40.0, 30.0, 20.0, 10.0],
            &[false; 4],
        )
    }

    #[test]
    fn less_support_than_every_calibration_row_scores_one_and_more_than_all_scores_zero() {
        let b = blend(0.5);
        assert_eq!(b.leaf_score(5.0, false), 1.0);
        assert_eq!(b.leaf_score(50.0, false), 0.0);
        assert_eq!(b.leaf_score(20.0, false), 0.5, "two of four have more");
    }

    #[test]
    fn the_blended_score_is_a_percentile_among_calibration_rows_of_the_class() {
        let b = blend(0.5);
        // The calibration rows' own mixes: 0, 0.25, 0.5, 0.75 (each k-NN and leaf score agree).
        assert_eq!(b.blend_calibration[0], vec![0.0, 0.25, 0.5, 0.75]);
        assert_eq!(b.score(0.0, 50.0, false), 0.0);
        assert_eq!(b.score(0.9, 5.0, false), 1.0);
        assert_eq!(b.score(0.5, 20.0, false), 0.5);
    }

    #[test]
    fn a_row_beyond_every_known_row_by_distance_is_flagged_whatever_its_leaves_say() {
        let leaf_only = blend(0.0);
        assert_eq!(
            leaf_only.score(0.5, 50.0, false),
            0.0,
            "the leaves alone see nothing"
        );
        assert_eq!(leaf_only.score(1.0, 50.0, false), 1.0);
    }

    #[test]
    fn support_counts_the_rows_of_each_class_in_the_leaf_a_row_reaches() {
        let text = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nmax_feature_idx=0\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold=0.5\ndecision_type=2\nleft_child=-1\nright_child=-2\nleaf_value=-1 1\nleaf_weight=1 1\nleaf_count=2 2\ninternal_value=0\ninternal_weight=2\ninternal_count=4\nis_linear=0\nshrinkage=1\n\n\nend of trees\n";
        let forest = Forest::parse(text).unwrap();
        let x = [0.0, 0.1, 0.2, 1.0];
        let s = LeafSupport::fit(
            std::slice::from_ref(&forest),
            &x,
            1,
            &[false, false, true, true],
        );
        assert_eq!(s.members[0][0], vec![[2, 1], [0, 1]]);
        assert_eq!(s.support(std::slice::from_ref(&forest), &[0.3]), [2.0, 1.0]);
        assert_eq!(s.support(std::slice::from_ref(&forest), &[0.9]), [0.0, 1.0]);
        let (margins, _) = s.walk(std::slice::from_ref(&forest), &[0.9]);
        assert_eq!(
            margins,
            forest.raw(&[0.9]),
            "the walk's margin is the forest's own"
        );
    }
}
