//! Exact TreeSHAP: [`Explainer::contributions`] on one row and
//! [`Explainer::contributions_batch`] on a batch of rows, over a synthetic forest
//! (100 trees of 31 leaves on 40 numeric features, roughly balanced, depth 5) generated
//! in-process as LightGBM model text and parsed with [`Forest::parse`]. Rows are uniform
//! random, so almost every row has its own decision word per tree: the batch figure is the
//! no-sharing worst case.
//!
//! Run with `cargo bench -p arbiter-explain --bench tree_shap`.

use std::fmt::Write;
use std::hint::black_box;

use arbiter_explain::{Explainer, Forest};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const TREES: usize = 100;
const LEAVES: usize = 31;
const FEATURES: usize = 40;
const BATCH: usize = 256;

/// SplitMix64: a tiny deterministic generator, so the bench needs no data and no `rand`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
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

/// Grows a subtree of `leaves` leaves; returns its child code and training-row count.
fn grow(t: &mut TreeText, rng: &mut Rng, leaves: usize) -> (i32, u64) {
    if leaves == 1 {
        let leaf = t.leaf_value.len() as i32;
        let count = 1 + rng.below(1000) as u64;
        t.leaf_value.push(rng.unit() - 0.5);
        t.leaf_count.push(count);
        return (!leaf, count);
    }
    let node = t.split_feature.len();
    t.split_feature.push(rng.below(FEATURES));
    t.threshold.push(0.2 + 0.6 * rng.unit());
    t.left.push(0);
    t.right.push(0);
    t.internal_count.push(0);
    let (l, lc) = grow(t, rng, leaves.div_ceil(2));
    let (r, rc) = grow(t, rng, leaves / 2);
    (t.left[node], t.right[node], t.internal_count[node]) = (l, r, lc + rc);
    (node as i32, lc + rc)
}

fn join<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter().map(T::to_string).collect::<Vec<_>>().join(" ")
}

/// LightGBM model text of a binary model with the keys `Forest::parse` reads.
fn model_text(seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut s = format!(
        "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n\
         max_feature_idx={}\nobjective=binary sigmoid:1\n\n",
        FEATURES - 1
    );
    for i in 0..TREES {
        let mut t = TreeText::default();
        grow(&mut t, &mut rng, LEAVES);
        let decision_type = vec![2u8; t.split_feature.len()]; // numeric, default left
        write!(
            s,
            "Tree={i}\nnum_leaves={LEAVES}\nnum_cat=0\nsplit_feature={}\nthreshold={}\n\
             decision_type={}\nleft_child={}\nright_child={}\nleaf_value={}\nleaf_count={}\n\
             internal_count={}\nis_linear=0\nshrinkage=0.1\n\n\n",
            join(&t.split_feature),
            join(&t.threshold),
            join(&decision_type),
            join(&t.left),
            join(&t.right),
            join(&t.leaf_value),
            join(&t.leaf_count),
            join(&t.internal_count),
        )
        .unwrap();
    }
    s.push_str("end of trees\n");
    s
}

fn tree_shap(c: &mut Criterion) {
    let forest = Forest::parse(&model_text(42)).expect("the generated model text parses");
    let explainer = Explainer::new(forest);
    let mut rng = Rng(7);
    let rows: Vec<f64> = (0..BATCH * FEATURES).map(|_| rng.unit()).collect();

    let mut g = c.benchmark_group("tree_shap");
    g.throughput(Throughput::Elements(1));
    g.bench_function("one_row", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % BATCH;
            explainer.contributions(black_box(&rows[i * FEATURES..][..FEATURES]))
        })
    });
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_with_input(BenchmarkId::new("batch", BATCH), &rows, |b, rows| {
        b.iter(|| explainer.contributions_batch(black_box(rows)))
    });
    g.finish();
}

criterion_group!(benches, tree_shap);
criterion_main!(benches);
