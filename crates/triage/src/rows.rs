//! What triage hands the ledger: one store row per decided alert.

use arbiter_core::{AlertState, EvidencePackage, Flag, ModelId, Observed, Tier};
use arbiter_ledger::AlertRecord;
use arbiter_policy::Decision;
use arbiter_store::{CaseUpdate, NewAlert};
use chrono::{DateTime, Utc};

use crate::Incoming;

/// What was decided about one alert, for the caller's report.
#[derive(Debug, Clone)]
pub(crate) struct Decided {
    pub tier: Tier,
    pub action: Option<String>,
    pub state: AlertState,
    pub reasons: Vec<String>,
    pub p_malicious: Option<f64>,
    pub flags: Vec<Flag>,
}

/// Queue order: the calibrated probability, but an uncertain verdict counts at least as a coin
/// flip, and an alert the model never scored sits with them.
pub fn risk(p: Option<&EvidencePackage>) -> f64 {
    match p {
        None => 0.5,
        Some(p) if !p.uncertainty.flags.is_empty() => p.verdict.p_malicious.max(0.5),
        Some(p) => p.verdict.p_malicious,
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn record(
    inc: &Incoming,
    d: Decision,
    p: Option<EvidencePackage>,
    case: CaseUpdate,
    state: AlertState,
    file: &str,
    bundle: &str,
    now: DateTime<Utc>,
    features: Option<Observed>,
) -> (AlertRecord, Decided) {
    let r = &inc.record;
    // The package names the alert by its identity, not by where it was read.
    let p = p.map(|mut p| {
        p.alert_id = inc.key.to_string();
        p
    });
    let flags: Vec<Flag> = p
        .as_ref()
        .map_or_else(Vec::new, |p| p.uncertainty.flags.clone());
    let decided = Decided {
        tier: d.tier,
        action: d.action.clone(),
        state,
        reasons: d.reasons.iter().map(|r| r.code.clone()).collect(),
        p_malicious: p.as_ref().map(|p| p.verdict.p_malicious),
        flags: flags.clone(),
    };
    let alert = NewAlert {
        key: inc.key.clone(),
        source_file: std::path::Path::new(file)
            .file_name()
            .map_or(file.to_string(), |n| n.to_string_lossy().into_owned()),
        source_line: r.line,
        time: p.as_ref().and_then(|p| p.time.clone()),
        received_at: now,
        bundle: ModelId::new(bundle).ok(),
        p_malicious: p.as_ref().map(|p| p.verdict.p_malicious),
        verdict: p.as_ref().map(|p| p.verdict.label),
        category: p.as_ref().and_then(|p| p.verdict.category.clone()),
        flags,
        risk: risk(p.as_ref()),
        tier: d.tier,
        action: d.action,
        impact: d.impact,
        reversible: d.reversible,
        blast_radius: d.blast_radius,
        reasons: d.reasons,
        package: p,
        state,
        case,
        features,
    };
    let entities = r.ids.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    (
        AlertRecord {
            alert,
            entities,
            second: None,
        },
        decided,
    )
}
