//! Whole runs of the shipped synthetic simulation, shortened: determinism, the observable
//! effect of every injected event, and the audit trail each Arbiter arm leaves.
//!
//! One shortened run is shared by the event tests (training and streaming take a few
//! seconds); the determinism test makes its own two.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arbiter_core::Flag;
use arbiter_ingest::Value;
use arbiter_simulate::config::{Data, Event, Loaded, SimConfig};
use arbiter_simulate::run::{Quiet, ReportInput, RunOptions, Runs, report, run};
use arbiter_simulate::stream::{HOUR_MS, Schedule, schedule};
use arbiter_simulate::{ArmRun, DAY_MS, Final, Outcome};

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sims/synthetic.yaml")
}

/// `sims/synthetic.yaml` with fewer rows, every event kept.
fn short() -> Loaded {
    let mut loaded = arbiter_simulate::config::load(&shipped()).unwrap();
    if let Data::Scenario {
        train_rows,
        stream_rows,
        ..
    } = &mut loaded.config.data
    {
        *train_rows = 3000;
        *stream_rows = 2100;
    }
    loaded.config.day0.members = Some(2);
    loaded.config.day0.iterations = Some(40);
    loaded
}

struct Shared {
    loaded: Loaded,
    runs: Runs,
    _dir: tempfile::TempDir,
    work: PathBuf,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let loaded = short();
        let opts = RunOptions {
            seeds: Some(1),
            out: dir.path().to_path_buf(),
            data_dir: dir.path().to_path_buf(),
            keep_work: true,
        };
        let runs = run(&loaded, &opts, &mut Quiet).unwrap();
        Shared {
            work: dir.path().join("work"),
            loaded,
            runs,
            _dir: dir,
        }
    })
}

fn arm<'a>(s: &'a Shared, name: &str) -> &'a ArmRun {
    s.runs.runs.iter().find(|r| r.arm == name).unwrap()
}

fn the_schedule(s: &Shared, config: &SimConfig) -> Schedule {
    schedule(config, &s.runs.prepared, config.start_ms(), 1)
}

fn outcomes(run: &ArmRun) -> BTreeMap<u64, &Outcome> {
    run.outcomes.iter().map(|o| (o.seq, o)).collect()
}

fn feature(s: &Shared, name: &str) -> usize {
    s.runs
        .prepared
        .schema
        .features()
        .position(|f| f.name == name)
        .unwrap()
}

fn day_hour(config: &SimConfig, ms: i64) -> (u32, u32) {
    let t = ms - config.start_ms();
    ((t / DAY_MS) as u32, ((t % DAY_MS) / HOUR_MS) as u32)
}

fn report_json(loaded: &Loaded, seeds: u64, dir: &Path) -> Vec<u8> {
    let opts = RunOptions {
        seeds: Some(seeds),
        out: dir.to_path_buf(),
        data_dir: dir.to_path_buf(),
        keep_work: false,
    };
    let runs = run(loaded, &opts, &mut Quiet).unwrap();
    let input = ReportInput {
        loaded,
        command: "arbiter simulate --config sims/synthetic.yaml (shortened)".into(),
    };
    report(&runs, &input, dir).unwrap();
    std::fs::read(dir.join("report.json")).unwrap()
}

#[test]
fn the_same_config_and_seeds_give_a_byte_identical_report_json() {
    let mut loaded = short();
    loaded.config.days = 3;
    loaded.config.events.retain(|e| match e {
        Event::Flood { day, .. } => *day < 3,
        Event::Timeout { to_day, .. }
        | Event::Telemetry { to_day, .. }
        | Event::PoisonedFeedback { to_day, .. }
        | Event::Drift { to_day, .. }
        | Event::PriorShift { to_day, .. } => *to_day <= 3,
    });
    loaded
        .config
        .stream
        .first_day
        .insert("ransomware".into(), 1);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = report_json(&loaded, 2, a.path());
    let second = report_json(&loaded, 2, b.path());
    assert!(!first.is_empty());
    assert!(
        first == second,
        "two runs of the same config and seeds differ"
    );
    for plot in [
        "adr.png",
        "fpoa.png",
        "silent_misses.png",
        "backlog.png",
        "ece.png",
    ] {
        assert!(a.path().join(plot).is_file(), "{plot} was not written");
    }
    let text = String::from_utf8(first).unwrap();
    for arm in ["\"baseline\"", "\"arbiter_static\""] {
        assert!(text.contains(arm), "report.json has no {arm} arm");
    }
}

#[test]
fn both_arms_see_the_same_alerts_at_the_same_times() {
    let s = shared();
    let base = outcomes(arm(s, "baseline"));
    let arbiter = outcomes(arm(s, "arbiter_static"));
    assert_eq!(base.len(), arbiter.len());
    for (seq, o) in &base {
        let a = arbiter[seq];
        assert_eq!(
            (o.arrived_ms, &o.truth),
            (a.arrived_ms, &a.truth),
            "alert {seq}"
        );
    }
}

#[test]
fn alerts_with_missing_fields_raise_missing_telemetry_and_are_never_auto_closed() {
    let s = shared();
    let sched = the_schedule(s, &s.loaded.config);
    let (a, b) = (feature(s, "process_starts"), feature(s, "cmdline_entropy"));
    let gapped: BTreeSet<u64> = sched
        .alerts
        .iter()
        .filter(|x| {
            !x.duplicate
                && x.record.features[a] == Value::Missing
                && x.record.features[b] == Value::Missing
        })
        .map(|x| x.seq)
        .collect();
    assert!(
        gapped.len() > 20,
        "only {} alerts lost their fields",
        gapped.len()
    );
    let arbiter = outcomes(arm(s, "arbiter_static"));
    let mut flagged = 0;
    for seq in &gapped {
        let o = arbiter[seq];
        if o.p_malicious.is_some() {
            flagged += 1;
            assert!(
                o.flags.contains(&Flag::MissingTelemetry),
                "alert {seq}: {:?}",
                o.flags
            );
        }
        assert!(
            !(o.automated && o.final_ == Final::Closed),
            "alert {seq} with missing telemetry was auto-closed"
        );
    }
    assert!(flagged > 0, "no gapped alert was scored");
}

#[test]
fn alerts_scored_during_a_timeout_are_decided_without_the_model_and_never_automated() {
    let s = shared();
    let config = &s.loaded.config;
    let sched = the_schedule(s, config);
    assert!(
        !sched.timeouts.is_empty(),
        "the config's timeout event chose no hour"
    );
    let timed_out: BTreeSet<u64> = sched
        .alerts
        .iter()
        .filter(|x| sched.timeouts.contains(&day_hour(config, x.arrive_ms)))
        .map(|x| x.seq)
        .collect();
    assert!(!timed_out.is_empty());
    for run in &s.runs.runs {
        let by_seq = outcomes(run);
        for seq in &timed_out {
            let o = by_seq[seq];
            assert_eq!(
                o.p_malicious, None,
                "{}: alert {seq} has a probability",
                run.arm
            );
            assert!(!o.automated, "{}: alert {seq} was automated", run.arm);
        }
    }
    // Outside the timeout, Arbiter scores: the timeout, not something else, removed the model.
    let arbiter = outcomes(arm(s, "arbiter_static"));
    let scored = arbiter
        .values()
        .filter(|o| !timed_out.contains(&o.seq) && o.p_malicious.is_some())
        .count();
    assert!(scored > arbiter.len() / 2);
}

#[test]
fn an_alert_delivered_twice_is_one_alert() {
    let s = shared();
    let sched = the_schedule(s, &s.loaded.config);
    let twice = sched.alerts.iter().filter(|x| x.duplicate).count();
    assert!(twice > 0, "the telemetry event delivered nothing twice");
    let distinct: BTreeSet<u64> = sched.alerts.iter().map(|x| x.seq).collect();
    for run in &s.runs.runs {
        assert_eq!(run.outcomes.len(), distinct.len(), "{}", run.arm);
    }
}

#[test]
fn a_flood_multiplies_arrivals_in_its_hours() {
    let s = shared();
    let config = &s.loaded.config;
    let Some((day, from, to, factor)) = config.events.iter().find_map(|e| match e {
        Event::Flood {
            day,
            from_hour,
            to_hour,
            factor,
        } => Some((*day, *from_hour, *to_hour, *factor)),
        _ => None,
    }) else {
        panic!("the shipped synthetic config has no flood");
    };
    let sched = the_schedule(s, config);
    let mut per_day = vec![0usize; config.days as usize];
    for x in sched.alerts.iter().filter(|x| !x.duplicate) {
        let (d, h) = day_hour(config, x.arrive_ms);
        if (from..to).contains(&h) {
            per_day[d as usize] += 1;
        }
    }
    let others: Vec<usize> = (0..config.days as usize)
        .filter(|&d| d != day as usize)
        .map(|d| per_day[d])
        .collect();
    let usual = others.iter().sum::<usize>() as f64 / others.len() as f64;
    let ratio = per_day[day as usize] as f64 / usual;
    assert!(
        (factor * 0.8..=factor * 1.2).contains(&ratio),
        "flood hours carried {ratio:.2}× the usual arrivals, expected about {factor}×"
    );
}

#[test]
fn drift_transforms_exactly_the_named_fields_on_its_days() {
    let s = shared();
    let config = &s.loaded.config;
    let mut without = config.clone();
    without.events.retain(|e| !matches!(e, Event::Drift { .. }));
    let (drifted, plain) = (the_schedule(s, config), the_schedule(s, &without));
    assert_eq!(drifted.alerts.len(), plain.alerts.len());
    let Some((from, to, fields)) = config.events.iter().find_map(|e| match e {
        Event::Drift {
            from_day,
            to_day,
            fields,
        } => Some((*from_day, *to_day, fields.clone())),
        _ => None,
    }) else {
        panic!("the shipped synthetic config has no drift");
    };
    let index: BTreeMap<usize, _> = fields.iter().map(|(n, t)| (feature(s, n), *t)).collect();
    let mut changed = 0;
    for (d, p) in drifted.alerts.iter().zip(&plain.alerts) {
        let (day, _) = day_hour(config, d.arrive_ms);
        for (j, (dv, pv)) in d.record.features.iter().zip(&p.record.features).enumerate() {
            match (index.get(&j), (from..to).contains(&day), dv, pv) {
                (Some(t), true, Value::Num(x), Value::Num(y)) => {
                    assert!((x - (y * t.scale + t.shift)).abs() < 1e-9);
                    changed += 1;
                }
                _ => assert_eq!(
                    dv, pv,
                    "alert {} field {j} changed outside the drift",
                    d.seq
                ),
            }
        }
    }
    assert!(changed > 0);
}

#[test]
fn a_novel_family_first_arrives_on_its_day_and_is_marked_novel() {
    let s = shared();
    let first = s.loaded.config.stream.first_day["ransomware"];
    let run = arm(s, "arbiter_static");
    let days: BTreeSet<u32> = run
        .outcomes
        .iter()
        .filter(|o| o.truth.family == "ransomware")
        .map(|o| o.day)
        .collect();
    assert_eq!(days.first(), Some(&first));
    assert!(
        run.outcomes
            .iter()
            .all(|o| o.truth.novel == (o.truth.family == "ransomware"))
    );
}

#[test]
fn a_prior_shift_multiplies_the_odds_of_an_attack() {
    let s = shared();
    let mut config = s.loaded.config.clone();
    config.events = vec![Event::PriorShift {
        from_day: 3,
        to_day: 7,
        factor: 3.0,
    }];
    let shifted = the_schedule(s, &config);
    config.events.clear();
    let plain = the_schedule(s, &config);
    let odds = |sched: &Schedule| {
        let late: Vec<_> = sched
            .alerts
            .iter()
            .filter(|x| day_hour(&config, x.arrive_ms).0 >= 3)
            .collect();
        let attacks = late.iter().filter(|x| x.truth.malicious).count() as f64;
        attacks / (late.len() as f64 - attacks)
    };
    let ratio = odds(&shifted) / odds(&plain);
    assert!(
        (2.2..=3.8).contains(&ratio),
        "odds ratio {ratio:.2}, expected about 3"
    );
}

#[test]
fn a_poisoner_gives_wrong_labels_far_more_often_on_the_poisoned_days() {
    let s = shared();
    let config = &s.loaded.config;
    let Some((from, to, who)) = config.events.iter().find_map(|e| match e {
        Event::PoisonedFeedback {
            from_day,
            to_day,
            analyst,
            ..
        } => Some((*from_day, *to_day, analyst.clone())),
        _ => None,
    }) else {
        panic!("the shipped synthetic config has no poisoned feedback");
    };
    let mut wrong = [(0u32, 0u32); 2];
    for o in &arm(s, "arbiter_static").outcomes {
        for r in o.reviews.iter().filter(|r| r.analyst == who) {
            let Some(correct) = r.label_correct else {
                continue;
            };
            let day = day_hour(config, r.at_ms).0;
            let slot = usize::from((from..to).contains(&day));
            wrong[slot].0 += u32::from(!correct);
            wrong[slot].1 += 1;
        }
    }
    let share = |(w, n): (u32, u32)| f64::from(w) / f64::from(n.max(1));
    assert!(
        wrong[0].1 >= 20 && wrong[1].1 >= 20,
        "too few labels: {wrong:?}"
    );
    assert!(
        share(wrong[1]) > share(wrong[0]) + 0.1,
        "wrong labels {:.2} while poisoning vs {:.2} otherwise",
        share(wrong[1]),
        share(wrong[0])
    );
}

#[test]
fn every_arbiter_decision_and_review_is_in_a_verifiable_audit_log() {
    let s = shared();
    let dir = s.work.join("seed-1-arbiter_static");
    let verified = arbiter_audit::verify(&dir).unwrap();
    assert!(verified.is_ok(), "{verified}");
    let run = arm(s, "arbiter_static");
    let reviews: usize = run.outcomes.iter().map(|o| o.reviews.len()).sum();
    assert!(reviews > 0, "nobody reviewed anything");
    assert!(
        verified.entries >= (run.outcomes.len() + reviews) as u64,
        "{} entries for {} alerts and {reviews} reviews",
        verified.entries,
        run.outcomes.len()
    );
    assert_eq!(
        run.refused_reviews, 0,
        "the ledger refused simulated reviews"
    );
}

#[test]
fn people_finalise_only_what_they_reviewed_and_the_rest_is_the_backlog() {
    let s = shared();
    let run = arm(s, "arbiter_static");
    for o in &run.outcomes {
        match (&o.final_, o.automated) {
            (Final::Pending, _) => assert!(o.finalised_ms.is_none()),
            (_, false) => assert!(
                !o.reviews.is_empty(),
                "alert {} finalised unreviewed",
                o.seq
            ),
            (_, true) => assert!(o.reviews.is_empty() || o.finalised_ms.is_some()),
        }
    }
    let pending = run
        .outcomes
        .iter()
        .filter(|o| o.final_ == Final::Pending)
        .count() as u64;
    assert_eq!(run.backlog.last().copied(), Some(pending));
    assert_eq!(run.backlog.len(), s.loaded.config.days as usize);
}

/// An arm that only queues: every alert waits for a person nobody provides.
struct HoldEverything {
    outcomes: Vec<Outcome>,
    backlog: Vec<u64>,
    start_ms: i64,
    days: u32,
    seed: u64,
}

impl arbiter_simulate::arms::Arm for HoldEverything {
    fn name(&self) -> &str {
        "hold_everything"
    }
    fn arrive(
        &mut self,
        alerts: &[arbiter_simulate::stream::SimAlert],
        _now_ms: i64,
        _times_out: bool,
    ) -> Result<(), arbiter_simulate::SimError> {
        for a in alerts.iter().filter(|a| !a.duplicate) {
            self.outcomes.push(a.outcome(self.start_ms));
        }
        Ok(())
    }
    fn work(
        &mut self,
        _from_ms: i64,
        _to_ms: i64,
        _poison: &BTreeMap<String, f64>,
    ) -> Result<(), arbiter_simulate::SimError> {
        Ok(())
    }
    fn end_of_day(&mut self, _day: u32) -> Result<(), arbiter_simulate::SimError> {
        self.backlog.push(self.outcomes.len() as u64);
        Ok(())
    }
    fn finish(self: Box<Self>) -> Result<ArmRun, arbiter_simulate::SimError> {
        Ok(ArmRun {
            arm: "hold_everything".into(),
            seed: self.seed,
            days: self.days,
            start_ms: self.start_ms,
            outcomes: self.outcomes,
            analysts: vec![],
            backlog: self.backlog,
            refused_reviews: 0,
        })
    }
}

struct HoldEverythingArm;

impl arbiter_simulate::arms::ArmFactory for HoldEverythingArm {
    fn name(&self) -> &str {
        "hold_everything"
    }
    fn description(&self) -> &str {
        "queues every alert and never decides one."
    }
    fn build(
        &self,
        s: &arbiter_simulate::arms::ArmSetup<'_>,
    ) -> Result<Box<dyn arbiter_simulate::arms::Arm>, arbiter_simulate::SimError> {
        Ok(Box::new(HoldEverything {
            outcomes: vec![],
            backlog: vec![],
            start_ms: s.start_ms,
            days: s.days,
            seed: s.seed,
        }))
    }
}

#[test]
fn an_arm_added_from_outside_is_measured_on_the_same_stream_and_reported() {
    use arbiter_simulate::arms::{ArmFactory, builtin};
    let mut loaded = short();
    loaded.config.days = 2;
    loaded.config.events.clear();
    loaded
        .config
        .stream
        .first_day
        .insert("ransomware".into(), 1);
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        seeds: Some(1),
        out: dir.path().to_path_buf(),
        data_dir: dir.path().to_path_buf(),
        keep_work: false,
    };
    let baseline = builtin(arbiter_simulate::config::ArmKind::Baseline);
    let arms: [&dyn ArmFactory; 2] = [baseline.as_ref(), &HoldEverythingArm];
    let runs = arbiter_simulate::run::run_with(&loaded, &opts, &mut Quiet, &arms).unwrap();
    let (base, held) = (&runs.runs[0], &runs.runs[1]);
    assert_eq!(held.arm, "hold_everything");
    assert_eq!(base.outcomes.len(), held.outcomes.len());
    let input = ReportInput {
        loaded: &loaded,
        command: "test".into(),
    };
    let summary = report(&runs, &input, dir.path()).unwrap();
    let adr = summary.arms["hold_everything"].overall["adr"].unwrap();
    assert_eq!(adr.mean, 0.0);
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("`hold_everything`: queues every alert"), "{md}");
}
