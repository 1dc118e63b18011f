//! Exact TreeSHAP: [`Explainer::contributions`] on one row and
//! [`Explainer::contributions_batch`] on a batch of rows, over a synthetic forest
//! (100 trees of 31 leaves on 40 numeric features, balanced, depth 5) generated in-process
//! as LightGBM model text by `arbiter_model::synthetic` and parsed with [`Forest::parse`].
//! Rows are uniform random, so almost every row has its own decision word per tree: the
//! batch figure is the no-sharing worst case.
//!
//! Run with `cargo bench -p arbiter-explain --bench tree_shap`.

use std::hint::black_box;

use arbiter_explain::{Explainer, Forest};
use arbiter_model::synthetic::{ForestShape, forest_text, uniform_rows};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const SHAPE: ForestShape = ForestShape {
    trees: 100,
    leaves: 31,
    features: 40,
};
const FEATURES: usize = SHAPE.features;
const BATCH: usize = 256;

fn tree_shap(c: &mut Criterion) {
    let forest = Forest::parse(&forest_text(SHAPE, 42)).expect("the generated model text parses");
    let explainer = Explainer::new(forest);
    let rows = uniform_rows(BATCH, FEATURES, 7);

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
