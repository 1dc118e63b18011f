//! The smallest change to the top drivers that flips the verdict, searched over the trees' own
//! split points: a value just across a threshold is the least change that can matter to a
//! tree, so no other value needs trying.

use arbiter_core::{Change, Counterfactual, FieldValue, Verdict};

use crate::drivers::{number, show};
use arbiter_model::forest::{Forest, Tree};

/// Top drivers whose values are varied.
pub const VARIED: usize = 3;
/// Nearest candidate values per feature and direction tried for single changes, and for pairs.
const SINGLE: usize = 24;
const PAIRED: usize = 8;

/// Whether two values fall between the same adjacent split points.
fn same_interval(t: &[f64], a: f64, b: f64) -> bool {
    t.partition_point(|&x| x < a) == t.partition_point(|&x| x < b)
}

/// Per feature: where the trees split on it.
#[derive(Debug, Clone)]
pub enum Splits {
    Numeric(Vec<f64>),
    Categorical(Vec<u32>),
    Unused,
}

/// The ensemble members' trees, indexed for changing one or two features at a time.
#[derive(Debug, Clone)]
pub struct Search {
    members: Vec<Forest>,
    splits: Vec<Splits>,
}

/// The value with the fewest decimals in `(lo, hi]` closest to `lo` (`up`) or to `hi`. Every
/// value between two adjacent split points is the same to every tree, so this is only about
/// what the analyst reads.
fn nicest(lo: f64, hi: f64, up: bool) -> f64 {
    for d in 0..=12 {
        let s = 10f64.powi(d);
        let v = if up {
            (lo * s).floor() / s + 1.0 / s
        } else {
            (hi * s).floor() / s
        };
        if v > lo && v <= hi {
            return v;
        }
    }
    hi
}

impl Search {
    pub fn new(members: &[Forest], categorical: &[usize]) -> Search {
        let n = members.first().map_or(0, |f| f.num_features);
        let mut thresholds: Vec<Vec<f64>> = vec![Vec::new(); n];
        let mut codes: Vec<Vec<u32>> = vec![Vec::new(); n];
        for forest in members {
            for tree in &forest.trees {
                for (node, &f) in tree.split_feature.iter().enumerate() {
                    if tree.decision_type[node] & 1 == 1 {
                        let cat = tree.threshold[node] as usize;
                        let (lo, hi) = (tree.cat_boundaries[cat], tree.cat_boundaries[cat + 1]);
                        for (w, word) in tree.cat_threshold[lo..hi].iter().enumerate() {
                            for b in 0..32 {
                                if word >> b & 1 == 1 {
                                    codes[f].push((w * 32 + b) as u32);
                                }
                            }
                        }
                    } else {
                        thresholds[f].push(tree.threshold[node]);
                    }
                }
            }
        }
        let splits = (0..n)
            .map(|f| {
                if categorical.contains(&f) {
                    let mut c = std::mem::take(&mut codes[f]);
                    c.sort_unstable();
                    c.dedup();
                    if c.is_empty() {
                        Splits::Unused
                    } else {
                        Splits::Categorical(c)
                    }
                } else {
                    let mut t = std::mem::take(&mut thresholds[f]);
                    t.sort_by(f64::total_cmp);
                    t.dedup();
                    if t.is_empty() {
                        Splits::Unused
                    } else {
                        Splits::Numeric(t)
                    }
                }
            })
            .collect();
        Search {
            members: members.to_vec(),
            splits,
        }
    }

    /// Candidate values for feature `f` from `x`, with their cost (distance scaled by `scale`),
    /// cheapest first.
    fn candidates(&self, f: usize, x: f64, scale: f64, limit: usize) -> Vec<(f64, f64)> {
        let mut out: Vec<(f64, f64)> = match &self.splits[f] {
            Splits::Unused => Vec::new(),
            Splits::Categorical(codes) => codes
                .iter()
                .filter(|&&c| x.is_nan() || c as f64 != x)
                .map(|&c| (c as f64, 1.0))
                .collect(),
            Splits::Numeric(t) => {
                // One value per interval between adjacent split points (and beyond the ends).
                let n = t.len();
                let mut v = Vec::with_capacity(n + 1);
                v.push(nicest(t[0] - t[0].abs().max(1.0), t[0], false));
                for i in 0..n {
                    let hi = if i + 1 < n {
                        t[i + 1]
                    } else {
                        t[i] + t[i].abs().max(1.0)
                    };
                    let up = x.is_nan() || x <= t[i];
                    v.push(nicest(t[i], hi, up));
                }
                v.into_iter()
                    .filter(|v| x.is_nan() || !same_interval(t, *v, x))
                    .map(|v| {
                        (
                            v,
                            if x.is_nan() {
                                1.0
                            } else {
                                (v - x).abs() / scale
                            },
                        )
                    })
                    .collect()
            }
        };
        out.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.total_cmp(&b.0)));
        out.dedup_by(|a, b| a.0 == b.0);
        out.truncate(limit);
        out
    }

    /// The ensemble as seen by one row when only `free` features may change: each tree cut
    /// down to the part the row can still reach, whose every node splits on a free feature.
    /// Candidate values are then tried on these small trees instead of the whole ensemble.
    fn reduce<'s>(&'s self, x: &[f64], free: &[usize], base: &'s [Vec<f64>]) -> Reduced<'s> {
        let mut r = Reduced {
            search: self,
            base,
            totals: base.iter().map(|b| b.iter().sum()).collect(),
            trees: Vec::new(),
            nodes: Vec::new(),
            leaves: Vec::new(),
        };
        for (m, forest) in self.members.iter().enumerate() {
            for (t, tree) in forest.trees.iter().enumerate() {
                if tree.num_leaves <= 1 || !tree.split_feature.iter().any(|f| free.contains(f)) {
                    continue;
                }
                let first = r.leaves.len();
                let root = r.cut(tree, x, free, 0);
                if root >= 0 {
                    r.trees.push((m, t, root, first..r.leaves.len()));
                } else {
                    // Nothing free on the row's path: this tree cannot change.
                    r.leaves.truncate(first);
                }
            }
        }
        r
    }
}

/// The trees of a [`Search`] reduced to the free features of one row.
struct Reduced<'s> {
    search: &'s Search,
    /// Per member and tree, the leaf value of the unchanged row.
    base: &'s [Vec<f64>],
    /// Per member, the margin of the unchanged row (the sum of `base`).
    totals: Vec<f64>,
    /// (member, tree, root node in `nodes`, its leaves in `leaves`).
    trees: Vec<(usize, usize, i32, std::ops::Range<usize>)>,
    /// (node in the original tree, left, right); children `< 0` are `!index` into `leaves`.
    nodes: Vec<(usize, i32, i32)>,
    leaves: Vec<f64>,
}

impl Reduced<'_> {
    fn cut(&mut self, tree: &Tree, x: &[f64], free: &[usize], mut node: i32) -> i32 {
        loop {
            if node < 0 {
                self.leaves.push(tree.leaf_value[!node as usize]);
                return !(self.leaves.len() as i32 - 1);
            }
            let n = node as usize;
            let f = tree.split_feature[n];
            if free.contains(&f) {
                let l = self.cut(tree, x, free, tree.left[n]);
                let r = self.cut(tree, x, free, tree.right[n]);
                self.nodes.push((n, l, r));
                return self.nodes.len() as i32 - 1;
            }
            node = if tree.goes_left(n, x[f]) {
                tree.left[n]
            } else {
                tree.right[n]
            };
        }
    }

    /// Mean member margin with `row` (the row after the change).
    fn margin(&self, row: &[f64]) -> f64 {
        let mut margins = self.totals.clone();
        for &(m, t, root, _) in &self.trees {
            let tree = &self.search.members[m].trees[t];
            let mut node = root;
            while node >= 0 {
                let (n, l, r) = self.nodes[node as usize];
                node = if tree.goes_left(n, row[tree.split_feature[n]]) {
                    l
                } else {
                    r
                };
            }
            margins[m] += self.leaves[!node as usize] - self.base[m][t];
        }
        margins.iter().sum::<f64>() / margins.len() as f64
    }

    /// The furthest the mean margin could move, down (`down`) or up, whatever values the free
    /// features took: each tree sent to its most extreme reachable leaf. Trees are bounded one
    /// by one (a value cannot really take different sides in different trees), so this
    /// over-reaches; when even it does not flip the verdict, no value does.
    fn bound(&self, down: bool) -> f64 {
        let mut margins = self.totals.clone();
        for (m, t, _, leaves) in &self.trees {
            let reach = self.leaves[leaves.clone()].iter().copied();
            let best = if down {
                reach.fold(f64::INFINITY, f64::min)
            } else {
                reach.fold(f64::NEG_INFINITY, f64::max)
            };
            margins[*m] += best - self.base[*m][*t];
        }
        margins.iter().sum::<f64>() / margins.len() as f64
    }
}

/// Inputs of one search.
pub struct Query<'a> {
    /// Encoded row.
    pub x: &'a [f64],
    /// Features to vary, most important first.
    pub features: &'a [usize],
    pub names: &'a [String],
    /// Scale of each feature for the cost of a change (benign 10–90 % width).
    pub scale: &'a [f64],
    /// Turns a code back into its category, for display.
    pub category: &'a dyn Fn(usize, f64) -> FieldValue,
    pub calibrate: &'a dyn Fn(f64) -> f64,
    pub p: f64,
}

/// A candidate flip: its cost, the changes (feature, new value) and p after.
type Flip = (f64, Vec<(usize, f64)>, f64);

pub fn search(s: &Search, q: &Query<'_>) -> Counterfactual {
    let base: Vec<Vec<f64>> = s
        .members
        .iter()
        .map(|f| f.trees.iter().map(|t| t.leaf_value[t.leaf(q.x)]).collect())
        .collect();
    let malicious = q.p >= 0.5;
    let flips = |p: f64| (p >= 0.5) != malicious;
    let shown = |f: usize, v: f64| -> FieldValue {
        if v.is_nan() {
            FieldValue::Missing
        } else if matches!(s.splits[f], Splits::Categorical(_)) {
            (q.category)(f, v)
        } else {
            FieldValue::Number(v)
        }
    };
    let features: Vec<usize> = q.features.iter().copied().take(VARIED).collect();
    let mut row = q.x.to_vec();
    let mut best: Option<Flip> = None;
    // The calibrators are monotone in the margin, so a bound that does not flip rules a
    // feature (or a pair) out exactly.
    let reachable = |r: &Reduced| flips((q.calibrate)(r.bound(malicious)));
    for &f in &features {
        let reduced = s.reduce(q.x, &[f], &base);
        if !reachable(&reduced) {
            continue;
        }
        for (v, cost) in s.candidates(f, q.x[f], q.scale[f], SINGLE) {
            row[f] = v;
            let p = (q.calibrate)(reduced.margin(&row));
            row[f] = q.x[f];
            if flips(p) {
                if best.as_ref().is_none_or(|b| cost < b.0) {
                    best = Some((cost, vec![(f, v)], p));
                }
                break;
            }
        }
    }
    if best.is_none() {
        for (i, &a) in features.iter().enumerate() {
            for &b in &features[i + 1..] {
                let reduced = s.reduce(q.x, &[a, b], &base);
                if !reachable(&reduced) {
                    continue;
                }
                for (va, ca) in s.candidates(a, q.x[a], q.scale[a], PAIRED) {
                    for (vb, cb) in s.candidates(b, q.x[b], q.scale[b], PAIRED) {
                        let cost = ca + cb;
                        if best.as_ref().is_some_and(|x| cost >= x.0) {
                            continue;
                        }
                        row[a] = va;
                        row[b] = vb;
                        let p = (q.calibrate)(reduced.margin(&row));
                        row[a] = q.x[a];
                        row[b] = q.x[b];
                        if flips(p) {
                            best = Some((cost, vec![(a, va), (b, vb)], p));
                        }
                    }
                }
            }
        }
    }
    let to = if malicious {
        Verdict::Benign
    } else {
        Verdict::Malicious
    };
    match best {
        Some((_, changes, p_after)) => {
            let changes: Vec<Change> = changes
                .iter()
                .map(|&(f, v)| Change {
                    field: q.names[f].clone(),
                    from: shown(f, q.x[f]),
                    to: shown(f, v),
                })
                .collect();
            let list: Vec<String> = changes
                .iter()
                .map(|c| format!("{} from {} to {}", c.field, show(&c.from), show(&c.to)))
                .collect();
            Counterfactual {
                found: true,
                statement: format!(
                    "changing {} would flip the verdict to {} (p {} → {})",
                    list.join(" and "),
                    verdict_word(to),
                    number(q.p),
                    number(p_after)
                ),
                changes,
                flips_to: Some(to),
                p_after: Some(p_after),
            }
        }
        None => {
            let names: Vec<&str> = features.iter().map(|&f| q.names[f].as_str()).collect();
            Counterfactual {
                found: false,
                changes: Vec::new(),
                flips_to: None,
                p_after: None,
                statement: if names.is_empty() {
                    "no driver points toward the verdict, so no change to one was searched".into()
                } else {
                    format!(
                        "no change to one or two of its top drivers ({}), over the model's own split points, flips the verdict",
                        names.join(", ")
                    )
                },
            }
        }
    }
}

fn verdict_word(v: Verdict) -> &'static str {
    v.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_values_have_few_decimals_and_stay_between_split_points() {
        assert_eq!(nicest(5.5, 11.0, true), 6.0);
        assert_eq!(nicest(0.125, 0.13, true), 0.13);
        assert_eq!(nicest(-1.0, 5.5, false), 5.0);
        assert_eq!(nicest(0.5, 0.501, false), 0.501);
        assert!(same_interval(&[1.0, 2.0], 1.5, 2.0));
        assert!(!same_interval(&[1.0, 2.0], 1.0, 1.5));
    }
}
