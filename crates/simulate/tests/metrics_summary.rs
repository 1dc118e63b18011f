//! Summaries over seeds: means, bootstrap intervals and time to adapt.

#[path = "support/metrics_fixture.rs"]
mod fixture;

use std::collections::BTreeMap;

use arbiter_simulate::metrics::{RunMetrics, bootstrap_mean, measure, summarise};
use fixture::*;

/// A run of 4 benign alerts, `automated` of them auto-closed and the rest decided by a person,
/// and 15 automated alerts of a novel family over days 0–2, contained (correct) only on day
/// `adapts`: its ADR is (`automated` + 15) / 19.
fn seed_run(seed: u64, automated: usize, adapts: Option<u32>) -> RunMetrics {
    let mut outcomes: Vec<_> = (0..4)
        .map(|i| {
            let o = benign(i, 0);
            if (i as usize) < automated {
                o
            } else {
                by_a_person(o, &[10])
            }
        })
        .collect();
    for day in 0..3 {
        for i in 0..5 {
            let o = novel(100 * u64::from(day + 1) + i, day, "zeroday");
            outcomes.push(if Some(day) == adapts { contained(o) } else { o });
        }
    }
    measure(&run("arbiter", seed, 3, outcomes))
}

fn one_arm(runs: Vec<RunMetrics>) -> BTreeMap<String, Vec<RunMetrics>> {
    BTreeMap::from([("arbiter".to_owned(), runs)])
}

#[test]
fn the_bootstrap_interval_contains_the_mean() {
    let e = bootstrap_mean(&[1.0, 2.0, 3.0, 4.0, 10.0]).unwrap();
    assert_eq!(e.mean, 4.0);
    assert_eq!(e.seeds, 5);
    assert!(e.lo < e.mean && e.mean < e.hi, "{e:?}");
    assert!(e.lo >= 1.0 && e.hi <= 10.0, "{e:?}");
}

#[test]
fn the_bootstrap_interval_is_the_same_every_time() {
    let values = [0.91, 0.93, 0.95, 0.97];
    assert_eq!(bootstrap_mean(&values), bootstrap_mean(&values));
}

#[test]
fn the_bootstrap_interval_of_one_value_is_that_value() {
    let e = bootstrap_mean(&[0.25]).unwrap();
    assert_eq!((e.mean, e.lo, e.hi, e.seeds), (0.25, 0.25, 0.25, 1));
    assert_eq!(bootstrap_mean(&[]), None);
}

#[test]
fn identical_seeds_collapse_every_interval_onto_the_mean() {
    let runs = (1..=3).map(|s| seed_run(s, 3, Some(1))).collect();
    let summary = summarise(&one_arm(runs));
    let arm = &summary.arms["arbiter"];
    let all = arm.per_day.iter().chain(std::iter::once(&arm.overall));
    for estimates in all {
        for (name, e) in estimates {
            if let Some(e) = e {
                assert_eq!((e.lo, e.hi), (e.mean, e.mean), "{name}");
            }
        }
    }
    let adr = arm.overall["adr"].unwrap();
    assert!((adr.mean - 18.0 / 19.0).abs() < 1e-12, "{adr:?}");
}

#[test]
fn a_single_seed_reports_its_values_with_a_collapsed_interval() {
    let summary = summarise(&one_arm(vec![seed_run(9, 2, None)]));
    let adr = summary.arms["arbiter"].overall["adr"].unwrap();
    assert_eq!(
        (adr.mean, adr.lo, adr.hi, adr.seeds),
        (17.0 / 19.0, 17.0 / 19.0, 17.0 / 19.0, 1)
    );
    assert_eq!(summary.arms["arbiter"].seeds, [9]);
}

#[test]
fn the_mean_over_seeds_averages_the_per_seed_values() {
    // ADR per seed: 19/19, 17/19 and 15/19.
    let runs = vec![
        seed_run(1, 4, None),
        seed_run(2, 2, None),
        seed_run(3, 0, None),
    ];
    let summary = summarise(&one_arm(runs));
    let adr = summary.arms["arbiter"].overall["adr"].unwrap();
    assert!((adr.mean - 17.0 / 19.0).abs() < 1e-12, "{adr:?}");
    assert!(adr.lo <= adr.mean && adr.mean <= adr.hi);
    assert_eq!(adr.seeds, 3);
}

#[test]
fn a_metric_missing_in_some_seeds_is_averaged_over_the_seeds_that_have_it() {
    // Seed 1 has reviews (hiy 0: plain approvals), seed 2 has none (hiy undefined).
    let runs = vec![seed_run(1, 3, None), seed_run(2, 4, None)];
    let summary = summarise(&one_arm(runs));
    let hiy = summary.arms["arbiter"].overall["hiy"].unwrap();
    assert_eq!((hiy.mean, hiy.seeds), (0.0, 1));
}

#[test]
fn time_to_adapt_is_averaged_over_the_seeds_that_reached_it() {
    let runs = vec![
        seed_run(1, 4, Some(2)),
        seed_run(2, 4, None),
        seed_run(3, 4, Some(0)),
    ];
    let summary = summarise(&one_arm(runs));
    let arm = &summary.arms["arbiter"];
    let t = arm.tta["zeroday"];
    assert_eq!((t.reached, t.of, t.mean_days), (2, 3, Some(1.0)));
    assert_eq!(arm.tta_all, t);
}

#[test]
fn summarising_twice_gives_the_same_summary() {
    let runs = || one_arm(vec![seed_run(1, 4, Some(2)), seed_run(2, 1, None)]);
    assert_eq!(summarise(&runs()), summarise(&runs()));
}
