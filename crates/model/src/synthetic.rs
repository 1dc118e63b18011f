//! Deterministic synthetic inputs for micro-benchmarks: a LightGBM model text of balanced
//! trees and clustered rows, so a bench needs no data file, no LightGBM and no `rand`.
//!
//! Nothing here is used when scoring; the whole-pipeline figures on real data are measured by
//! `arbiter bench` and friends.

use std::fmt::Write;

/// SplitMix64: a tiny, fast, deterministic generator.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.unit().max(f64::MIN_POSITIVE);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The shape of a synthetic forest.
#[derive(Debug, Clone, Copy)]
pub struct ForestShape {
    pub trees: usize,
    pub leaves: usize,
    pub features: usize,
}

impl ForestShape {
    /// Depth of a leaf in the balanced trees [`forest_text`] grows: the node visits of one
    /// row through one tree are `leaves.ilog2()` or one more.
    pub fn max_depth(&self) -> u32 {
        self.leaves.next_power_of_two().ilog2()
    }
}

/// One tree's arrays, in LightGBM's layout (children `>= 0` are nodes, `!leaf` otherwise).
#[derive(Default)]
struct TreeText {
    split_feature: Vec<usize>,
    threshold: Vec<f64>,
    left: Vec<i32>,
    right: Vec<i32>,
    internal_count: Vec<u64>,
    leaf_value: Vec<f64>,
    leaf_count: Vec<u64>,
}

/// Grows a balanced subtree of `leaves` leaves; returns its child code and training-row count.
fn grow(t: &mut TreeText, rng: &mut Rng, leaves: usize, features: usize) -> (i32, u64) {
    if leaves == 1 {
        let leaf = t.leaf_value.len() as i32;
        let count = 1 + rng.below(1000) as u64;
        t.leaf_value.push(rng.unit() - 0.5);
        t.leaf_count.push(count);
        return (!leaf, count);
    }
    let node = t.split_feature.len();
    t.split_feature.push(rng.below(features));
    t.threshold.push(0.2 + 0.6 * rng.unit());
    t.left.push(0);
    t.right.push(0);
    t.internal_count.push(0);
    let (l, lc) = grow(t, rng, leaves.div_ceil(2), features);
    let (r, rc) = grow(t, rng, leaves / 2, features);
    (t.left[node], t.right[node], t.internal_count[node]) = (l, r, lc + rc);
    (node as i32, lc + rc)
}

fn join<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter().map(T::to_string).collect::<Vec<_>>().join(" ")
}

/// LightGBM model text of a binary model of balanced trees on numeric features with
/// thresholds in [0.2, 0.8], carrying every key `Forest::parse` and TreeSHAP read. Rows
/// uniform in [0, 1) then take a random path through every tree.
pub fn forest_text(shape: ForestShape, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut s = format!(
        "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n\
         max_feature_idx={}\nobjective=binary sigmoid:1\n\n",
        shape.features - 1
    );
    for i in 0..shape.trees {
        let mut t = TreeText::default();
        grow(&mut t, &mut rng, shape.leaves, shape.features);
        let decision_type = vec![2u8; t.split_feature.len()]; // numeric, default left
        // Writing to a String cannot fail.
        let _ = write!(
            s,
            "Tree={i}\nnum_leaves={}\nnum_cat=0\nsplit_feature={}\nthreshold={}\n\
             decision_type={}\nleft_child={}\nright_child={}\nleaf_value={}\nleaf_count={}\n\
             internal_count={}\nis_linear=0\nshrinkage=0.1\n\n\n",
            shape.leaves,
            join(&t.split_feature),
            join(&t.threshold),
            join(&decision_type),
            join(&t.left),
            join(&t.right),
            join(&t.leaf_value),
            join(&t.leaf_count),
            join(&t.internal_count),
        );
    }
    s.push_str("end of trees\n");
    s
}

/// `rows × width` values uniform in [0, 1), row-major.
pub fn uniform_rows(rows: usize, width: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng(seed);
    (0..rows * width).map(|_| rng.unit()).collect()
}

/// Clustered rows in the OOD detector's scaled space, the way security telemetry clusters
/// (many near-duplicates of a few services): `rows` points around `clusters` centres drawn
/// uniformly in [-3, 3] per numeric coordinate, with Gaussian spread `spread`, and one
/// categorical code per cluster and field out of `codes` values. Returns (numeric row-major,
/// codes row-major).
pub fn clustered_scaled(
    rows: usize,
    numeric: usize,
    categorical: usize,
    clusters: usize,
    spread: f64,
    codes: u32,
    seed: u64,
) -> (Vec<f32>, Vec<u32>) {
    let mut rng = Rng(seed);
    let centres: Vec<f64> = (0..clusters * numeric)
        .map(|_| 6.0 * rng.unit() - 3.0)
        .collect();
    let centre_codes: Vec<u32> = (0..clusters * categorical)
        .map(|_| rng.below(codes as usize) as u32)
        .collect();
    let mut num = Vec::with_capacity(rows * numeric);
    let mut cat = Vec::with_capacity(rows * categorical);
    for _ in 0..rows {
        let c = rng.below(clusters);
        num.extend(
            centres[c * numeric..(c + 1) * numeric]
                .iter()
                .map(|&m| (m + spread * rng.normal()) as f32),
        );
        cat.extend_from_slice(&centre_codes[c * categorical..(c + 1) * categorical]);
    }
    (num, cat)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forest::Forest;

    #[test]
    fn the_synthetic_forest_parses_with_the_shape_asked_for() {
        let shape = ForestShape {
            trees: 3,
            leaves: 31,
            features: 7,
        };
        let f = Forest::parse(&forest_text(shape, 1)).unwrap();
        assert_eq!(f.trees.len(), 3);
        assert_eq!(f.num_features, 7);
        assert!(f.trees.iter().all(|t| t.leaf_value.len() == 31));
        assert_eq!(shape.max_depth(), 5);
    }

    #[test]
    fn the_same_seed_gives_the_same_rows() {
        assert_eq!(uniform_rows(4, 3, 9), uniform_rows(4, 3, 9));
        assert_ne!(uniform_rows(4, 3, 9), uniform_rows(4, 3, 10));
        let (n, c) = clustered_scaled(10, 4, 2, 3, 0.1, 5, 2);
        assert_eq!((n.len(), c.len()), (40, 20));
        assert!(c.iter().all(|&v| v < 5));
    }
}
