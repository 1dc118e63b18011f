//! The poisoning screen on hand-made teaching sets: who gets through, who waits, who is capped.

use arbiter_core::Label;
use arbiter_learn::{Candidate, Quarantine, Screen, screen};
use proptest::prelude::*;

fn cand(id: i64, labeller: &str, label: &str, model_p: f64) -> Candidate {
    Candidate {
        id,
        item: format!("a-{id}"),
        labeller: labeller.into(),
        trusted: false,
        label: Label::new(label).unwrap(),
        model_p,
        model_family: (model_p >= 0.5).then(|| "dos".to_string()),
        neighbours_malicious: Some(if model_p >= 0.5 { 1.0 } else { 0.0 }),
    }
}

/// `n` labels from each of `names` that agree with a model that is right.
fn honest(names: &[&str], n: i64, first: i64) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut id = first;
    for name in names {
        for i in 0..n {
            let mal = i % 2 == 0;
            out.push(cand(
                id,
                name,
                if mal { "dos" } else { "benign" },
                if mal { 0.995 } else { 0.005 },
            ));
            id += 1;
        }
    }
    out
}

#[test]
fn a_reliable_labellers_correction_survives_where_a_frequent_flippers_does_not() {
    let mut c = honest(&["ann", "bob", "eve"], 200, 1);
    // Eve flips 20 % of her labels against a confident model that was right.
    for x in c.iter_mut().filter(|x| x.labeller == "eve").step_by(5) {
        x.label = Label::new(if x.model_p > 0.5 { "benign" } else { "dos" }).unwrap();
    }
    // Ann and Eve each correct the model on one alert it got wrong with confidence 0.9 (its
    // neighbours as sure).
    let mut wrong = |id, who| {
        let mut x = cand(id, who, "benign", 0.9);
        x.neighbours_malicious = Some(0.9);
        c.push(x);
    };
    wrong(9001, "ann");
    wrong(9002, "eve");
    let s = screen(&c, &Screen::default());
    let by_id = |id: i64| s.examples.iter().find(|e| e.id == id).unwrap();
    assert!(by_id(9001).accepted(), "{:?}", by_id(9001));
    assert!(!by_id(9002).accepted(), "{:?}", by_id(9002));
    assert!(s.accuracy["ann"] > 0.98, "{:?}", s.accuracy);
    assert!(s.accuracy["eve"] < 0.85, "{:?}", s.accuracy);
    let flips_caught = c
        .iter()
        .zip(&s.examples)
        .filter(|(x, _)| x.labeller == "eve" && (x.label.as_str() == "benign") == (x.model_p > 0.5))
        .all(|(_, e)| !e.accepted());
    assert!(
        flips_caught,
        "every flip against a confident, right model is quarantined"
    );
}

#[test]
fn a_benign_flip_on_a_high_impact_family_waits_for_a_second_different_person() {
    let screen_with = |c: &[Candidate]| {
        screen(
            c,
            &Screen {
                high_impact: vec!["dos".into()],
                min_posterior: 0.0,
                ..Screen::default()
            },
        )
    };
    let mut c = honest(&["ann", "bob"], 50, 1);
    let mut flip = cand(500, "ann", "benign", 0.8);
    flip.item = "alert-x".into();
    c.push(flip.clone());
    let s = screen_with(&c);
    let e = s.examples.last().unwrap();
    assert!(
        matches!(e.quarantine[..], [Quarantine::AwaitingSecondReview { .. }]),
        "{e:?}"
    );
    assert!(e.quarantine[0].text().contains("second, different person"));
    // The same person agreeing again does not count; someone else does.
    let mut again = flip.clone();
    again.id = 501;
    c.push(again);
    assert!(!screen_with(&c).examples.last().unwrap().accepted());
    let mut bob = flip;
    bob.id = 502;
    bob.labeller = "bob".into();
    c.push(bob);
    let s = screen_with(&c);
    assert!(
        s.examples
            .iter()
            .filter(|e| e.id >= 500)
            .all(|e| e.accepted()),
        "{:?}",
        &s.examples[100..]
    );
}

#[test]
fn the_trusted_tier_is_gold_and_never_quarantined() {
    let mut c = honest(&["ann"], 20, 1);
    let mut t = cand(100, "incident/carol", "benign", 0.99);
    t.trusted = true;
    c.push(t);
    let s = screen(&c, &Screen::default());
    let e = s.examples.last().unwrap();
    assert!(e.accepted() && e.posterior == 1.0, "{e:?}");
    assert_eq!(s.accuracy["incident/carol"], 1.0);
}

#[test]
fn no_labeller_carries_more_than_the_cap_of_the_new_weight() {
    let mut c = honest(&["ann"], 400, 1);
    c.extend(honest(&["bob", "cid", "dan", "eve"], 25, 1000));
    let s = screen(&c, &Screen::default());
    assert!(s.weight_share["ann"] <= 0.25 + 1e-6, "{:?}", s.weight_share);
    let total: f64 = s.weight_share.values().sum();
    assert!((total - 1.0).abs() < 1e-9);
}

proptest! {
    #[test]
    fn weights_are_probabilities_and_a_quarantined_example_weighs_nothing(
        rows in prop::collection::vec((0usize..4, any::<bool>(), 0.0f64..1.0, prop::option::of(0.0f64..1.0), any::<bool>()), 1..60)
    ) {
        let names = ["ann", "bob", "cid", "dan"];
        let c: Vec<Candidate> = rows.iter().enumerate().map(|(i, (l, mal, p, n, trusted))| Candidate {
            id: i as i64,
            item: format!("a-{}", i % 7),
            labeller: names[*l].into(),
            trusted: *trusted && *l == 0,
            label: Label::new(if *mal { "dos" } else { "benign" }).unwrap(),
            model_p: *p,
            model_family: Some("dos".into()),
            neighbours_malicious: *n,
        }).collect();
        let s = screen(&c, &Screen { high_impact: vec!["dos".into()], ..Screen::default() });
        prop_assert_eq!(s.examples.len(), c.len());
        for e in &s.examples {
            prop_assert!((0.0..=1.0).contains(&e.posterior), "{:?}", e);
            prop_assert!((0.0..=1.0).contains(&e.weight), "{:?}", e);
            if !e.accepted() {
                prop_assert_eq!(e.weight, 0.0);
            }
        }
    }
}
