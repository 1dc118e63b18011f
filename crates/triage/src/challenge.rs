//! A second model beside the champion. The **shadow** scores every alert; its decision is
//! recorded next to the champion's and never acted on. The **canary** decides a declared share
//! of alerts (chosen by a hash of the alert key, so a replay picks the same ones), and the
//! champion's decision on those is recorded beside it. Either way both models score the same
//! records in parallel, and a second opinion is what the policy would decide on the other
//! model's package — before rate limits and flood control, which only the acted-on decision
//! spends.

use std::sync::Arc;
use std::time::Duration;

use arbiter_core::{AlertKey, Clock, EvidencePackage, ModelId};
use arbiter_ingest::Record;
use arbiter_policy::{DecisionInput, ModelStatus, Policy, decide};
use arbiter_store::{ModelState, SecondOpinion};
use sha2::{Digest, Sha256};

use crate::Incoming;
use crate::guards::certified_threshold;
use crate::score::{Scored, Scorer};

/// The shadow or the canary, ready to score.
pub struct Challenger {
    pub scorer: Arc<Scorer>,
    /// [`ModelState::Shadow`] or [`ModelState::Canary`].
    pub role: ModelState,
    /// Share of alerts the canary decides (0 for a shadow).
    pub share: f64,
}

impl Challenger {
    pub fn shadow(scorer: Arc<Scorer>) -> Challenger {
        Challenger {
            scorer,
            role: ModelState::Shadow,
            share: 0.0,
        }
    }

    pub fn canary(scorer: Arc<Scorer>, share: f64) -> Challenger {
        Challenger {
            scorer,
            role: ModelState::Canary,
            share: share.clamp(0.0, 1.0),
        }
    }

    pub fn id(&self) -> &str {
        &self.scorer.model().id
    }

    /// Whether the canary decides this alert: a stable hash of its key falls below the share.
    pub fn decides(&self, key: &AlertKey) -> bool {
        self.role == ModelState::Canary && slot(key) < self.share
    }
}

/// Where a key falls in [0, 1): the first 8 bytes of its SHA-256.
pub fn slot(key: &AlertKey) -> f64 {
    let h = Sha256::digest(key.to_string().as_bytes());
    let n = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
    (n >> 11) as f64 / (1u64 << 53) as f64
}

/// Least time the challenger gets beyond the champion's own, when the champion was quick.
pub const CHALLENGER_GRACE: Duration = Duration::from_millis(50);

/// Scores `records` with the champion and, on another thread at the same time, with the
/// challenger. The champion has `deadline`; the challenger only as long again as the champion
/// took (at least [`CHALLENGER_GRACE`], within `deadline`), so a slow or dead shadow delays
/// no decision by more than that: past it, its scores count as a timeout (a canary's share is
/// then decided without a model, by people).
pub fn score_pair(
    champion: &Scorer,
    challenger: Option<&Challenger>,
    records: &[Record],
    file: &str,
    deadline: Duration,
    clock: &Arc<dyn Clock>,
) -> (Scored, Option<Scored>) {
    let Some(ch) = challenger else {
        return (
            champion.score(records, file, deadline, clock.as_ref()),
            None,
        );
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let (scorer, rows, name, c) = (
        ch.scorer.clone(),
        records.to_vec(),
        file.to_string(),
        clock.clone(),
    );
    let started = std::time::Instant::now();
    let spawned = std::thread::Builder::new()
        .name("arbiter-challenger".into())
        .spawn(move || {
            let _ = tx.send(scorer.score(&rows, &name, deadline, c.as_ref()));
        });
    let mine = champion.score(records, file, deadline, clock.as_ref());
    let took = started.elapsed();
    let wait = took
        .max(CHALLENGER_GRACE)
        .min(deadline.saturating_sub(took));
    let timed_out = |why: ModelStatus| Scored {
        packages: vec![None; records.len()],
        status: why,
        ms_per_row: 0.0,
        bundle: ch.id().to_string(),
    };
    let theirs = match spawned {
        Err(e) => timed_out(ModelStatus::Error(format!(
            "cannot start the challenger's scoring thread: {e}"
        ))),
        Ok(_) => rx
            .recv_timeout(wait)
            .unwrap_or_else(|_| timed_out(ModelStatus::Timeout)),
    };
    (mine, Some(theirs))
}

/// What the policy would decide on `package` from the model of `scorer`, whose certified
/// auto-close threshold is `threshold`.
pub(crate) fn opinion(
    policy: &Policy,
    (scorer, threshold): (&Scorer, Option<f64>),
    inc: &Incoming,
    package: Option<EvidencePackage>,
    status: &ModelStatus,
    role: ModelState,
) -> Option<SecondOpinion> {
    let model = scorer.model();
    let d = decide(
        policy,
        &DecisionInput {
            package: package.as_ref(),
            model: status.clone(),
            asset: scorer.asset(&inc.record),
            auto_close_threshold: threshold,
            conservative: false,
        },
    );
    let package = package.map(|mut p| {
        p.alert_id = inc.key.to_string();
        p
    });
    Some(SecondOpinion {
        model: ModelId::new(&model.id).ok()?,
        role,
        tier: d.tier,
        action: d.action,
        p_malicious: package.as_ref().map(|p| p.verdict.p_malicious),
        verdict: package.as_ref().map(|p| p.verdict.label),
        category: package.as_ref().and_then(|p| p.verdict.category.clone()),
        reasons: d.reasons,
        package,
    })
}

/// The alerts one model acts on: their places in the batch, the alerts and that model's packages.
#[derive(Default)]
struct Side {
    at: Vec<usize>,
    fresh: Vec<Incoming>,
    packages: Vec<Option<EvidencePackage>>,
}

/// Decides a scored batch with a challenger beside the champion: the acted-on decision of
/// each alert comes from the guards (the canary's share with the canary's package and
/// threshold), and the other model's opinion is attached to its record.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decide_challenged(
    guards: &mut crate::Guards,
    fresh: &[Incoming],
    mut scored: Scored,
    champion: &Scorer,
    ch: &Challenger,
    mut theirs: Scored,
    file: &str,
    clock: &dyn Clock,
    sum: &mut crate::Summary,
) -> Vec<(arbiter_ledger::AlertRecord, crate::rows::Decided)> {
    let n = fresh.len();
    let by_canary: Vec<bool> = fresh.iter().map(|i| ch.decides(&i.key)).collect();
    let policy = guards.policy().clone();
    // Each model's certified auto-close threshold, for its acted-on decisions and its opinions.
    let champion_side = (champion, certified_threshold(&policy, champion.model()));
    let challenger_side = (&*ch.scorer, certified_threshold(&policy, ch.scorer.model()));
    let mut mine: Vec<Option<EvidencePackage>> = std::mem::take(&mut scored.packages);
    let mut other: Vec<Option<EvidencePackage>> = std::mem::take(&mut theirs.packages);
    mine.resize(n, None);
    other.resize(n, None);
    // Who acts on each alert, with its package; the other side gives the second opinion.
    let mut sides = [Side::default(), Side::default()];
    let mut second = Vec::with_capacity(n);
    for (i, inc) in fresh.iter().enumerate() {
        let canary = by_canary[i];
        let (act, opine) = if canary {
            (other[i].take(), mine[i].take())
        } else {
            (mine[i].take(), other[i].take())
        };
        let side = &mut sides[usize::from(canary)];
        side.at.push(i);
        side.fresh.push(inc.clone());
        side.packages.push(act);
        second.push(if canary {
            opinion(
                &policy,
                champion_side,
                inc,
                opine,
                &scored.status,
                ModelState::Champion,
            )
        } else {
            opinion(
                &policy,
                challenger_side,
                inc,
                opine,
                &theirs.status,
                ch.role,
            )
        });
    }
    let mut out: Vec<Option<(arbiter_ledger::AlertRecord, crate::rows::Decided)>> =
        (0..n).map(|_| None).collect();
    let [mine_side, canary_side] = sides;
    for (side, (scorer, threshold), by) in [
        (mine_side, champion_side, &scored),
        (canary_side, challenger_side, &theirs),
    ] {
        if side.fresh.is_empty() {
            continue;
        }
        let batch = Scored {
            packages: side.packages,
            status: by.status.clone(),
            ms_per_row: by.ms_per_row,
            bundle: by.bundle.clone(),
        };
        let decided = guards.decide(&side.fresh, batch, scorer, file, clock, sum, threshold);
        for (i, d) in side.at.into_iter().zip(decided) {
            out[i] = Some(d);
        }
    }
    out.into_iter()
        .zip(second)
        .map(|(d, o)| {
            let (mut rec, decided) = d.expect("every alert is decided by one side");
            rec.second = o;
            (rec, decided)
        })
        .collect()
}
