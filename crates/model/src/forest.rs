//! LightGBM's model text, parsed into trees Arbiter can walk, explain and search.
//!
//! Decisions follow LightGBM's `Tree::NumericalDecision` and `Tree::CategoricalDecision`
//! exactly (missing-value types, default directions, category bitsets), so a prediction here
//! equals LightGBM's raw score and the explanations refer to the same paths.

use crate::error::ModelError;
use crate::flat::Flat;

/// Bits of LightGBM's `decision_type`.
const CATEGORICAL_MASK: u8 = 1;
const DEFAULT_LEFT_MASK: u8 = 2;
const MISSING_ZERO: u8 = 1;
const MISSING_NAN: u8 = 2;
const ZERO_THRESHOLD: f64 = 1e-35;

/// One regression tree. Children are node indices when non-negative, `!leaf` otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    pub num_leaves: usize,
    pub split_feature: Vec<usize>,
    pub threshold: Vec<f64>,
    pub decision_type: Vec<u8>,
    pub left: Vec<i32>,
    pub right: Vec<i32>,
    pub leaf_value: Vec<f64>,
    /// Training rows that reached each leaf (LightGBM's `leaf_count`).
    pub leaf_count: Vec<f64>,
    /// Training rows that reached each internal node.
    pub internal_count: Vec<f64>,
    pub cat_boundaries: Vec<usize>,
    pub cat_threshold: Vec<u32>,
}

/// All trees of one LightGBM model.
#[derive(Debug, Clone, PartialEq)]
pub struct Forest {
    /// Classes (1 for a binary model); tree `t` belongs to class `t % num_class`.
    pub num_class: usize,
    pub num_features: usize,
    pub trees: Vec<Tree>,
    /// The same trees laid out for walking.
    flat: Flat,
}

fn values<T: std::str::FromStr>(
    key: &str,
    text: Option<&str>,
    want: usize,
    tree: usize,
) -> Result<Vec<T>, ModelError> {
    let text = text.unwrap_or("");
    let parsed: Result<Vec<T>, _> = text.split_whitespace().map(str::parse).collect();
    let parsed = parsed.map_err(|_| {
        ModelError::ModelText(format!(
            "tree {tree}: {key} holds a value that does not parse"
        ))
    })?;
    if parsed.len() != want {
        return Err(ModelError::ModelText(format!(
            "tree {tree}: {key} has {} values, expected {want}",
            parsed.len()
        )));
    }
    Ok(parsed)
}

impl Tree {
    fn parse(block: &str, index: usize) -> Result<Tree, ModelError> {
        let get = |key: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        };
        if get("is_linear").is_some_and(|v| v.trim() != "0") {
            return Err(ModelError::ModelText(format!(
                "tree {index} is a linear tree, which Arbiter cannot explain"
            )));
        }
        let num_leaves: usize = get("num_leaves")
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| ModelError::ModelText(format!("tree {index} has no num_leaves")))?;
        let num_cat: usize = get("num_cat")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let n = num_leaves.saturating_sub(1);
        let leaf_count = values::<f64>("leaf_count", get("leaf_count"), num_leaves, index)?;
        let mut tree = Tree {
            num_leaves,
            split_feature: values("split_feature", get("split_feature"), n, index)?,
            threshold: values("threshold", get("threshold"), n, index)?,
            decision_type: values::<i16>("decision_type", get("decision_type"), n, index)?
                .into_iter()
                .map(|v| v as u8)
                .collect(),
            left: values("left_child", get("left_child"), n, index)?,
            right: values("right_child", get("right_child"), n, index)?,
            leaf_value: values("leaf_value", get("leaf_value"), num_leaves, index)?,
            leaf_count,
            internal_count: values("internal_count", get("internal_count"), n, index)?,
            cat_boundaries: Vec::new(),
            cat_threshold: Vec::new(),
        };
        if num_cat > 0 {
            tree.cat_boundaries =
                values("cat_boundaries", get("cat_boundaries"), num_cat + 1, index)?;
            let words = *tree.cat_boundaries.last().expect("num_cat + 1 > 0");
            tree.cat_threshold = values("cat_threshold", get("cat_threshold"), words, index)?;
        }
        Ok(tree)
    }

    /// Whether a row with value `fval` goes left at internal node `node`.
    #[inline(always)]
    pub fn goes_left(&self, node: usize, fval: f64) -> bool {
        let dt = self.decision_type[node];
        if dt & CATEGORICAL_MASK != 0 {
            if fval.is_nan() {
                return false;
            }
            // LightGBM casts to int (truncating toward zero); negative codes go right.
            let v = fval as i64;
            if v < 0 || v > i64::from(i32::MAX) {
                return false;
            }
            let cat = self.threshold[node] as usize;
            let (lo, hi) = (self.cat_boundaries[cat], self.cat_boundaries[cat + 1]);
            let word = (v / 32) as usize;
            return word < hi - lo && (self.cat_threshold[lo + word] >> (v % 32)) & 1 == 1;
        }
        let missing = (dt >> 2) & 3;
        let mut x = fval;
        if x.is_nan() && missing != MISSING_NAN {
            x = 0.0;
        }
        if (missing == MISSING_ZERO && (-ZERO_THRESHOLD..=ZERO_THRESHOLD).contains(&x))
            || (missing == MISSING_NAN && x.is_nan())
        {
            return dt & DEFAULT_LEFT_MASK != 0;
        }
        x <= self.threshold[node]
    }

    /// The leaf a row reaches.
    pub fn leaf(&self, x: &[f64]) -> usize {
        if self.num_leaves <= 1 {
            return 0;
        }
        let mut node = 0i32;
        while node >= 0 {
            let n = node as usize;
            node = if self.goes_left(n, x[self.split_feature[n]]) {
                self.left[n]
            } else {
                self.right[n]
            };
        }
        !node as usize
    }

    /// Training rows reaching a node (internal when `node >= 0`, else the leaf `!node`).
    pub fn count(&self, node: i32) -> f64 {
        if node >= 0 {
            self.internal_count[node as usize]
        } else {
            self.leaf_count[!node as usize]
        }
    }

    /// The mean output over training rows: LightGBM's `Tree::ExpectedValue`.
    pub fn expected_value(&self) -> f64 {
        if self.num_leaves <= 1 {
            return self.leaf_value[0];
        }
        let total = self.internal_count[0];
        self.leaf_value
            .iter()
            .zip(&self.leaf_count)
            .map(|(v, c)| c / total * v)
            .sum()
    }
}

impl Forest {
    /// Parses LightGBM's text model format.
    pub fn parse(text: &str) -> Result<Forest, ModelError> {
        let header = text.split("\nTree=").next().unwrap_or("");
        let field = |key: &str| {
            header
                .lines()
                .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
                .and_then(|v| v.trim().parse::<usize>().ok())
        };
        let num_class = field("num_tree_per_iteration")
            .or_else(|| field("num_class"))
            .ok_or_else(|| ModelError::ModelText("the model text names no num_class".into()))?;
        let num_features = field("max_feature_idx").map(|m| m + 1).ok_or_else(|| {
            ModelError::ModelText("the model text names no max_feature_idx".into())
        })?;
        let body = text.split("\nend of trees").next().unwrap_or(text);
        let trees = body
            .split("\nTree=")
            .skip(1)
            .enumerate()
            .map(|(i, block)| Tree::parse(block, i))
            .collect::<Result<Vec<_>, _>>()?;
        if trees.is_empty() {
            return Err(ModelError::ModelText(
                "the model text holds no trees".into(),
            ));
        }
        for (i, t) in trees.iter().enumerate() {
            if t.split_feature.iter().any(|&f| f >= num_features) {
                return Err(ModelError::ModelText(format!(
                    "tree {i} splits on a feature beyond max_feature_idx"
                )));
            }
        }
        Ok(Forest {
            num_class,
            num_features,
            flat: Flat::new(&trees),
            trees,
        })
    }

    /// Raw scores (per class) of one row: LightGBM's `raw_score` prediction.
    pub fn raw(&self, x: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.num_class];
        self.raw_into(x, &mut out);
        out
    }

    /// Adds the raw scores of one row to `out` (one slot per class).
    pub fn raw_into(&self, x: &[f64], out: &mut [f64]) {
        for (t, tree) in self.trees.iter().enumerate() {
            out[t % self.num_class] += tree.leaf_value[self.flat.leaf(&self.trees, t, x)];
        }
    }

    /// Adds to `out` (one slot per class) the raw scores of one row from the leaves it
    /// reached, `leaves[t]` for tree `t` — the same sum, in the same order, as `raw_into`.
    pub fn raw_from_leaves(&self, leaves: &[u32], out: &mut [f64]) {
        for (t, (tree, &leaf)) in self.trees.iter().zip(leaves).enumerate() {
            out[t % self.num_class] += tree.leaf_value[leaf as usize];
        }
    }

    /// Leaves of every tree for a block of rows (row-major, `width` values each): `out` gets
    /// `rows × trees` leaf indices, row-major. Walks tree by tree, so each tree's nodes stay
    /// in cache while the block passes through it.
    pub fn leaves_block(&self, x: &[f64], width: usize, out: &mut [u32]) {
        self.flat.leaves_block(&self.trees, x, width, out);
    }
}
