//! Simulated analysts: their error rates, biases, pace, shifts and four eyes match the
//! configuration, and every decision they make is one the ledger accepts.

use std::collections::HashMap;

use arbiter_core::{Actor, AlertKey, AlertState, Decision, Flag, Impact, Role, Tier};
use arbiter_ledger::human::{Rules, plan};
use arbiter_simulate::analysts::{
    AnalystConfig, AnalystError, AutomationBias, Poison, Presentation, ReviewMinutes, Shift, Team,
    TeamConfig,
};
use arbiter_simulate::{DAY_MS, QueueItem, Truth, Vocabulary, Work};
use arbiter_store::{AlertRow, DecisionRow};
use chrono::{TimeZone, Utc};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;
const N: usize = 20_000;

fn vocab() -> Vocabulary {
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect();
    Vocabulary {
        reason_codes: words(&[
            "duplicate",
            "expected_activity",
            "model_wrong",
            "true_positive_confirmed",
        ]),
        labels: words(&["benign", "dos", "probe", "r2l"]),
        features: words(&["src_bytes", "dst_bytes", "count"]),
    }
}

/// Rested-only errors, no bias, short reviews, 12 an hour from 08:00 to 16:00.
fn analyst(name: &str) -> AnalystConfig {
    AnalystConfig {
        name: name.into(),
        shift: Shift {
            start_hour: 8,
            hours: 8.0,
        },
        reviews_per_hour: 12.0,
        miss_rate: 0.05,
        false_alarm_rate: 0.03,
        fatigue_per_hour: 0.0,
        queue_pressure_per_100: 0.0,
        automation_bias: AutomationBias {
            confident: 0.0,
            flagged: 0.0,
            other: 0.0,
        },
        review_minutes: ReviewMinutes {
            median: 0.5,
            spread: 0.5,
        },
        poison: None,
    }
}

fn team(analysts: &[AnalystConfig]) -> Team {
    Team::new(analysts).unwrap()
}

/// An alert with no recommendation (the model abstained).
fn item(id: i64, malicious: bool) -> QueueItem {
    QueueItem {
        id,
        seq: id as u64,
        arrived_ms: 0,
        truth: Truth {
            malicious,
            family: if malicious { "dos" } else { "benign" }.into(),
            novel: false,
        },
        p_malicious: None,
        tier: Tier::Abstain,
        flags: vec![],
        recommended: None,
        recommends_close: false,
        needs_two: false,
        approvals: vec![],
    }
}

/// An alert with a recommendation: close when `close`, else isolate the host.
fn recommended(id: i64, malicious: bool, close: bool, p: f64, flags: Vec<Flag>) -> QueueItem {
    QueueItem {
        p_malicious: Some(p),
        tier: Tier::Approve,
        flags,
        recommended: Some(if close { "close_alert" } else { "isolate_host" }.into()),
        recommends_close: close,
        ..item(id, malicious)
    }
}

/// One review a day, `hours` into the 08:00 shift with `open` alerts waiting: many reviews
/// at one level of fatigue and pressure, at the analyst's real pace.
fn one_a_day(
    config: AnalystConfig,
    hours: f64,
    open: usize,
    make: impl Fn(i64) -> QueueItem,
) -> Vec<Work> {
    let mut team = team(&[config]);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let out: Vec<Work> = (0..N as i64)
        .flat_map(|d| {
            let from = d * DAY_MS + 8 * HOUR + (hours * HOUR as f64) as i64;
            let queue = [QueueItem {
                arrived_ms: from - MINUTE,
                ..make(d)
            }];
            team.work(&queue, from, from + 10 * MINUTE, open, &vocab(), &mut rng)
        })
        .collect();
    assert_eq!(out.len(), N, "one review a day");
    out
}

/// The share of `work` where `hit` holds is within 4σ of `p`.
fn assert_rate(what: &str, work: &[Work], hit: impl Fn(&Work) -> bool, p: f64) -> f64 {
    let share = work.iter().filter(|w| hit(w)).count() as f64 / work.len() as f64;
    let sigma = (p * (1.0 - p) / work.len() as f64).sqrt();
    eprintln!(
        "{what}: measured {share:.4}, expected {p:.4} ± {:.4} (4σ)",
        4.0 * sigma
    );
    assert!(
        (share - p).abs() <= 4.0 * sigma,
        "{what}: {share} is not within 4σ of {p}"
    );
    share
}

/// Runs `team` over `[from, to)` in windows of `step`, removing decided alerts from `queue`
/// the way the simulator does (a first of two approvals stays, with its approver). Returns
/// each review with the alert as the analyst saw it.
fn run(
    team: &mut Team,
    queue: &mut Vec<QueueItem>,
    from: i64,
    to: i64,
    step: i64,
    vocab: &Vocabulary,
    seed: u64,
) -> Vec<(QueueItem, Work)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut all = Vec::new();
    let mut t = from;
    while t < to {
        let end = (t + step).min(to);
        for w in team.work(queue, t, end, queue.len(), vocab, &mut rng) {
            assert!(
                (t..=end).contains(&w.at_ms),
                "{} outside [{t}, {end}]",
                w.at_ms
            );
            let k = queue
                .iter()
                .position(|q| q.id == w.id)
                .expect("a review of a queued alert");
            all.push((queue[k].clone(), w.clone()));
            if w.request.action == "approve" && queue[k].needs_two && queue[k].approvals.is_empty()
            {
                queue[k].approvals.push(w.analyst.clone());
            } else {
                queue.remove(k);
            }
        }
        t = end;
    }
    all
}

fn backlog(n: i64) -> Vec<QueueItem> {
    (0..n).map(|i| item(i, i % 3 == 0)).collect()
}

#[test]
fn a_rested_analyst_with_an_empty_queue_misses_attacks_at_the_configured_rate() {
    let config = AnalystConfig {
        fatigue_per_hour: 0.05,
        queue_pressure_per_100: 0.1,
        ..analyst("ana")
    };
    let work = one_a_day(config, 0.0, 0, |d| item(d, true));
    assert_rate("miss rate", &work, |w| !w.judged_malicious, 0.05);
}

#[test]
fn a_rested_analyst_with_an_empty_queue_raises_false_alarms_at_the_configured_rate() {
    let work = one_a_day(analyst("ana"), 0.0, 0, |d| item(d, false));
    assert_rate("false-alarm rate", &work, |w| w.judged_malicious, 0.03);
}

#[test]
fn fatigue_raises_the_error_rates_as_configured() {
    let config = AnalystConfig {
        fatigue_per_hour: 0.05,
        ..analyst("ana")
    };
    // Six hours in: × (1 + 0.05 × 6) = × 1.3.
    let miss = one_a_day(config.clone(), 6.0, 0, |d| item(d, true));
    assert_rate(
        "miss rate 6 h into the shift",
        &miss,
        |w| !w.judged_malicious,
        0.065,
    );
    let alarms = one_a_day(config, 6.0, 0, |d| item(d, false));
    assert_rate(
        "false-alarm rate 6 h into the shift",
        &alarms,
        |w| w.judged_malicious,
        0.039,
    );
}

#[test]
fn queue_pressure_raises_the_error_rates_as_configured() {
    let config = AnalystConfig {
        queue_pressure_per_100: 0.1,
        ..analyst("ana")
    };
    // 500 open alerts: × (1 + 0.1 × 5) = × 1.5.
    let miss = one_a_day(config.clone(), 0.0, 500, |d| item(d, true));
    assert_rate(
        "miss rate with 500 open",
        &miss,
        |w| !w.judged_malicious,
        0.075,
    );
    let alarms = one_a_day(config, 0.0, 500, |d| item(d, false));
    assert_rate(
        "false-alarm rate with 500 open",
        &alarms,
        |w| w.judged_malicious,
        0.045,
    );
}

#[test]
fn error_rates_grow_with_fatigue_and_pressure_and_stop_at_the_cap() {
    let config = AnalystConfig {
        fatigue_per_hour: 0.5,
        queue_pressure_per_100: 1.0,
        ..analyst("ana")
    };
    let r = config.error_rates(2.0, 100);
    assert!(
        (r.miss - 0.05 * 2.0 * 2.0).abs() < 1e-12 && (r.false_alarm - 0.03 * 4.0).abs() < 1e-12
    );
    let r = config.error_rates(8.0, 5_000);
    assert_eq!((r.miss, r.false_alarm), (0.5, 0.5));
}

#[test]
fn automation_bias_accepts_wrong_recommendations_at_the_configured_rates() {
    let config = AnalystConfig {
        automation_bias: AutomationBias {
            confident: 0.30,
            flagged: 0.05,
            other: 0.15,
        },
        ..analyst("ana")
    };
    type Case = (&'static str, fn(i64) -> QueueItem, f64);
    let cases: [Case; 4] = [
        (
            "a confident close of an attack",
            |d| recommended(d, true, true, 0.03, vec![]),
            0.30,
        ),
        (
            "a confident containment of benign traffic",
            |d| recommended(d, false, false, 0.97, vec![]),
            0.30,
        ),
        (
            "a flagged close of an attack",
            |d| recommended(d, true, true, 0.03, vec![Flag::OutOfDistribution]),
            0.05,
        ),
        (
            "a middling close of an attack",
            |d| recommended(d, true, true, 0.2, vec![]),
            0.15,
        ),
    ];
    for (what, make, p) in cases {
        let work = one_a_day(config.clone(), 0.0, 0, make);
        assert_rate(what, &work, |w| w.automation_bias, p);
        assert!(
            work.iter()
                .filter(|w| w.automation_bias)
                .all(|w| w.request.action == "approve")
        );
    }
    // A right recommendation is never "accepted out of bias".
    let right = one_a_day(config, 0.0, 0, |d| {
        recommended(d, true, false, 0.97, vec![])
    });
    assert!(right.iter().all(|w| !w.automation_bias));
}

#[test]
fn presentation_is_flagged_before_confident() {
    let flagged = recommended(1, true, false, 0.99, vec![Flag::LowConfidence]);
    assert_eq!(Presentation::of(&flagged), Presentation::Flagged);
    assert_eq!(
        Presentation::of(&recommended(1, true, true, 0.1, vec![])),
        Presentation::Confident
    );
    assert_eq!(
        Presentation::of(&recommended(1, true, true, 0.11, vec![])),
        Presentation::Other
    );
    assert_eq!(Presentation::of(&item(1, true)), Presentation::Other);
}

#[test]
fn a_poisoner_flips_their_conclusion_at_the_configured_share() {
    let config = AnalystConfig {
        miss_rate: 0.0,
        false_alarm_rate: 0.0,
        poison: Some(Poison { flip_share: 0.3 }),
        ..analyst("mallory")
    };
    let work = one_a_day(config, 0.0, 0, |d| item(d, d % 2 == 0));
    assert_rate("flip share", &work, |w| w.poisoned, 0.3);
    assert!(
        work.iter()
            .all(|w| w.poisoned == (w.judged_malicious != (w.id % 2 == 0)))
    );
}

#[test]
fn an_analyst_reviews_at_their_capacity_whatever_the_window() {
    for (per_hour, per_shift) in [(12.0, 96), (7.0, 56)] {
        for step in [MINUTE, 5 * MINUTE, 7 * MINUTE, HOUR] {
            let mut t = team(&[AnalystConfig {
                reviews_per_hour: per_hour,
                ..analyst("ana")
            }]);
            let work = run(
                &mut t,
                &mut backlog(2_000),
                0,
                3 * DAY_MS,
                step,
                &vocab(),
                1,
            );
            for day in 0..3 {
                let n = work.iter().filter(|(_, w)| w.at_ms / DAY_MS == day).count();
                assert_eq!(
                    n, per_shift,
                    "{per_hour}/hour in windows of {step} ms, day {day}"
                );
            }
        }
    }
}

#[test]
fn reviews_longer_than_the_window_end_in_a_later_one_and_cap_the_pace() {
    let config = AnalystConfig {
        review_minutes: ReviewMinutes {
            median: 10.0,
            spread: 0.0,
        },
        ..analyst("ana")
    };
    let work = run(
        &mut team(&[config]),
        &mut backlog(500),
        0,
        DAY_MS,
        5 * MINUTE,
        &vocab(),
        1,
    );
    // Ten minutes each from 08:00: the 48th ends at 16:00 sharp (`run` checks every window).
    assert_eq!(work.len(), 48);
    assert_eq!(work.last().unwrap().1.at_ms, 16 * HOUR);
    assert!(
        work.windows(2)
            .all(|p| p[1].1.at_ms - p[0].1.at_ms == 10 * MINUTE)
    );
}

#[test]
fn nobody_works_outside_their_shift_even_across_midnight() {
    let night = AnalystConfig {
        shift: Shift {
            start_hour: 22,
            hours: 8.0,
        },
        ..analyst("nia")
    };
    let work = run(
        &mut team(std::slice::from_ref(&night)),
        &mut backlog(2_000),
        0,
        3 * DAY_MS,
        5 * MINUTE,
        &vocab(),
        2,
    );
    for (_, w) in &work {
        let of_day = w.at_ms.rem_euclid(DAY_MS);
        assert!(
            of_day > 22 * HOUR || of_day <= 6 * HOUR,
            "work at {of_day} ms into the day"
        );
    }
    let first_night = work
        .iter()
        .filter(|(_, w)| (22 * HOUR..DAY_MS + 6 * HOUR + 1).contains(&w.at_ms));
    assert_eq!(first_night.count(), 96);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let day_time = team(&[night]).work(&backlog(50), 7 * HOUR, 21 * HOUR, 50, &vocab(), &mut rng);
    assert!(day_time.is_empty());
}

#[test]
fn an_analyst_never_gives_a_second_approval_to_an_alert_they_approved() {
    let trusting = |name: &str| AnalystConfig {
        miss_rate: 0.0,
        ..analyst(name)
    };
    let mut queue: Vec<QueueItem> = (0..300)
        .map(|i| QueueItem {
            needs_two: true,
            tier: Tier::Analyst,
            ..recommended(i, true, false, 0.95, vec![])
        })
        .collect();
    let mut t = team(&[trusting("ana"), trusting("bob")]);
    let work = run(&mut t, &mut queue, 0, DAY_MS, 5 * MINUTE, &vocab(), 4);
    let mut approvers: HashMap<i64, Vec<&str>> = HashMap::new();
    for (_, w) in work.iter().filter(|(_, w)| w.request.action == "approve") {
        let who = approvers.entry(w.id).or_default();
        assert!(
            !who.contains(&w.analyst.as_str()),
            "{} approved alert {} twice",
            w.analyst,
            w.id
        );
        who.push(&w.analyst);
    }
    assert!(approvers.values().filter(|v| v.len() == 2).count() > 50);
    // Alone with an alert she approved, ana leaves it for someone else.
    let mine = QueueItem {
        approvals: vec!["ana".into()],
        ..queue[0].clone()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    assert!(
        team(&[trusting("ana")])
            .work(&[mine], 8 * HOUR, 16 * HOUR, 1, &vocab(), &mut rng)
            .is_empty()
    );
}

/// A varied queue: every kind of recommendation, flags, prior approvals and a novel family.
fn mixed(n: i64, seed: u64) -> Vec<QueueItem> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let malicious = rng.random_bool(0.5);
            let family = ["dos", "probe", "worm"][rng.random_range(0..3)];
            let p: f64 = rng.random();
            let mut q = match rng.random_range(0..4) {
                0 => QueueItem {
                    p_malicious: rng.random_bool(0.5).then_some(p),
                    ..item(i, malicious)
                },
                1 => recommended(i, malicious, true, p * 0.5, vec![]),
                2 => recommended(
                    i,
                    malicious,
                    false,
                    0.5 + p * 0.5,
                    vec![Flag::ConflictingSignals],
                ),
                _ => QueueItem {
                    needs_two: true,
                    tier: Tier::Analyst,
                    recommended: Some("reset_credentials".into()),
                    approvals: if rng.random_bool(0.5) {
                        vec!["zoe".into()]
                    } else {
                        vec![]
                    },
                    ..recommended(i, malicious, false, 0.5 + p * 0.5, vec![])
                },
            };
            if malicious {
                q.truth.family = family.into();
                q.truth.novel = family == "worm";
            }
            q
        })
        .collect()
}

fn alert_row(q: &QueueItem) -> AlertRow {
    let state = match (&q.recommended, q.approvals.is_empty(), q.tier) {
        (None, _, _) => AlertState::Abstained,
        (Some(_), false, _) => AlertState::PendingSecondApproval,
        (Some(_), true, Tier::Analyst) => AlertState::Analyst,
        (Some(_), true, _) => AlertState::PendingApproval,
    };
    AlertRow {
        id: q.id,
        key: AlertKey::new("sim", &format!("a-{}", q.id)).unwrap(),
        source_file: "sim".into(),
        source_line: q.seq,
        time: None,
        received_at: Utc.timestamp_millis_opt(q.arrived_ms).unwrap(),
        bundle: None,
        p_malicious: q.p_malicious,
        verdict: None,
        category: None,
        flags: q.flags.clone(),
        risk: q.p_malicious.unwrap_or(0.5),
        tier: q.tier,
        action: q.recommended.clone(),
        impact: Some(if q.needs_two {
            Impact::High
        } else {
            Impact::Low
        }),
        reversible: Some(!q.needs_two),
        blast_radius: None,
        state,
        case_key: "c".into(),
        new_pattern: q.truth.novel,
    }
}

fn token(name: &str) -> i64 {
    name.bytes().map(i64::from).sum()
}

fn approval(id: i64, name: &str) -> DecisionRow {
    DecisionRow {
        alert: id,
        kind: Decision::Approve,
        tier: Tier::Analyst,
        action: None,
        reasons: vec![],
        actor: Actor::person(name, Role::Analyst, token(name)),
        time: Utc.timestamp_millis_opt(0).unwrap(),
        audit_index: 1,
        reason_code: None,
        note: None,
        ms_to_decision: None,
    }
}

#[test]
fn every_decision_is_one_the_ledger_accepts() {
    let sloppy = |name: &str| AnalystConfig {
        miss_rate: 0.3,
        false_alarm_rate: 0.3,
        automation_bias: AutomationBias {
            confident: 0.5,
            flagged: 0.3,
            other: 0.4,
        },
        ..analyst(name)
    };
    let mallory = AnalystConfig {
        poison: Some(Poison { flip_share: 0.5 }),
        ..sloppy("mallory")
    };
    let terse = Vocabulary {
        reason_codes: vec!["duplicate".into()],
        ..vocab()
    };
    for vocab in [vocab(), terse] {
        let rules = Rules {
            reason_codes: vocab.reason_codes.clone(),
            labels: vocab.labels.clone(),
            features: vocab.features.clone(),
        };
        let mut t = team(&[sloppy("ana"), sloppy("bob"), mallory.clone()]);
        let work = run(
            &mut t,
            &mut mixed(2_000, 9),
            0,
            DAY_MS,
            5 * MINUTE,
            &vocab,
            6,
        );
        let mut kinds = HashMap::new();
        for (q, w) in &work {
            let decisions: Vec<DecisionRow> =
                q.approvals.iter().map(|a| approval(q.id, a)).collect();
            let actor = Actor::person(&w.analyst, Role::Analyst, token(&w.analyst));
            let minted_by = |_: i64| Some(Actor::system("cli/token"));
            let p = plan(
                &alert_row(q),
                &decisions,
                &w.request,
                &actor,
                &minted_by,
                &rules,
            )
            .unwrap_or_else(|e| panic!("{:?} on {q:?} refused: {e}", w.request));
            *kinds.entry(p.kind).or_insert(0) += 1;
            let label = w.request.label.as_deref();
            assert!(
                label.is_none_or(|l| (l == "benign") != w.judged_malicious),
                "{w:?}"
            );
        }
        assert_eq!(
            kinds.len(),
            3,
            "approve, reject and override all occur: {kinds:?}"
        );
        assert!(
            work.iter()
                .any(|(_, w)| w.request.feature.is_some() && w.request.label.is_some())
        );
    }
}

#[test]
fn the_same_seed_gives_the_same_work_and_another_seed_other_work() {
    let config = [
        analyst("ana"),
        AnalystConfig {
            poison: Some(Poison { flip_share: 0.2 }),
            ..analyst("bob")
        },
    ];
    let go = |seed| {
        run(
            &mut team(&config),
            &mut mixed(800, 3),
            0,
            2 * DAY_MS,
            5 * MINUTE,
            &vocab(),
            seed,
        )
    };
    assert_eq!(go(1), go(1));
    assert_ne!(go(1), go(2));
}

const FILE: &str = "team:
  - name: ana
    shift: {start_hour: 8, hours: 8}
    reviews_per_hour: 12
    miss_rate: 0.05
    false_alarm_rate: 0.03
    fatigue_per_hour: 0.05
    queue_pressure_per_100: 0.10
    automation_bias: {confident: 0.30, flagged: 0.05, other: 0.15}
    review_minutes: {median: 6.0, spread: 0.5}
    poison: {flip_share: 0.3}
";

#[test]
fn the_documented_team_file_parses() {
    let config = TeamConfig::from_yaml(FILE).unwrap();
    assert_eq!(config.team[0].poison, Some(Poison { flip_share: 0.3 }));
    assert_eq!(
        config.team[0].shift,
        Shift {
            start_hour: 8,
            hours: 8.0
        }
    );
    assert!(Team::new(&config.team).is_ok());
}

#[test]
fn a_team_file_with_an_unknown_field_is_refused_naming_it() {
    let err = TeamConfig::from_yaml(&FILE.replace("miss_rate", "mis_rate")).unwrap_err();
    assert!(
        matches!(err, AnalystError::Parse(_)) && err.to_string().contains("mis_rate"),
        "{err}"
    );
}

#[test]
fn out_of_range_settings_are_refused_naming_the_analyst_and_the_field() {
    for (from, to, field) in [
        ("miss_rate: 0.05", "miss_rate: 0.7", "miss_rate"),
        ("start_hour: 8", "start_hour: 24", "shift.start_hour"),
        ("hours: 8", "hours: 0", "shift.hours"),
        ("flagged: 0.05", "flagged: 1.5", "automation_bias.flagged"),
        ("median: 6.0", "median: 600.0", "review_minutes.median"),
        ("flip_share: 0.3", "flip_share: -0.1", "poison.flip_share"),
        (
            "reviews_per_hour: 12",
            "reviews_per_hour: 0",
            "reviews_per_hour",
        ),
    ] {
        let err = TeamConfig::from_yaml(&FILE.replace(from, to))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"ana\"") && err.contains(field) && err == err.to_lowercase(),
            "{err}"
        );
    }
    let twice = format!("{FILE}{}", &FILE["team:\n".len()..]);
    let err = TeamConfig::from_yaml(&twice).unwrap_err();
    assert!(
        matches!(err, AnalystError::Duplicate { ref name } if name == "ana"),
        "{err}"
    );
    assert!(matches!(Team::new(&[]), Err(AnalystError::Empty)));
    assert!(matches!(
        Team::new(&[analyst(" ana")]),
        Err(AnalystError::Name { .. })
    ));
}
