//! Whether the generated data is realistic enough to be worth modelling: classes overlap but
//! are learnable, the novel category is out of distribution, drift touches only what it should.

mod common;

use arbiter_core::FieldRole;
use arbiter_ingest::{Record, Value};
use arbiter_scenario::Options;
use common::{num, read, read_schema, run, small};

#[test]
fn drift_changes_only_rollout_hosts_and_brings_an_unseen_sensor_build() {
    let dir = tempfile::tempdir().unwrap();
    let plain = run(dir.path(), "soc-mixed", 5, &small());
    let schema = read_schema(dir.path());
    let before = read(&schema, &plain.test.path);
    let train = read(&schema, &plain.train.path);
    let dir2 = tempfile::tempdir().unwrap();
    let drifted = run(dir2.path(), "soc-drift", 5, &small());
    assert!(drifted.options.drift, "soc-drift forces drift on");
    let after = read(&schema, &drifted.test.path);
    let sensor = |r: &Record| r.features[common::feature(&schema, "sensor")].clone();
    let new = Value::Cat("edr-8.0".into());
    assert!(train.records.iter().all(|r| sensor(r) != new));
    let mut changed = 0;
    for (b, a) in before.records.iter().zip(&after.records) {
        assert_eq!((&b.ids, &b.label), (&a.ids, &a.label));
        if sensor(a) == new {
            changed += 1;
        } else {
            assert_eq!(a.features, b.features, "rows off the rollout are untouched");
        }
    }
    assert_eq!(changed, drifted.test.drifted_rows);
    assert!(changed > 100, "{changed}");
}

/// Best accuracy and best balanced accuracy of a rule "positive when x > t" (or "x <= t") over
/// every cut point `t`.
fn best_threshold(mut v: Vec<(f64, bool)>) -> (f64, f64) {
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = v.len() as f64;
    let positives = v.iter().filter(|p| p.1).count() as f64;
    let negatives = n - positives;
    let (mut acc, mut balanced, mut pos_below) = (0.0f64, 0.0f64, 0.0);
    for (k, &(x, positive)) in v.iter().enumerate() {
        pos_below += f64::from(u8::from(positive));
        if v.get(k + 1).is_some_and(|next| next.0 == x) {
            continue;
        }
        let neg_below = (k + 1) as f64 - pos_below;
        let high = (neg_below + positives - pos_below) / n;
        acc = acc.max(high).max(1.0 - high);
        let b = 0.5 * ((positives - pos_below) / positives + neg_below / negatives);
        balanced = balanced.max(b).max(1.0 - b);
    }
    (acc, balanced)
}

#[test]
fn a_single_feature_threshold_does_not_separate_benign_from_attacks_but_each_attack_leaves_a_trace()
{
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        train_rows: 20_000,
        gaps: 0.0,
        ..small()
    };
    let summary = run(dir.path(), "soc-mixed", 7, &options);
    let schema = read_schema(dir.path());
    let train = read(&schema, &summary.train.path);
    let test = read(&schema, &summary.test.path);
    let numeric: Vec<usize> = schema
        .features()
        .enumerate()
        .filter(|(_, f)| f.role == FieldRole::Numeric)
        .map(|(i, _)| i)
        .collect();
    let pairs = |records: &[Record], i: usize, keep: &dyn Fn(&str) -> Option<bool>| {
        records
            .iter()
            .filter_map(
                |r| match (&r.features[i], keep(r.category.as_deref().unwrap())) {
                    (Value::Num(x), Some(positive)) => Some((*x, positive)),
                    _ => None,
                },
            )
            .collect::<Vec<_>>()
    };

    let attack = |c: &str| Some(c != "benign");
    let majority = summary.train.by_category["benign"] as f64 / summary.train.rows as f64;
    let best = numeric
        .iter()
        .map(|&i| best_threshold(pairs(&train.records, i, &attack)).0)
        .fold(0.0, f64::max);
    assert!(
        best > majority + 0.03,
        "some feature carries signal: {best} vs {majority}"
    );
    assert!(
        best < 0.95,
        "no single threshold separates benign from attacks: {best}"
    );

    for category in summary.test.by_category.keys().filter(|c| *c != "benign") {
        let one = |c: &str| (c == "benign" || c == category).then_some(c == category);
        let best = numeric
            .iter()
            .map(|&i| best_threshold(pairs(&test.records, i, &one)).1)
            .fold(0.0, f64::max);
        assert!(
            best > 0.7,
            "{category} leaves no trace: best balanced accuracy {best}"
        );
    }
}

#[test]
fn the_novel_category_is_out_of_distribution_yet_partly_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run(
        dir.path(),
        "soc-mixed",
        9,
        &Options {
            gaps: 0.0,
            ..small()
        },
    );
    let schema = read_schema(dir.path());
    let train = read(&schema, &summary.train.path);
    let test = read(&schema, &summary.test.path);
    let share = |rs: &[&Record], p: &dyn Fn(&Record) -> bool| {
        rs.iter().filter(|r| p(r)).count() as f64 / rs.len() as f64
    };
    let seen: Vec<&Record> = train.records.iter().collect();
    let novel: Vec<&Record> = test
        .records
        .iter()
        .filter(|r| r.category.as_deref() == Some("ransomware"))
        .collect();
    let mut renames: Vec<f64> = seen
        .iter()
        .map(|r| num(&schema, r, "file_rename_rate"))
        .collect();
    renames.sort_by(f64::total_cmp);
    let p99 = renames[renames.len() * 99 / 100];
    let deleted = |r: &Record| num(&schema, r, "shadow_copy_delete") > 0.0;
    let fast = |r: &Record| num(&schema, r, "file_rename_rate") > p99;
    assert!(
        share(&seen, &deleted) < 0.005,
        "shadow copies are almost never deleted in training"
    );
    assert!(share(&novel, &deleted) > 0.4);
    assert!(
        share(&novel, &fast) > 0.5,
        "most ransomware renames faster than 99% of training"
    );
    let quiet = 1.0 - share(&novel, &fast);
    assert!(quiet > 0.15, "some ransomware is quiet: {quiet}");
}
