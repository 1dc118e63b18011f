//! OOD search: the exact k = 5 nearest neighbours of a query among 20,000 reference rows of
//! 38 scaled numeric and 3 categorical coordinates — the size of one class's reference in the
//! NSL-KDD bundle. The reference is synthetic and clustered (200 clusters, spread 0.3 in
//! z-units, one service code per cluster), as `arbiter_model::synthetic` makes it; queries
//! come from the same clusters (`near`) or uniformly from the box (`far`: novel traffic, the
//! hard case for pruning). Baseline in the same run: [`Index::nearest_scan`], the full scan
//! with early abandoning the index must agree with.
//!
//! Run with `cargo bench -p arbiter-model --bench ood_search`.

use std::hint::black_box;

use arbiter_model::knn::Index;
use arbiter_model::ood::Reference;
use arbiter_model::synthetic::{Rng, clustered_scaled};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const ROWS: usize = 20_000;
const NUMERIC: usize = 38;
const CATEGORICAL: usize = 3;
const K: usize = 5;
const QUERIES: usize = 64;

fn ood_search(c: &mut Criterion) {
    let (numeric, codes) = clustered_scaled(ROWS, NUMERIC, CATEGORICAL, 200, 0.3, 20, 1);
    let reference = Reference {
        rows: ROWS,
        numeric,
        codes,
    };
    let index = Index::new(&reference, NUMERIC, CATEGORICAL);
    // Near: reference rows jittered by 0.1 z-units, so the query is in a cluster but not a
    // copy of a reference row.
    let mut rng = Rng(9);
    let mut near = Vec::with_capacity(QUERIES);
    for _ in 0..QUERIES {
        let r = rng.below(ROWS);
        let num: Vec<f32> = reference.numeric[r * NUMERIC..(r + 1) * NUMERIC]
            .iter()
            .map(|&v| v + (0.1 * rng.normal()) as f32)
            .collect();
        let cat = reference.codes[r * CATEGORICAL..(r + 1) * CATEGORICAL].to_vec();
        near.push((num, cat));
    }
    let far: Vec<(Vec<f32>, Vec<u32>)> = (0..QUERIES)
        .map(|_| {
            let num = (0..NUMERIC)
                .map(|_| (8.0 * rng.unit() - 4.0) as f32)
                .collect();
            let cat = (0..CATEGORICAL).map(|_| rng.below(20) as u32).collect();
            (num, cat)
        })
        .collect();
    for (num, cat) in near.iter().chain(&far) {
        assert_eq!(
            index.nearest(&reference, num, cat, K),
            index.nearest_scan(&reference, num, cat, K),
            "the index and the scan disagree"
        );
    }

    let mut g = c.benchmark_group("ood_search");
    g.throughput(Throughput::Elements(QUERIES as u64));
    for (name, queries) in [("near", &near), ("far", &far)] {
        g.bench_with_input(BenchmarkId::new("index", name), queries, |b, qs| {
            b.iter(|| {
                for (num, cat) in qs {
                    black_box(index.nearest(&reference, num, cat, K));
                }
            })
        });
        g.bench_with_input(BenchmarkId::new("scan", name), queries, |b, qs| {
            b.iter(|| {
                for (num, cat) in qs {
                    black_box(index.nearest_scan(&reference, num, cat, K));
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, ood_search);
criterion_main!(benches);
