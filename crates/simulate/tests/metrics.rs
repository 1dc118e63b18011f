//! Each metric's definition checked on small hand-built runs whose answers are worked out by
//! hand in the test.

#[path = "support/metrics_fixture.rs"]
mod fixture;

use arbiter_simulate::metrics::{
    FamilyTta, SCALARS, TTA_MIN_ALERTS, TTA_SHARE, definitions, measure,
};
use fixture::*;

fn close(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("a value");
    assert!((actual - expected).abs() < 1e-12, "{actual} != {expected}");
}

#[test]
fn three_benign_alerts_contained_out_of_a_thousand_is_an_fpoa_of_three() {
    let mut outcomes: Vec<_> = (0..1_000).map(|i| benign(i, 0)).collect();
    for o in &mut outcomes[..3] {
        *o = contained(o.clone());
    }
    // Neither a contained attack nor harmless bookkeeping on benign traffic is a false positive.
    outcomes[3] = contained(attack(3, 0));
    outcomes[4] = bookkeeping(benign(4, 0));
    let m = measure(&run("a", 1, 1, outcomes));
    assert_eq!(m.overall.benign_contained, 3);
    close(m.overall.fpoa_per_1000, 3.0);
    close(m.per_day[0].fpoa_per_1000, 3.0);
}

#[test]
fn attacks_closed_without_a_person_are_silent_misses_and_others_are_not() {
    // 10 attacks: 2 auto-closed (silent), 1 closed by a person, 7 contained automatically.
    let mut outcomes: Vec<_> = (0..10).map(|i| contained(attack(i, 0))).collect();
    outcomes[0] = attack(0, 0);
    outcomes[1] = attack(1, 0);
    outcomes[2] = by_a_person(attack(2, 0), &[30]);
    // An auto-closed benign alert is no miss.
    outcomes.push(benign(10, 0));
    let m = measure(&run("a", 1, 1, outcomes));
    assert_eq!(m.overall.attacks, 10);
    assert_eq!(m.overall.silent_misses, 2);
    close(m.overall.silent_miss_share, 0.2);
}

#[test]
fn the_silent_miss_share_is_none_without_attacks() {
    let m = measure(&run("a", 1, 1, vec![benign(0, 0)]));
    assert_eq!(m.overall.silent_misses, 0);
    assert_eq!(m.overall.silent_miss_share, None);
}

#[test]
fn the_automated_decision_rate_counts_pending_and_human_decided_alerts_as_not_automated() {
    let outcomes = vec![
        benign(0, 0),
        contained(attack(1, 0)),
        by_a_person(benign(2, 0), &[5]),
        pending(benign(3, 0)),
    ];
    let m = measure(&run("a", 1, 1, outcomes));
    assert_eq!(m.overall.automated, 2);
    close(m.overall.adr, 0.5);
}

#[test]
fn the_yield_counts_reviews_that_changed_the_outcome_or_gave_a_validated_label() {
    let mut o = by_a_person(attack(0, 0), &[]);
    o.reviews = vec![
        review(&o, 1, true, None),         // changed the outcome
        review(&o, 2, false, Some(true)),  // validated new label
        review(&o, 3, false, Some(false)), // a wrong label yields nothing
        review(&o, 4, false, None),        // a plain approval yields nothing
    ];
    let m = measure(&run("a", 1, 1, vec![o, benign(1, 0)]));
    close(m.overall.hiy, 2.0 / 4.0);
}

#[test]
fn the_yield_is_none_without_reviews() {
    let m = measure(&run("a", 1, 1, vec![benign(0, 0)]));
    assert_eq!(m.overall.hiy, None);
}

#[test]
fn workload_counts_reviews_on_the_day_they_were_recorded_and_working_analysts_only() {
    // Arrives on day 0, reviewed 10 minutes later and again 25 hours later (day 1).
    let late = by_a_person(attack(0, 0), &[10, 25 * 60]);
    let same_day = by_a_person(benign(1, 1), &[60]);
    let mut r = run("a", 1, 2, vec![late, same_day]);
    r.analysts = vec![
        analyst_day("ana", 0, 6),
        analyst_day("bob", 0, 0), // off shift: not averaged in
        analyst_day("cay", 0, 2),
        analyst_day("ana", 1, 3),
    ];
    r.backlog = vec![4, 10];
    let m = measure(&r);
    close(m.per_day[0].reviews, 1.0);
    close(m.per_day[1].reviews, 2.0);
    close(m.overall.reviews, 3.0 / 2.0);
    close(m.per_day[0].reviews_per_analyst, (6.0 + 2.0) / 2.0);
    close(m.per_day[1].reviews_per_analyst, 3.0);
    close(m.overall.reviews_per_analyst, (6.0 + 2.0 + 3.0) / 3.0);
    close(m.per_day[0].backlog, 4.0);
    close(m.per_day[1].backlog, 10.0);
    close(m.overall.backlog, 7.0);
}

#[test]
fn time_to_decision_runs_from_arrival_to_the_last_review_of_alerts_a_person_finalised() {
    let outcomes = vec![
        by_a_person(benign(0, 0), &[10]),
        by_a_person(benign(1, 0), &[5, 20]), // the last review finalised it: 20
        by_a_person(attack(2, 0), &[30]),
        by_a_person(attack(3, 0), &[40]),
        pending(by_a_person(benign(4, 0), &[1_000])), // not decided yet
        benign(5, 0),                                 // nobody decided it
    ];
    let m = measure(&run("a", 1, 1, outcomes));
    // Sorted 10, 20, 30, 40: median (20 + 30) / 2; p90 at rank 0.9 × 3 = 2.7 → 30 + 0.7 × 10.
    close(m.overall.ttd_p50_min, 25.0);
    close(m.overall.ttd_p90_min, 37.0);
}

#[test]
fn time_to_decision_is_none_when_no_person_decided_anything() {
    let m = measure(&run("a", 1, 1, vec![benign(0, 0)]));
    assert_eq!((m.overall.ttd_p50_min, m.overall.ttd_p90_min), (None, None));
}

#[test]
fn calibration_error_compares_probabilities_with_the_truth_over_alerts_that_have_one() {
    let mut a = attack(0, 0);
    a.p_malicious = Some(0.2);
    let mut b = benign(1, 0);
    b.p_malicious = Some(0.2);
    let mut c = benign(2, 0);
    c.p_malicious = Some(0.95);
    let unscored = attack(3, 0);
    let m = measure(&run("a", 1, 1, vec![a, b, c, unscored]));
    // Bin of 0.2: mean 0.2, half malicious → |0.2 − 0.5| = 0.3, weight 2/3.
    // Bin of 0.95: mean 0.95, none malicious → 0.95, weight 1/3.
    close(m.overall.ece, 2.0 / 3.0 * 0.3 + 1.0 / 3.0 * 0.95);
    let none = measure(&run("a", 1, 1, vec![benign(0, 0)]));
    assert_eq!(none.overall.ece, None);
}

/// `n` alerts of a novel family on `day`, the first `correct` of them handled correctly
/// without a person (contained automatically), the rest auto-closed (silent misses).
fn novel_day(family: &str, day: u32, n: u64, correct: u64) -> Vec<arbiter_simulate::Outcome> {
    (0..n)
        .map(|i| {
            let o = novel(u64::from(day) * 100 + i, day, family);
            if i < correct { contained(o) } else { o }
        })
        .collect()
}

#[test]
fn a_novel_family_reaching_eighty_percent_on_day_four_after_day_one_adapted_in_three_days() {
    let mut outcomes = Vec::new();
    outcomes.extend(novel_day("zeroday", 1, 2, 0));
    outcomes.extend(novel_day("zeroday", 2, 5, 3)); // 60 %: not yet
    outcomes.extend(novel_day("zeroday", 3, 4, 4)); // 100 % of only 4 alerts: too few
    outcomes.extend(novel_day("zeroday", 4, 5, 4)); // 80 % of 5: adapted
    outcomes.extend(novel_day("zeroday", 5, 5, 0));
    outcomes.extend(novel_day("stubborn", 2, 10, 7)); // 70 %: never
    outcomes.push(attack(999, 0)); // a known family has no time to adapt
    let m = measure(&run("a", 1, 6, outcomes));
    assert_eq!(m.tta.len(), 2);
    assert_eq!(
        m.tta["zeroday"],
        FamilyTta {
            first_day: 1,
            days: Some(3)
        }
    );
    assert_eq!(
        m.tta["stubborn"],
        FamilyTta {
            first_day: 2,
            days: None
        }
    );
}

#[test]
fn a_novel_family_handled_on_its_first_day_adapted_in_zero_days() {
    let m = measure(&run("a", 1, 1, novel_day("fast", 0, 5, 5)));
    assert_eq!(m.tta["fast"].days, Some(0));
}

#[test]
fn alerts_handled_by_a_person_do_not_count_towards_adaptation() {
    let outcomes = novel_day("zeroday", 0, 5, 5)
        .into_iter()
        .map(|o| by_a_person(o, &[5]))
        .collect();
    let m = measure(&run("a", 1, 1, outcomes));
    assert_eq!(m.tta["zeroday"].days, None);
}

#[test]
fn each_day_measures_the_alerts_that_arrived_that_day() {
    let outcomes = vec![
        benign(0, 0),
        contained(benign(1, 1)),
        benign(2, 1),
        attack(3, 2),
    ];
    let m = measure(&run("a", 1, 3, outcomes));
    assert_eq!(m.per_day.len(), 3);
    let alerts: Vec<u64> = m.per_day.iter().map(|d| d.alerts).collect();
    assert_eq!(alerts, [1, 2, 1]);
    close(m.per_day[1].fpoa_per_1000, 500.0);
    assert_eq!(m.per_day[0].fpoa_per_1000, Some(0.0));
    assert_eq!(m.per_day[2].silent_misses, 1);
    assert_eq!(m.overall.alerts, 4);
}

#[test]
fn a_day_without_alerts_has_no_rates() {
    let m = measure(&run("a", 1, 2, vec![benign(0, 0)]));
    let empty = &m.per_day[1];
    assert_eq!(
        (empty.alerts, empty.adr, empty.fpoa_per_1000),
        (0, None, None)
    );
    assert_eq!(empty.reviews, Some(0.0));
}

#[test]
fn measuring_the_same_run_twice_gives_the_same_metrics() {
    let mut outcomes = novel_day("zeroday", 0, 7, 6);
    outcomes.push(by_a_person(benign(50, 0), &[3, 9]));
    let r = run("a", 7, 1, outcomes);
    assert_eq!(measure(&r), measure(&r));
}

#[test]
fn every_scalar_and_tta_is_defined_in_one_sentence() {
    let defs = definitions();
    let names: Vec<&str> = defs.iter().map(|(n, _)| *n).collect();
    let mut expected: Vec<&str> = SCALARS.to_vec();
    expected.push("tta");
    assert_eq!(names, expected);
    for (name, sentence) in &defs {
        assert!(sentence.ends_with('.'), "{name}: {sentence}");
        assert!(
            !sentence.trim_end_matches('.').contains(". "),
            "{name} has two sentences"
        );
    }
}

#[test]
fn the_tta_definition_states_the_constants_it_uses() {
    let (_, tta) = definitions()
        .into_iter()
        .find(|(n, _)| *n == "tta")
        .unwrap();
    assert!(tta.contains(&format!("{} %", TTA_SHARE * 100.0)), "{tta}");
    assert!(
        tta.contains(&format!("at least {TTA_MIN_ALERTS} of them")),
        "{tta}"
    );
}
