//! Exact path-dependent TreeSHAP (Lundberg et al. 2020), as LightGBM's `pred_contrib` computes
//! it, in O(leaves × path length) per tree and distinct decision pattern.
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
//! tabulated once per leaf for all `2^m` patterns (the idea of FastTreeSHAP v2, Yang 2021).
//!
//! Layout: a row's decisions at a tree's internal nodes form one 64-bit word; a leaf stores
//! which nodes lie on its path, which way the path goes there, and per feature the nodes that
//! split on it, so a row's pattern at a leaf is a few AND operations. And since a tree's
//! contributions depend on the row only through that word, a batch computes them once per
//! distinct word and adds them to every row that shares it: alerts arrive in bursts of
//! near-identical rows, which then cost one decision walk each.
//!
//! Across calls, an explainer built [`Explainer::with_memo`] keeps the contributions of the
//! decision words it has seen, per tree, up to a byte budget: a lone alert like earlier ones
//! then costs its decision walks, not the leaf sums, as a batch row does. The values are the
//! ones computed the first time, so results are the same, bit for bit, with or without it.
//!
//! Trees with more than 64 internal nodes, or a leaf with more than [`MAX_TABULATED`] unique
//! features on its path, use the recursive algorithm ([`reference`]) instead.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use arbiter_model::forest::{Forest, Tree};

/// Longest unique path tabulated (2^18 entries, 2 MiB, for such a leaf).
pub const MAX_TABULATED: usize = 18;
/// Largest number of internal nodes whose decisions fit one word.
const MAX_NODES: usize = 64;

/// One feature on one leaf's path.
#[derive(Debug, Clone, Copy)]
struct Slot {
    feature: usize,
    /// The path's nodes that split on this feature.
    nodes: u64,
    /// `v · (1 − z)/z` for the leaf's value `v` and the feature's zero fraction `z`.
    weight: f64,
}

#[derive(Debug, Clone)]
struct Leaf {
    value: f64,
    /// Range of this leaf's features in `TreeShap::slots`.
    slots: std::ops::Range<usize>,
    /// Nodes on the path, and at which of them the path goes left.
    path: u64,
    left: u64,
    /// Offset of this leaf's `2^m` table in `TreeShap::table`.
    table: usize,
}

/// The tabulated form of one tree, or a marker to use the recursive algorithm.
#[derive(Debug, Clone)]
struct TreeShap {
    expected: f64,
    leaves: Vec<Leaf>,
    slots: Vec<Slot>,
    table: Vec<f64>,
    /// The distinct features the tree splits on: the only contributions it can change.
    features: Vec<usize>,
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

/// Per leaf, its path from the root as (node, goes left), leaves in index order.
fn paths(tree: &Tree) -> Vec<Vec<(usize, bool)>> {
    let mut stack: Vec<(i32, Vec<(usize, bool)>)> = vec![(0, Vec::new())];
    let mut out: Vec<(usize, Vec<(usize, bool)>)> = Vec::new();
    while let Some((node, path)) = stack.pop() {
        if node < 0 {
            out.push((!node as usize, path));
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
    out.sort_by_key(|p| p.0);
    out.into_iter().map(|p| p.1).collect()
}

impl TreeShap {
    fn new(tree: &Tree) -> TreeShap {
        let mut features = tree.split_feature[..tree.num_leaves.saturating_sub(1)].to_vec();
        features.sort_unstable();
        features.dedup();
        let mut t = TreeShap {
            expected: tree.expected_value(),
            leaves: Vec::new(),
            slots: Vec::new(),
            table: Vec::new(),
            features,
            fallback: tree.num_leaves - 1 > MAX_NODES,
        };
        if tree.num_leaves <= 1 || t.fallback {
            return t;
        }
        for (leaf, path) in paths(tree).into_iter().enumerate() {
            let mut unique: Vec<usize> = Vec::new();
            for &(node, _) in &path {
                let f = tree.split_feature[node];
                if !unique.contains(&f) {
                    unique.push(f);
                }
            }
            if unique.len() > MAX_TABULATED {
                t.fallback = true;
                t.leaves.clear();
                t.slots.clear();
                t.table.clear();
                return t;
            }
            let first = t.slots.len();
            let value = tree.leaf_value[leaf];
            let mut z = Vec::with_capacity(unique.len());
            for &f in &unique {
                let mut zero = 1.0;
                let mut nodes = 0u64;
                for &(node, left) in path.iter().filter(|(n, _)| tree.split_feature[*n] == f) {
                    let child = if left {
                        tree.left[node]
                    } else {
                        tree.right[node]
                    };
                    zero *= tree.count(child) / tree.count(node as i32);
                    nodes |= 1 << node;
                }
                z.push(zero);
                t.slots.push(Slot {
                    feature: f,
                    nodes,
                    weight: value * (1.0 - zero) / zero,
                });
            }
            let offset = t.table.len();
            t.table.extend(tabulate(&z));
            t.leaves.push(Leaf {
                value,
                slots: first..t.slots.len(),
                path: path.iter().fold(0, |acc, &(n, _)| acc | 1 << n),
                left: path
                    .iter()
                    .filter(|p| p.1)
                    .fold(0, |acc, &(n, _)| acc | 1 << n),
                table: offset,
            });
        }
        t
    }

    /// The row's decision at every internal node, bit `n` set when it goes left at node `n`.
    fn decisions(tree: &Tree, x: &[f64]) -> u64 {
        let mut bits = 0u64;
        for n in 0..tree.num_leaves - 1 {
            if tree.goes_left(n, x[tree.split_feature[n]]) {
                bits |= 1 << n;
            }
        }
        bits
    }

    /// Adds the contributions of a row with decisions `bits` to `phi` (not the expected value).
    fn add(&self, bits: u64, phi: &mut [f64]) {
        for leaf in &self.leaves {
            let away = (bits ^ leaf.left) & leaf.path;
            let slots = &self.slots[leaf.slots.clone()];
            let mut pattern = 0usize;
            for (k, slot) in slots.iter().enumerate() {
                pattern |= usize::from(away & slot.nodes == 0) << k;
            }
            let table = &self.table[leaf.table..];
            let outside = leaf.value * table[pattern];
            for (k, slot) in slots.iter().enumerate() {
                if pattern & (1 << k) != 0 {
                    phi[slot.feature] += slot.weight * table[pattern & !(1 << k)];
                } else {
                    phi[slot.feature] -= outside;
                }
            }
        }
    }
}

/// Contributions kept across calls: per tree, decision word → one value per feature the tree
/// splits on. Entries are never evicted; once the budget is spent nothing more is kept.
#[derive(Debug)]
struct Memo {
    trees: Vec<Mutex<HashMap<u64, Box<[f64]>>>>,
    used: AtomicUsize,
    budget: usize,
}

/// Bytes one memo entry of `k` values costs, roughly (key, box, table slot, values).
fn entry_bytes(k: usize) -> usize {
    8 + 16 + 16 + 8 * k
}

impl Memo {
    fn new(trees: usize, budget: usize) -> Memo {
        Memo {
            trees: (0..trees).map(|_| Mutex::new(HashMap::new())).collect(),
            used: AtomicUsize::new(0),
            budget,
        }
    }

    /// Appends tree `t`'s values for `word` to `out` when kept; false when not.
    fn extend(&self, t: usize, word: u64, out: &mut Vec<f64>) -> bool {
        let map = self.trees[t].lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&word) {
            Some(v) => {
                out.extend_from_slice(v);
                true
            }
            None => false,
        }
    }

    fn keep(&self, t: usize, word: u64, values: &[f64]) {
        let cost = entry_bytes(values.len());
        if self.used.fetch_add(cost, Ordering::Relaxed) + cost > self.budget {
            self.used.fetch_sub(cost, Ordering::Relaxed);
            return;
        }
        let mut map = self.trees[t].lock().unwrap_or_else(|e| e.into_inner());
        if map.insert(word, values.into()).is_some() {
            self.used.fetch_sub(cost, Ordering::Relaxed);
        }
    }
}

/// One tree's contributions for a batch: per distinct decision word, one value per feature the
/// tree splits on, and for each row the index of its word.
struct Groups {
    of_row: Vec<u32>,
    phi: Vec<f64>,
}

impl TreeShap {
    fn groups(
        &self,
        tree: &Tree,
        x: &[f64],
        (f, w): (usize, usize),
        memo: Option<(&Memo, usize)>,
    ) -> Groups {
        let rows = x.len() / f;
        if tree.num_leaves <= 1 {
            return Groups {
                of_row: Vec::new(),
                phi: Vec::new(),
            };
        }
        let row = |r: usize| &x[r * f..(r + 1) * f];
        let mut keyed: Vec<(u64, usize)> = if self.fallback {
            // No shared word: every row is its own group.
            (0..rows).map(|r| (r as u64, r)).collect()
        } else {
            let mut k: Vec<(u64, usize)> = (0..rows)
                .map(|r| (TreeShap::decisions(tree, row(r)), r))
                .collect();
            k.sort_unstable();
            k
        };
        let mut of_row = vec![0u32; rows];
        let mut phi = Vec::new();
        let mut scratch = vec![0.0; w];
        let memo = memo.filter(|_| !self.fallback);
        for (g, group) in keyed.chunk_by_mut(|a, b| a.0 == b.0).enumerate() {
            for &j in &self.features {
                scratch[j] = 0.0;
            }
            let word = group[0].0;
            if !memo.is_some_and(|(m, t)| m.extend(t, word, &mut phi)) {
                if self.fallback {
                    reference::tree_shap(tree, row(group[0].1), &mut scratch);
                } else {
                    self.add(word, &mut scratch);
                }
                let start = phi.len();
                phi.extend(self.features.iter().map(|&j| scratch[j]));
                if let Some((m, t)) = memo {
                    m.keep(t, word, &phi[start..]);
                }
            }
            for &(_, r) in group.iter() {
                of_row[r] = g as u32;
            }
        }
        Groups { of_row, phi }
    }
}

/// Exact SHAP values of a whole LightGBM model.
#[derive(Debug, Clone)]
pub struct Explainer {
    pub forest: Forest,
    trees: Vec<TreeShap>,
    /// Shared by clones: the same forest gives the same values.
    memo: Option<std::sync::Arc<Memo>>,
}

impl Explainer {
    /// An explainer that computes every call afresh.
    pub fn new(forest: Forest) -> Explainer {
        let trees = forest.trees.iter().map(TreeShap::new).collect();
        Explainer {
            forest,
            trees,
            memo: None,
        }
    }

    /// An explainer that keeps the contributions of decision words it has computed, up to
    /// `budget` bytes, and reuses them in later calls (see the module documentation).
    pub fn with_memo(forest: Forest, budget: usize) -> Explainer {
        let mut e = Explainer::new(forest);
        e.memo = Some(std::sync::Arc::new(Memo::new(e.trees.len(), budget)));
        e
    }

    /// Bytes the memo holds (0 without one).
    pub fn memo_bytes(&self) -> usize {
        self.memo
            .as_ref()
            .map_or(0, |m| m.used.load(Ordering::Relaxed))
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
        let mut phi = vec![0.0; w];
        for (t, (tree, shap)) in self.forest.trees.iter().zip(&self.trees).enumerate() {
            let base = (t % self.forest.num_class) * w;
            out[base + w - 1] += shap.expected;
            if tree.num_leaves <= 1 {
                continue;
            }
            // As in a batch: the tree's contributions on their own, then added in tree order.
            for &j in &shap.features {
                phi[j] = 0.0;
            }
            if shap.fallback {
                reference::tree_shap(tree, x, &mut phi);
            } else {
                shap.add(TreeShap::decisions(tree, x), &mut phi);
            }
            for &j in &shap.features {
                out[base + j] += phi[j];
            }
        }
        out
    }

    /// Contributions of every row of a row-major matrix, each row laid out as
    /// [`Explainer::contributions`] returns it. Trees run in parallel, each computing its
    /// contributions once per distinct decision word; rows then add them up in tree order, so
    /// the result is the same, bit for bit, whatever the batch or the number of threads.
    pub fn contributions_batch(&self, x: &[f64]) -> Vec<f64> {
        let f = self.forest.num_features.max(1);
        let rows = x.len() / f;
        let w = self.width();
        let stride = w * self.forest.num_class;
        let groups: Vec<Groups> = self
            .forest
            .trees
            .par_iter()
            .zip(&self.trees)
            .enumerate()
            .map(|(t, (tree, shap))| {
                let memo = self.memo.as_deref().map(|m| (m, t));
                shap.groups(tree, x, (f, w), memo)
            })
            .collect();
        let mut out = vec![0.0; rows * stride];
        out.par_chunks_mut(stride).enumerate().for_each(|(r, o)| {
            for (t, (shap, g)) in self.trees.iter().zip(&groups).enumerate() {
                let base = (t % self.forest.num_class) * w;
                o[base + w - 1] += shap.expected;
                if g.of_row.is_empty() {
                    continue;
                }
                let k = shap.features.len();
                let phi = &g.phi[g.of_row[r] as usize * k..][..k];
                for (&j, v) in shap.features.iter().zip(phi) {
                    o[base + j] += v;
                }
            }
        });
        out
    }

    /// How much a batch shares: over the tabulated trees, (distinct decision words, rows ×
    /// trees) for the rows of `x` taken as one block.
    pub fn sharing(&self, x: &[f64]) -> (usize, usize) {
        let f = self.forest.num_features.max(1);
        let rows = x.len() / f;
        let (mut distinct, mut total) = (0, 0);
        for (tree, shap) in self.forest.trees.iter().zip(&self.trees) {
            if tree.num_leaves <= 1 || shap.fallback {
                continue;
            }
            let mut words: Vec<u64> = x
                .chunks(f)
                .map(|row| TreeShap::decisions(tree, row))
                .collect();
            words.sort_unstable();
            words.dedup();
            distinct += words.len();
            total += rows;
        }
        (distinct, total)
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
