//! The summary `arbiter triage` prints at the end of a run.

use std::time::Duration;

use arbiter_triage::Summary;

use super::Args;

pub(super) fn print(
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
