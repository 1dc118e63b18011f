//! Exact path-dependent TreeSHAP (Lundberg et al. 2020), as LightGBM's `pred_contrib` computes
//! it, in O(leaves × path length) per tree and row.
//!
//! For a leaf whose path splits on the unique features `F` (|F| = m) with zero fractions `z`
//! (share of training rows that took the path at the feature's splits, multiplied over repeated
//! splits on the same feature) and leaf value `v`, a row contributes through the set `O ⊆ F` of
//! features whose every split on the path it would follow:
//!
//! - `φ_i -= v · A(O)` for `i ∈ F \ O`,
//! - `φ_i += v · (1 − z_i)/z_i · A(O \ {i})` for `i ∈ O`,
//!
//! with `A(O) = Σ_{S⊆O} w(|S|, m) · Π_{j∈F\S} z_j` and the Shapley weight
//! `w(s, m) = s!(m−s−1)!/m!`. `A` depends on the row only through the bit pattern `O`, so it is
//! tabulated once per leaf for all `2^m` patterns (the idea of FastTreeSHAP v2, Yang 2021); a
//! row then costs one pattern and `m` table reads per leaf. Leaves with more than
//! [`MAX_TABULATED`] unique features fall back to the recursive algorithm for their tree
//! ([`reference`]).

use rayon::prelude::*;

use arbiter_model::forest::{Forest, Tree};

/// Longest unique path tabulated (2^18 entries, 2 MiB, for such a leaf).
pub const MAX_TABULATED: usize = 18;

#[derive(Debug, Clone)]
struct Slot {
    feature: usize,
    /// `(1 − z)/z`.
    scale: f64,
    /// Range in `TreeShap::conds`: the splits on this feature the row must follow.
    conds: std::ops::Range<usize>,
}

#[derive(Debug, Clone)]
struct Leaf {
    value: f64,
    slots: Vec<Slot>,
    /// Offset of this leaf's `2^m` table in `TreeShap::table`.
    table: usize,
}

/// The tabulated form of one tree, or a marker to use the recursive algorithm.
#[derive(Debug, Clone)]
struct TreeShap {
    expected: f64,
    leaves: Vec<Leaf>,
    /// (internal node, goes left).
    conds: Vec<(usize, bool)>,
    table: Vec<f64>,
    fallback: bool,
}

fn shapley_weights(m: usize) -> Vec<f64> {
    // w(s, m) = s!(m−s−1)!/m! = 1 / (m · C(m−1, s)); w(m, m) is never used.
    let mut w = vec![0.0; m + 1];
    let mut binom = 1.0f64; // C(m−1, s)
    for (s, ws) in w.iter_mut().enumerate().take(m) {
        *ws = 1.0 / (m as f64 * binom);
        binom = binom * (m - 1 - s) as f64 / (s + 1) as f64;
    }
    w
}

/// `A(O)` for every pattern `O` of a path with zero fractions `z`.
fn tabulate(z: &[f64]) -> Vec<f64> {
    let m = z.len();
    let w = shapley_weights(m);
    let size = 1usize << m;
    // poly[O] = coefficients of Π_{j∈O} (z_j + t), lowest degree first, stride m + 1.
    let stride = m + 1;
    let mut poly = vec![0.0f64; size * stride];
    poly[0] = 1.0;
    let mut out = vec![0.0f64; size];
    for o in 0..size {
        if o > 0 {
            let b = usize::BITS as usize - 1 - o.leading_zeros() as usize;
            let prev = o & !(1 << b);
            let (src, dst) = poly.split_at_mut(o * stride);
            let src = &src[prev * stride..prev * stride + stride];
            let dst = &mut dst[..stride];
            for k in 0..stride {
                let shifted = if k > 0 { src[k - 1] } else { 0.0 };
                dst[k] = src[k] * z[b] + shifted;
            }
        }
        let p = &poly[o * stride..o * stride + stride];
        let absent: f64 = (0..m).filter(|j| o & (1 << j) == 0).map(|j| z[j]).product();
        let k = o.count_ones() as usize;
        out[o] = absent * (0..=k).map(|s| w[s] * p[s]).sum::<f64>();
    }
    out
}

impl TreeShap {
    fn new(tree: &Tree) -> TreeShap {
        let mut t = TreeShap {
            expected: tree.expected_value(),
            leaves: Vec::new(),
            conds: Vec::new(),
            table: Vec::new(),
            fallback: false,
        };
        if tree.num_leaves <= 1 {
            return t;
        }
        // Depth-first walk collecting, per leaf, its path as (node, goes_left).
        let mut stack: Vec<(i32, Vec<(usize, bool)>)> = vec![(0, Vec::new())];
        let mut paths: Vec<(usize, Vec<(usize, bool)>)> = Vec::new();
        while let Some((node, path)) = stack.pop() {
            if node < 0 {
                paths.push((!node as usize, path));
                continue;
            }
            let n = node as usize;
            let mut l = path.clone();
            l.push((n, true));
            let mut r = path;
            r.push((n, false));
            stack.push((tree.right[n], r));
            stack.push((tree.left[n], l));
        }
        paths.sort_by_key(|p| p.0);
        for (leaf, path) in paths {
            let mut features: Vec<usize> = Vec::new();
            for &(node, _) in &path {
                let f = tree.split_feature[node];
                if !features.contains(&f) {
                    features.push(f);
                }
            }
            if features.len() > MAX_TABULATED {
                t.fallback = true;
                t.leaves.clear();
                t.table.clear();
                t.conds.clear();
                return t;
            }
            let mut slots = Vec::with_capacity(features.len());
            let mut z = Vec::with_capacity(features.len());
            for &f in &features {
                let start = t.conds.len();
                let mut zero = 1.0;
                for &(node, left) in path.iter().filter(|(n, _)| tree.split_feature[*n] == f) {
                    let child = if left {
                        tree.left[node]
                    } else {
                        tree.right[node]
                    };
                    zero *= tree.count(child) / tree.count(node as i32);
                    t.conds.push((node, left));
                }
                z.push(zero);
                slots.push(Slot {
                    feature: f,
                    scale: (1.0 - zero) / zero,
                    conds: start..t.conds.len(),
                });
            }
            let offset = t.table.len();
            t.table.extend(tabulate(&z));
            t.leaves.push(Leaf {
                value: tree.leaf_value[leaf],
                slots,
                table: offset,
            });
        }
        t
    }

    fn add(&self, tree: &Tree, x: &[f64], phi: &mut [f64], left: &mut Vec<bool>) {
        *phi.last_mut().expect("bias slot") += self.expected;
        if tree.num_leaves <= 1 {
            return;
        }
        if self.fallback {
            reference::tree_shap(tree, x, phi);
            return;
        }
        left.clear();
        left.extend((0..tree.num_leaves - 1).map(|n| tree.goes_left(n, x[tree.split_feature[n]])));
        for leaf in &self.leaves {
            let mut pattern = 0usize;
            for (k, slot) in leaf.slots.iter().enumerate() {
                if self.conds[slot.conds.clone()]
                    .iter()
                    .all(|&(n, l)| left[n] == l)
                {
                    pattern |= 1 << k;
                }
            }
            let table = &self.table[leaf.table..];
            let outside = leaf.value * table[pattern];
            for (k, slot) in leaf.slots.iter().enumerate() {
                if pattern & (1 << k) != 0 {
                    phi[slot.feature] += leaf.value * slot.scale * table[pattern & !(1 << k)];
                } else {
                    phi[slot.feature] -= outside;
                }
            }
        }
    }
}

/// Exact SHAP values of a whole LightGBM model.
#[derive(Debug, Clone)]
pub struct Explainer {
    pub forest: Forest,
    trees: Vec<TreeShap>,
}

impl Explainer {
    pub fn new(forest: Forest) -> Explainer {
        let trees = forest.trees.iter().map(TreeShap::new).collect();
        Explainer { forest, trees }
    }

    /// Width of one class's contribution vector: features plus the expected value.
    pub fn width(&self) -> usize {
        self.forest.num_features + 1
    }

    /// Contributions of one row in LightGBM's `pred_contrib` layout: for each class, one value
    /// per feature then the expected value; they sum to the raw score.
    pub fn contributions(&self, x: &[f64]) -> Vec<f64> {
        let w = self.width();
        let mut out = vec![0.0; w * self.forest.num_class];
        let mut scratch = Vec::new();
        for (t, (tree, shap)) in self.forest.trees.iter().zip(&self.trees).enumerate() {
            let class = t % self.forest.num_class;
            shap.add(tree, x, &mut out[class * w..(class + 1) * w], &mut scratch);
        }
        out
    }

    /// Contributions of every row of a row-major matrix, in parallel.
    pub fn contributions_batch(&self, x: &[f64]) -> Vec<f64> {
        let f = self.forest.num_features;
        x.par_chunks(f)
            .flat_map_iter(|row| self.contributions(row))
            .collect()
    }

    /// Memory held by the tables, in bytes.
    pub fn table_bytes(&self) -> usize {
        self.trees.iter().map(|t| t.table.len() * 8).sum()
    }
}

/// LightGBM's recursive TreeSHAP (`Tree::TreeSHAP`), ported line for line: the fallback for
/// trees with very long unique paths, and the oracle the fast path is tested against.
pub mod reference {
    use arbiter_model::forest::Tree;

    #[derive(Debug, Clone, Copy, Default)]
    struct El {
        feature: i64,
        zero: f64,
        one: f64,
        pweight: f64,
    }

    fn extend(path: &mut [El], depth: usize, zero: f64, one: f64, feature: i64) {
        path[depth] = El {
            feature,
            zero,
            one,
            pweight: if depth == 0 { 1.0 } else { 0.0 },
        };
        for i in (0..depth).rev() {
            path[i + 1].pweight += one * path[i].pweight * (i + 1) as f64 / (depth + 1) as f64;
            path[i].pweight = zero * path[i].pweight * (depth - i) as f64 / (depth + 1) as f64;
        }
    }

    fn unwind(path: &mut [El], depth: usize, index: usize) {
        let (one, zero) = (path[index].one, path[index].zero);
        let mut next = path[depth].pweight;
        for i in (0..depth).rev() {
            if one != 0.0 {
                let tmp = path[i].pweight;
                path[i].pweight = next * (depth + 1) as f64 / ((i + 1) as f64 * one);
                next = tmp - path[i].pweight * zero * (depth - i) as f64 / (depth + 1) as f64;
            } else {
                path[i].pweight =
                    path[i].pweight * (depth + 1) as f64 / (zero * (depth - i) as f64);
            }
        }
        for i in index..depth {
            path[i].feature = path[i + 1].feature;
            path[i].zero = path[i + 1].zero;
            path[i].one = path[i + 1].one;
        }
    }

    fn unwound_sum(path: &[El], depth: usize, index: usize) -> f64 {
        let (one, zero) = (path[index].one, path[index].zero);
        let mut next = path[depth].pweight;
        let mut total = 0.0;
        for i in (0..depth).rev() {
            if one != 0.0 {
                let tmp = next * (depth + 1) as f64 / ((i + 1) as f64 * one);
                total += tmp;
                next = path[i].pweight - tmp * zero * ((depth - i) as f64 / (depth + 1) as f64);
            } else {
                total += (path[i].pweight / zero) / ((depth - i) as f64 / (depth + 1) as f64);
            }
        }
        total
    }

    #[allow(clippy::too_many_arguments)]
    fn recurse(
        tree: &Tree,
        x: &[f64],
        phi: &mut [f64],
        node: i32,
        mut depth: usize,
        parent: &[El],
        zero: f64,
        one: f64,
        feature: i64,
    ) {
        let mut path = vec![El::default(); depth + 2];
        path[..depth].copy_from_slice(&parent[..depth]);
        extend(&mut path, depth, zero, one, feature);
        if node < 0 {
            let v = tree.leaf_value[!node as usize];
            for i in 1..=depth {
                let w = unwound_sum(&path, depth, i);
                let el = path[i];
                phi[el.feature as usize] += w * (el.one - el.zero) * v;
            }
            return;
        }
        let n = node as usize;
        let f = tree.split_feature[n];
        let hot = if tree.goes_left(n, x[f]) {
            tree.left[n]
        } else {
            tree.right[n]
        };
        let cold = if hot == tree.left[n] {
            tree.right[n]
        } else {
            tree.left[n]
        };
        let w = tree.count(node);
        let (hot_zero, cold_zero) = (tree.count(hot) / w, tree.count(cold) / w);
        let (mut in_zero, mut in_one) = (1.0, 1.0);
        if let Some(index) = (0..=depth).find(|&i| path[i].feature == f as i64) {
            in_zero = path[index].zero;
            in_one = path[index].one;
            unwind(&mut path, depth, index);
            depth -= 1;
        }
        recurse(
            tree,
            x,
            phi,
            hot,
            depth + 1,
            &path,
            hot_zero * in_zero,
            in_one,
            f as i64,
        );
        recurse(
            tree,
            x,
            phi,
            cold,
            depth + 1,
            &path,
            cold_zero * in_zero,
            0.0,
            f as i64,
        );
    }

    /// Adds one tree's contributions (without its expected value) to `phi`.
    pub fn tree_shap(tree: &Tree, x: &[f64], phi: &mut [f64]) {
        if tree.num_leaves > 1 {
            recurse(tree, x, phi, 0, 0, &[], 1.0, 1.0, -1);
        }
    }
}
