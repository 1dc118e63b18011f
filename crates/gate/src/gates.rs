//! Running the gates: every row goes through the same scorer and policy as a live alert
//! (evidence package, certified threshold, `decide`), once per model.

use std::sync::Arc;
use std::time::Duration;

use arbiter_core::stats::ece;
use arbiter_core::{AlertState, SystemClock, Verdict};
use arbiter_ingest::Record;
use arbiter_model::Model;
use arbiter_model::spec::ECE_BINS;
use arbiter_policy::{DecisionInput, ModelStatus, Policy, decide};
use arbiter_store::ExampleRow;
use arbiter_triage::{Scorer, certified_threshold, state_of};

use crate::error::GateError;
use crate::report::{Gate, GateReport, ModelSide, RecentInfo, SuiteInfo};
use crate::suite::{Expect, Suite};

/// Most a candidate's recall on recent attacks may fall below the champion's, at the lower
/// one-sided 95 % confidence bound of the paired difference.
pub const RECALL_MARGIN: f64 = 0.005;
/// The candidate's ECE may reach the champion's, or this, whichever is larger.
pub const ECE_FLOOR: f64 = 0.03;
/// One-sided 95 % normal quantile.
const Z: f64 = 1.644_853_626_951_472_2;

/// Recent labelled alerts neither model trained on, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Recent {
    pub records: Vec<Record>,
    pub malicious: Vec<bool>,
    pub ids: Vec<i64>,
}

impl Recent {
    /// The teaching examples with the given ids (the candidate's held-back set), read as the
    /// model saw them; examples without kept features cannot be scored and are skipped.
    pub fn from_examples(rows: &[ExampleRow], ids: &[i64], model: &Model) -> Recent {
        let want: std::collections::HashSet<i64> = ids.iter().copied().collect();
        let mut r = Recent::default();
        for e in rows.iter().filter(|e| want.contains(&e.id)) {
            let Some(f) = &e.features else { continue };
            r.records
                .push(Record::from_observed(&model.schema, f, e.id as u64));
            r.malicious
                .push(e.example.label.verdict() == Verdict::Malicious);
            r.ids.push(e.id);
        }
        r
    }
}

/// What one model did with a batch of rows.
struct Judged {
    p: Vec<f64>,
    state: Vec<AlertState>,
}

fn judge(model: &Arc<Model>, policy: &Policy, records: &[Record]) -> Result<Judged, GateError> {
    let scorer = Scorer::new(model.clone(), None, None)?;
    // No deadline that matters: a gate measures the model, not the machine.
    let scored = scorer.score(
        records,
        "gate",
        Duration::from_secs(24 * 3600),
        &SystemClock,
    );
    let threshold = certified_threshold(policy, model);
    let mut out = Judged {
        p: Vec::with_capacity(records.len()),
        state: Vec::with_capacity(records.len()),
    };
    for (r, pkg) in records.iter().zip(&scored.packages) {
        let d = decide(
            policy,
            &DecisionInput {
                package: pkg.as_ref(),
                model: scored.status.clone(),
                asset: scorer.asset(r),
                auto_close_threshold: threshold,
                conservative: false,
            },
        );
        out.p
            .push(pkg.as_ref().map_or(f64::NAN, |p| p.verdict.p_malicious));
        out.state.push(state_of(&d, policy));
    }
    if scored.status != ModelStatus::Ok {
        return Err(GateError::Scoring {
            model: model.id.clone(),
            status: format!("{:?}", scored.status),
        });
    }
    Ok(out)
}

/// Runs every gate of `candidate` against `champion`.
pub fn run(
    champion: &Arc<Model>,
    candidate: &Arc<Model>,
    policy: &Policy,
    suite: &Suite,
    recent: &Recent,
) -> Result<GateReport, GateError> {
    if champion.schema.id() != candidate.schema.id() {
        return Err(GateError::Schema {
            champion: champion.schema.id(),
            candidate: candidate.schema.id(),
        });
    }
    let mut gates = Vec::new();

    // 1. The regression suite, candidate only: it must hold whatever the champion did.
    let records: Vec<Record> = suite.cases.iter().map(|c| c.record.clone()).collect();
    let j = judge(candidate, policy, &records)?;
    for (expect, name, bad, what) in [
        (
            Expect::MustCatch,
            "regression.must_catch",
            AlertState::AutoClosed,
            "auto-closed",
        ),
        (
            Expect::MustNotAct,
            "regression.must_not_act",
            AlertState::AutoActed,
            "acted on without a human",
        ),
    ] {
        let idx: Vec<usize> = (0..suite.cases.len())
            .filter(|&i| suite.cases[i].expect == expect)
            .collect();
        let failed: Vec<usize> = idx.iter().copied().filter(|&i| j.state[i] == bad).collect();
        let held = share(idx.len() - failed.len(), idx.len());
        let mut detail = format!("{} of {} rows {what}", failed.len(), idx.len());
        for &i in failed.iter().take(10) {
            let c = &suite.cases[i];
            detail.push_str(&format!(
                "; {} line {} ({}, p {:.4})",
                c.file, c.line, c.category, j.p[i]
            ));
        }
        gates.push(Gate::at_least(name, held.unwrap_or(1.0), 1.0, detail));
    }

    // 2. Time-ordered non-inferiority on recent labelled alerts.
    let a = judge(champion, policy, &recent.records)?;
    let b = judge(candidate, policy, &recent.records)?;
    let attacks: Vec<usize> = (0..recent.malicious.len())
        .filter(|&i| recent.malicious[i])
        .collect();
    let caught = |j: &Judged, i: usize| j.p[i] >= 0.5;
    let (mut lost, mut gained) = (0usize, 0usize);
    for &i in &attacks {
        match (caught(&a, i), caught(&b, i)) {
            (true, false) => lost += 1,
            (false, true) => gained += 1,
            _ => {}
        }
    }
    let n = attacks.len() as f64;
    let recall = |j: &Judged| {
        share(
            attacks.iter().filter(|&&i| caught(j, i)).count(),
            attacks.len(),
        )
    };
    if attacks.is_empty() {
        gates.push(Gate::failed(
            "non_inferiority.recall",
            -RECALL_MARGIN,
            "no recent labelled attacks: non-inferiority cannot be shown; hold back more \
             recent examples (retrain --recent) or wait for more labels"
                .into(),
        ));
    } else {
        let diff = (gained as f64 - lost as f64) / n;
        let var = ((gained + lost) as f64 / n - diff * diff).max(0.0) / n;
        let lcb = diff - Z * var.sqrt();
        gates.push(Gate::at_least(
            "non_inferiority.recall",
            lcb,
            -RECALL_MARGIN,
            format!(
                "recall on {} recent attacks: champion {:.4}, candidate {:.4}; paired: {lost} \
                 caught only by the champion, {gained} only by the candidate; lower 95 % \
                 bound of the difference {lcb:+.4}",
                attacks.len(),
                recall(&a).unwrap_or(0.0),
                recall(&b).unwrap_or(0.0)
            ),
        ));
    }
    let benign_acted = |j: &Judged| {
        (0..recent.malicious.len())
            .filter(|&i| !recent.malicious[i] && j.state[i] == AlertState::AutoActed)
            .count()
    };
    let per_1000 = |k: usize| 1000.0 * share(k, recent.records.len()).unwrap_or(0.0);
    let (fa, fb) = (benign_acted(&a), benign_acted(&b));
    gates.push(Gate::at_most(
        "non_inferiority.fpoa",
        per_1000(fb),
        per_1000(fa),
        format!(
            "false-positive automated actions per 1,000 recent alerts: champion {:.2} ({fa}), \
             candidate {:.2} ({fb}), of {} alerts",
            per_1000(fa),
            per_1000(fb),
            recent.records.len()
        ),
    ));
    let (ea, eb) = if recent.records.is_empty() {
        (f64::NAN, f64::NAN)
    } else {
        (
            ece(&a.p, &recent.malicious, ECE_BINS),
            ece(&b.p, &recent.malicious, ECE_BINS),
        )
    };
    let bound = if ea.is_nan() {
        ECE_FLOOR
    } else {
        ea.max(ECE_FLOOR)
    };
    if recent.records.is_empty() {
        gates.push(Gate::failed(
            "non_inferiority.ece",
            bound,
            "no recent labelled alerts to measure calibration on".into(),
        ));
    } else {
        gates.push(Gate::at_most(
            "non_inferiority.ece",
            eb,
            bound,
            format!(
                "ECE ({ECE_BINS} bins) on {} recent alerts: champion {ea:.4}, candidate {eb:.4}; \
                 bound max(champion, {ECE_FLOOR})",
                recent.records.len()
            ),
        ));
    }

    // 3. A certified auto-close threshold at the policy's α.
    let alpha = policy.auto_close_alpha();
    let ta = certified_threshold(policy, champion);
    let tb = certified_threshold(policy, candidate);
    let text = |t: Option<f64>| t.map_or("none".into(), |t| format!("{t:.4}"));
    gates.push(Gate {
        name: "certified_threshold".into(),
        passed: tb.is_some(),
        measured: tb,
        bound: None,
        comparison: "certified".into(),
        detail: format!(
            "auto-close threshold certified at α = {alpha}: champion {}, candidate {}",
            text(ta),
            text(tb)
        ),
    });

    Ok(GateReport {
        version: 1,
        champion: ModelSide::of(champion, ta),
        candidate: ModelSide::of(candidate, tb),
        policy: format!("{} v{}", policy.file(), policy.version()),
        suite: SuiteInfo {
            name: suite.name.clone(),
            file: suite.path.clone(),
            sha256: suite.sha256.clone(),
            must_catch: suite.count(Expect::MustCatch),
            must_not_act: suite.count(Expect::MustNotAct),
        },
        recent: RecentInfo {
            alerts: recent.records.len(),
            attacks: attacks.len(),
            first_example: recent.ids.first().copied(),
            last_example: recent.ids.last().copied(),
        },
        passed: gates.iter().all(|g| g.passed),
        gates,
    })
}

fn share(k: usize, n: usize) -> Option<f64> {
    (n > 0).then(|| k as f64 / n as f64)
}
