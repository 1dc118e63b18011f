//! Exactness of Arbiter's TreeSHAP against LightGBM's own `pred_contrib`, on models with
//! categorical splits and missing values (a generated SYNTHETIC scenario with telemetry gaps).

use std::sync::OnceLock;

use arbiter_explain::shap::reference;
use arbiter_explain::{Explainer, Forest};
use arbiter_ingest::{OnError, load, load_schema};
use arbiter_model::Model;
use arbiter_train::{InputFile, Quiet, TrainOptions, lightgbm_contrib, lightgbm_raw, train};
use proptest::prelude::*;

struct Fixture {
    model: Model,
    member: String,
    head: String,
    /// Encoded test rows, row-major.
    x: Vec<f64>,
    width: usize,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let options = arbiter_scenario::Options {
            train_rows: 3_000,
            test_rows: 600,
            drift: true,
            gaps: 0.2,
        };
        arbiter_scenario::generate("soc-mixed", 11, &options, dir.path()).unwrap();
        let schema = load_schema(&dir.path().join("schema.yaml")).unwrap();
        let data = load(
            &schema,
            &dir.path().join("train.csv"),
            OnError::Fail,
            &mut |_, _| {},
        )
        .unwrap();
        let input = InputFile {
            name: "train.csv".into(),
            sha256: "x".into(),
            data,
            weights: None,
        };
        let opts = TrainOptions {
            members: 2,
            iterations: 40,
            ..TrainOptions::default()
        };
        let trained = train(&schema, vec![input], &opts, &Quiet).unwrap();
        let member = String::from_utf8(trained.files["members/member-1.txt"].clone()).unwrap();
        let head = String::from_utf8(trained.files["category.txt"].clone()).unwrap();
        let test = load(
            &schema,
            &dir.path().join("test.csv"),
            OnError::Fail,
            &mut |_, _| {},
        )
        .unwrap();
        let (x, _) = trained.model.encoder.encode_all(&test.records);
        let width = trained.model.encoder.width();
        assert!(x.iter().any(|v| v.is_nan()), "the rows hold missing values");
        Fixture {
            model: trained.model,
            member,
            head,
            x,
            width,
        }
    })
}

fn assert_close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-9,
            "{what}: value {i} differs: {x} vs {y}"
        );
    }
}

#[test]
fn the_model_text_has_categorical_splits_and_default_directions() {
    let f = Forest::parse(&fixture().member).unwrap();
    let categorical = f
        .trees
        .iter()
        .flat_map(|t| &t.decision_type)
        .filter(|d| *d & 1 == 1)
        .count();
    assert!(categorical > 0, "no categorical split to test against");
    let nan_aware = f
        .trees
        .iter()
        .flat_map(|t| &t.decision_type)
        .filter(|d| (*d >> 2) & 3 == 2)
        .count();
    assert!(
        nan_aware > 0,
        "no split with a learned direction for missing values"
    );
}

#[test]
fn arbiters_tree_walk_equals_lightgbm_raw_scores() {
    let fx = fixture();
    let (margins, head_raw) = fx.model.infer_trees(&fx.x).unwrap();
    let member = lightgbm_raw(&fx.member, &fx.x, fx.width).unwrap();
    let head = lightgbm_raw(&fx.head, &fx.x, fx.width).unwrap();
    assert_close(&margins[0], &member, "member");
    assert_close(&head_raw, &head, "head");
}

#[test]
fn member_contributions_equal_lightgbm_pred_contrib_to_1e9() {
    let fx = fixture();
    let ours = Explainer::new(Forest::parse(&fx.member).unwrap()).contributions_batch(&fx.x);
    let theirs = lightgbm_contrib(&fx.member, &fx.x, fx.width).unwrap();
    assert_close(&ours, &theirs, "member");
}

#[test]
fn category_head_contributions_equal_lightgbm_pred_contrib_per_class() {
    let fx = fixture();
    let ours = Explainer::new(Forest::parse(&fx.head).unwrap()).contributions_batch(&fx.x);
    let theirs = lightgbm_contrib(&fx.head, &fx.x, fx.width).unwrap();
    assert_close(&ours, &theirs, "head");
}

#[test]
fn contributions_and_expected_value_sum_to_the_raw_margin() {
    let fx = fixture();
    let e = Explainer::new(Forest::parse(&fx.head).unwrap());
    let w = e.width();
    for row in fx.x.chunks(fx.width).take(200) {
        let phi = e.contributions(row);
        let raw = e.forest.raw(row);
        for (c, r) in raw.iter().enumerate() {
            let sum: f64 = phi[c * w..(c + 1) * w].iter().sum();
            assert!((sum - r).abs() < 1e-9, "class {c}: {sum} vs {r}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any row, including values no training row had and missing values anywhere, gets the
    /// same contributions from the tabulated algorithm as from LightGBM's recursive one.
    #[test]
    fn the_tabulated_algorithm_equals_the_recursive_one_on_any_row(
        seed_row in 0usize..600,
        noise in proptest::collection::vec(proptest::option::of(-1e6f64..1e6), 0..40),
    ) {
        let fx = fixture();
        let e = Explainer::new(Forest::parse(&fx.member).unwrap());
        let mut row = fx.x[seed_row * fx.width..(seed_row + 1) * fx.width].to_vec();
        for (i, n) in noise.iter().enumerate() {
            let j = (i * 7) % fx.width;
            row[j] = match n { Some(v) => *v, None => f64::NAN };
        }
        let fast = e.contributions(&row);
        let mut slow = vec![0.0; e.width()];
        for tree in &e.forest.trees {
            *slow.last_mut().unwrap() += tree.expected_value();
            reference::tree_shap(tree, &row, &mut slow);
        }
        for (a, b) in fast.iter().zip(&slow) {
            prop_assert!((a - b).abs() <= 1e-9, "{} vs {}", a, b);
        }
    }
}

#[test]
fn a_batch_gives_every_row_exactly_the_contributions_it_gets_alone() {
    let fx = fixture();
    let e = Explainer::new(Forest::parse(&fx.head).unwrap());
    let stride = e.width() * e.forest.num_class;
    // Duplicate rows so that the batch shares decision words between rows.
    let mut x = fx.x.clone();
    x.extend_from_slice(&fx.x[..fx.width * 50]);
    let batch = e.contributions_batch(&x);
    for (i, row) in x.chunks(fx.width).enumerate() {
        let alone = e.contributions(row);
        assert_eq!(
            alone.as_slice(),
            &batch[i * stride..(i + 1) * stride],
            "row {i}"
        );
    }
}

/// Bit patterns of a batch's contributions, to compare exactly.
fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn contributions_kept_across_calls_are_the_same_bits_as_computed_afresh() {
    let fx = fixture();
    let forest = Forest::parse(&fx.head).unwrap();
    let plain = Explainer::new(forest.clone());
    let memo = Explainer::with_memo(forest, 64 << 20);
    let rows = fx.x.len() / fx.width;
    let half = rows / 2 * fx.width;
    // The second half first, then everything (half of it seen), then single rows.
    let later = &fx.x[half..];
    assert_eq!(
        bits(&memo.contributions_batch(later)),
        bits(&plain.contributions_batch(later))
    );
    let kept = memo.memo_bytes();
    assert!(kept > 0, "a call keeps what it computed");
    assert_eq!(
        bits(&memo.contributions_batch(&fx.x)),
        bits(&plain.contributions_batch(&fx.x))
    );
    for row in fx.x.chunks(fx.width).step_by(37) {
        assert_eq!(
            bits(&memo.contributions_batch(row)),
            bits(&plain.contributions_batch(row)),
            "a lone row served from the memo"
        );
    }
    assert_eq!(plain.memo_bytes(), 0);
}

#[test]
fn the_memo_never_holds_more_than_its_budget_and_still_answers_exactly_when_full() {
    let fx = fixture();
    let forest = Forest::parse(&fx.member).unwrap();
    let budget = 20_000;
    let memo = Explainer::with_memo(forest.clone(), budget);
    let plain = Explainer::new(forest);
    for _ in 0..2 {
        assert_eq!(
            bits(&memo.contributions_batch(&fx.x)),
            bits(&plain.contributions_batch(&fx.x))
        );
        assert!(memo.memo_bytes() <= budget, "{}", memo.memo_bytes());
    }
    assert!(memo.memo_bytes() > budget / 2, "the budget is used");
}
