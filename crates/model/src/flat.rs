//! A forest's trees laid out for walking: every node of every tree in one array of 24-byte
//! records, so a walk touches one cache line per node instead of five parallel vectors.
//!
//! The decisions are [`Tree::goes_left`]'s, unchanged: numerical nodes are decided inline
//! (missing-value type and default direction folded into the node's `kind`), categorical
//! nodes defer to the tree's bitsets. A walk ends at a leaf, returned as the tree's own leaf
//! index, so leaf values, leaf counts and the leaf-support table keep their meaning. Leaves
//! are nodes too, pointing back at themselves. Batches walk tree by tree over a block of rows,
//! all rows a level at a time for the tree's depth, so one tree's nodes stay in the
//! first-level cache and the rows' walks overlap instead of waiting on each other's loads.

use crate::forest::Tree;

/// How a node decides. Numerical kinds fold in LightGBM's missing-value type.
const NUMERIC_NONE: u8 = 0;
const NUMERIC_ZERO_LEFT: u8 = 1;
const NUMERIC_ZERO_RIGHT: u8 = 2;
const NUMERIC_NAN_LEFT: u8 = 3;
const NUMERIC_NAN_RIGHT: u8 = 4;
const CATEGORICAL: u8 = 5;
/// A leaf: both children point back at itself, so a walk may take extra steps at no harm.
const LEAF: u8 = 6;
const ZERO_THRESHOLD: f64 = 1e-35;

/// One node: a tree's internal nodes in its own order, then its leaves. Children are
/// positions within the tree's nodes; a leaf keeps its leaf number in `feature`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    threshold: f64,
    feature: u32,
    left: u32,
    right: u32,
    kind: u8,
}

/// The nodes of all trees of a forest.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Flat {
    nodes: Vec<Node>,
    /// Per tree: index of its first node in `nodes`, or `None` for a single-leaf tree.
    roots: Vec<Option<usize>>,
    /// Per tree: the longest path from the root to a leaf, in decisions.
    depth: Vec<u32>,
}

impl Flat {
    pub fn new(trees: &[Tree]) -> Flat {
        let mut nodes = Vec::new();
        let mut roots = Vec::with_capacity(trees.len());
        let mut depth = Vec::with_capacity(trees.len());
        for tree in trees {
            if tree.num_leaves <= 1 {
                roots.push(None);
                depth.push(0);
                continue;
            }
            roots.push(Some(nodes.len()));
            let internal = tree.num_leaves - 1;
            let position = |c: i32| {
                if c >= 0 {
                    c as u32
                } else {
                    (internal + !c as usize) as u32
                }
            };
            for n in 0..internal {
                let dt = tree.decision_type[n];
                let default_left = dt & 2 != 0;
                let kind = if dt & 1 != 0 {
                    CATEGORICAL
                } else {
                    match ((dt >> 2) & 3, default_left) {
                        (1, true) => NUMERIC_ZERO_LEFT,
                        (1, false) => NUMERIC_ZERO_RIGHT,
                        (2, true) => NUMERIC_NAN_LEFT,
                        (2, false) => NUMERIC_NAN_RIGHT,
                        _ => NUMERIC_NONE,
                    }
                };
                nodes.push(Node {
                    threshold: tree.threshold[n],
                    feature: tree.split_feature[n] as u32,
                    left: position(tree.left[n]),
                    right: position(tree.right[n]),
                    kind,
                });
            }
            for leaf in 0..tree.num_leaves {
                let me = (internal + leaf) as u32;
                nodes.push(Node {
                    threshold: 0.0,
                    feature: leaf as u32,
                    left: me,
                    right: me,
                    kind: LEAF,
                });
            }
            depth.push(max_depth(tree));
        }
        Flat {
            nodes,
            roots,
            depth,
        }
    }

    /// Where a row goes from node `n` (position `at` in tree `t`).
    #[inline(always)]
    fn step(trees: &[Tree], t: usize, at: u32, n: &Node, x: &[f64]) -> u32 {
        if n.kind == LEAF {
            return at;
        }
        let fval = x[n.feature as usize];
        let left = match n.kind {
            NUMERIC_NONE => {
                let v = if fval.is_nan() { 0.0 } else { fval };
                v <= n.threshold
            }
            NUMERIC_ZERO_LEFT | NUMERIC_ZERO_RIGHT => {
                let v = if fval.is_nan() { 0.0 } else { fval };
                if (-ZERO_THRESHOLD..=ZERO_THRESHOLD).contains(&v) {
                    n.kind == NUMERIC_ZERO_LEFT
                } else {
                    v <= n.threshold
                }
            }
            NUMERIC_NAN_LEFT | NUMERIC_NAN_RIGHT => {
                if fval.is_nan() {
                    n.kind == NUMERIC_NAN_LEFT
                } else {
                    fval <= n.threshold
                }
            }
            _ => trees[t].goes_left(at as usize, fval),
        };
        if left { n.left } else { n.right }
    }

    /// The leaf of tree `t` a row reaches, equal to `trees[t].leaf(x)`.
    #[inline]
    pub fn leaf(&self, trees: &[Tree], t: usize, x: &[f64]) -> usize {
        let Some(root) = self.roots[t] else {
            return 0;
        };
        let nodes = &self.nodes[root..];
        let mut at = 0u32;
        loop {
            let n = &nodes[at as usize];
            if n.kind == LEAF {
                return n.feature as usize;
            }
            at = Self::step(trees, t, at, n, x);
        }
    }

    /// Leaves of every tree for a block of rows (row-major, `width` values each): `out` gets
    /// `rows × trees` leaf indices, row-major. Walks tree by tree, all rows of the block a
    /// level at a time for the tree's depth (a row at a leaf stays there), so the walks of
    /// different rows overlap instead of waiting on each other's loads.
    pub fn leaves_block(&self, trees: &[Tree], x: &[f64], width: usize, out: &mut [u32]) {
        let nt = self.roots.len();
        let width = width.max(1);
        let rows = x.len() / width;
        let mut at = vec![0u32; rows];
        for t in 0..nt {
            let Some(root) = self.roots[t] else {
                for r in 0..rows {
                    out[r * nt + t] = 0;
                }
                continue;
            };
            let nodes = &self.nodes[root..];
            at.fill(0);
            for _ in 0..self.depth[t] {
                for (a, row) in at.iter_mut().zip(x.chunks_exact(width)) {
                    *a = Self::step(trees, t, *a, &nodes[*a as usize], row);
                }
            }
            for (r, &a) in at.iter().enumerate() {
                out[r * nt + t] = nodes[a as usize].feature;
            }
        }
    }
}

/// The longest root-to-leaf path of a tree, in decisions.
fn max_depth(tree: &Tree) -> u32 {
    let mut deepest = 0;
    let mut stack = vec![(0i32, 0u32)];
    while let Some((node, d)) = stack.pop() {
        if node < 0 {
            deepest = deepest.max(d);
        } else {
            stack.push((tree.left[node as usize], d + 1));
            stack.push((tree.right[node as usize], d + 1));
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Four internal nodes covering every kind: NaN-missing default left, a categorical
    /// bitset, zero-missing default right, and a plain numerical split.
    fn tree() -> Tree {
        Tree {
            num_leaves: 5,
            split_feature: vec![0, 1, 2, 0],
            threshold: vec![0.5, 0.0, -1.0, 2.0],
            decision_type: vec![2 | (2 << 2), 1, 1 << 2, 0],
            left: vec![1, -1, 3, -3],
            right: vec![2, -2, -4, -5],
            leaf_value: vec![0.1, 0.2, 0.3, 0.4, 0.5],
            leaf_count: vec![1.0; 5],
            internal_count: vec![5.0, 2.0, 3.0, 2.0],
            cat_boundaries: vec![0, 1],
            cat_threshold: vec![0b1010],
        }
    }

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(f64::NAN),
            Just(0.0),
            Just(-0.0),
            Just(1e-36),
            (-4i32..6).prop_map(f64::from),
            -4.0f64..6.0,
        ]
    }

    proptest! {
        #[test]
        fn the_walking_layout_reaches_the_same_leaf_as_the_tree(
            rows in proptest::collection::vec(proptest::collection::vec(value(), 3), 1..40),
        ) {
            let trees = vec![tree(), tree()];
            let flat = Flat::new(&trees);
            let x: Vec<f64> = rows.iter().flatten().copied().collect();
            let mut block = vec![0u32; rows.len() * 2];
            flat.leaves_block(&trees, &x, 3, &mut block);
            for (r, row) in rows.iter().enumerate() {
                let want = trees[0].leaf(row);
                prop_assert_eq!(flat.leaf(&trees, 0, row), want);
                prop_assert_eq!(block[r * 2] as usize, want);
                prop_assert_eq!(block[r * 2 + 1] as usize, want);
            }
        }
    }
}
