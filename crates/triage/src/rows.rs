//! What triage writes: audit entries and store rows.

use arbiter_audit::{Entry, EntryKind};
use arbiter_core::EvidencePackage;
use arbiter_ingest::Record;
use arbiter_policy::{Decision, Policy, Tier};
use arbiter_store::{CaseUpdate, DecisionRow, NewAlert};

use crate::{TriageError, sha256_hex};

/// The alert's lifecycle state once its decision takes effect.
pub fn state_of(d: &Decision, policy: &Policy) -> &'static str {
    match d.tier {
        Tier::Auto if d.action.as_deref() == Some(policy.close_action()) => "auto_closed",
        Tier::Auto => "auto_acted",
        Tier::Approve => "pending_approval",
        Tier::Analyst => "analyst",
        Tier::Abstain => "abstained",
    }
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

pub(crate) fn audit_entry(
    r: &Record,
    d: &Decision,
    p: Option<&EvidencePackage>,
    file: &str,
    bundle: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Entry {
    let alert_id = arbiter_explain::package::alert_id(r, file);
    let mut entities = vec![alert_id.clone()];
    entities.extend(r.ids.iter().map(|(k, v)| format!("{k}:{v}")));
    let package_sha256 = p.map(|p| sha256_hex(&serde_json::to_vec(p).unwrap_or_default()));
    if let Some(c) = p.and_then(|p| p.verdict.category.clone()) {
        entities.push(format!("category:{c}"));
    }
    Entry {
        time: now,
        kind: EntryKind::Decision,
        actor: "arbiter/policy".into(),
        entities,
        summary: format!(
            "{alert_id}: {} {}{}",
            d.tier,
            d.action.as_deref().unwrap_or("(no action)"),
            p.map_or(" (not scored)".to_string(), |p| format!(
                " at p(malicious) {:.4}",
                p.verdict.p_malicious
            ))
        ),
        body: serde_json::json!({
            "decision": d,
            "bundle": bundle,
            "source": {"file": file, "line": r.line},
            "p_malicious": p.map(|p| p.verdict.p_malicious),
            "flags": p.map(|p| &p.uncertainty.flags),
            "why": p.map(|p| &p.summary.why),
            "package_sha256": package_sha256,
        }),
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn new_alert(
    r: &Record,
    key: &str,
    d: &Decision,
    p: Option<&EvidencePackage>,
    case: CaseUpdate,
    state: &str,
    file: &str,
    bundle: &str,
    audit_index: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<NewAlert, TriageError> {
    let alert_id = arbiter_explain::package::alert_id(r, file);
    let json = |what: &'static str| move |source| TriageError::Json { what, source };
    Ok(NewAlert {
        key: key.to_string(),
        alert_id,
        source_file: std::path::Path::new(file)
            .file_name()
            .map_or(file.to_string(), |n| n.to_string_lossy().into_owned()),
        source_line: r.line,
        time: p.and_then(|p| p.time.clone()),
        received_at: now.to_rfc3339(),
        bundle: Some(bundle.to_string()),
        p_malicious: p.map(|p| p.verdict.p_malicious),
        verdict: p.map(|p| format!("{:?}", p.verdict.label).to_lowercase()),
        category: p.and_then(|p| p.verdict.category.clone()),
        flags: p.map_or_else(Vec::new, |p| {
            p.uncertainty
                .flags
                .iter()
                .map(|f| f.as_str().to_string())
                .collect()
        }),
        risk: risk(p),
        impact: d.impact.map(|i| i.as_str().to_string()),
        reversible: d.reversible,
        blast_radius: d.blast_radius.clone(),
        package: p
            .map(serde_json::to_string)
            .transpose()
            .map_err(json("evidence package"))?,
        decision: DecisionRow {
            alert: 0,
            kind: "suggested".into(),
            tier: d.tier.to_string(),
            action: d.action.clone(),
            reasons: serde_json::to_string(&d.reasons).map_err(json("reasons"))?,
            actor: "arbiter/policy".into(),
            time: now.to_rfc3339(),
            audit_index: Some(audit_index),
            reason_code: None,
            note: None,
            ms_to_decision: None,
        },
        state: state.to_string(),
        case,
    })
}
