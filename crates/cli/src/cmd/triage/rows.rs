//! What triage writes: audit entries, store rows, and the summary it prints.

use std::time::Duration;

use arbiter_audit::{Entry, EntryKind};
use arbiter_core::EvidencePackage;
use arbiter_ingest::Record;
use arbiter_policy::{Decision, Policy, Tier};
use arbiter_store::{CaseUpdate, DecisionRow, NewAlert};

use super::{Args, Summary, sha256_hex};

/// The alert's lifecycle state once its decision takes effect.
pub(super) fn state_of(d: &Decision, policy: &Policy) -> &'static str {
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
fn risk(p: Option<&EvidencePackage>) -> f64 {
    match p {
        None => 0.5,
        Some(p) if !p.uncertainty.flags.is_empty() => p.verdict.p_malicious.max(0.5),
        Some(p) => p.verdict.p_malicious,
    }
}

pub(super) fn audit_entry(
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
pub(super) fn new_alert(
    r: &Record,
    d: &Decision,
    p: Option<&EvidencePackage>,
    case: CaseUpdate,
    state: &str,
    file: &str,
    file_name: &str,
    bundle: &str,
    audit_index: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<NewAlert> {
    let alert_id = arbiter_explain::package::alert_id(r, file);
    Ok(NewAlert {
        key: format!("{file_name}:{}:{alert_id}", r.line),
        alert_id,
        source_file: file_name.to_string(),
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
        package: p.map(serde_json::to_string).transpose()?,
        decision: DecisionRow {
            alert: 0,
            kind: "suggested".into(),
            tier: d.tier.to_string(),
            action: d.action.clone(),
            reasons: serde_json::to_string(&d.reasons)?,
            actor: "arbiter/policy".into(),
            time: now.to_rfc3339(),
            audit_index: Some(audit_index),
            reason_code: None,
            note: None,
        },
        state: state.to_string(),
        case,
    })
}

pub(super) fn print_summary(
    s: &Summary,
    took: Duration,
    args: &Args,
    audit_dir: &std::path::Path,
    audit_len: u64,
    checkpoint: &arbiter_audit::Checkpoint,
) {
    let secs = took.as_secs_f64();
    println!(
        "triaged {} rows of {} in {secs:.1}s ({:.0} alerts/s): {} new, {} already stored",
        s.read,
        args.data.display(),
        s.stored as f64 / secs.max(1e-9),
        s.stored,
        s.already_stored
    );
    let tiers: Vec<String> = ["auto", "approve", "analyst", "abstain"]
        .iter()
        .map(|t| format!("{t} {}", s.by_tier.get(*t).copied().unwrap_or(0)))
        .collect();
    println!("tiers     {}", tiers.join(" · "));
    println!(
        "automated {} auto-closed · {} auto-acted · {} held back by rate limits",
        s.auto_closed, s.auto_acted, s.rate_limited
    );
    println!(
        "flood     {} duplicates collapsed into existing cases · {} new patterns",
        s.collapsed, s.new_patterns
    );
    if s.timeouts > 0 {
        println!(
            "deadline  {} alerts decided without the model (model_timeout)",
            s.timeouts
        );
    }
    let mut reasons: Vec<(&String, &usize)> = s.by_reason.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    println!("reasons");
    for (code, n) in reasons {
        println!("  {n:>8}  {code}");
    }
    println!(
        "store     {}\naudit     {} ({} entries; checkpoint at size {})",
        args.db.display(),
        audit_dir.display(),
        audit_len,
        checkpoint.size
    );
}
