//! The decision: which tier of autonomy an alert's recommended action gets, and why.
//!
//! Authority scales with both confidence and reversibility. Every rule may only *lower* the
//! tier from the most autonomous one, so `auto` survives only when every rule agrees: no
//! single signal (a high probability, a harmless action) can authorise automation on its own.

use arbiter_core::{EvidencePackage, Flag, Reason, Tier, Verdict, binary_entropy};
use serde::{Deserialize, Serialize};

use crate::file::{Impact, Policy};

/// What happened when the alert was sent for scoring.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelStatus {
    Ok,
    Timeout,
    Error(String),
    /// No model bundle is loaded.
    Missing,
}

#[derive(Debug, Clone)]
pub struct DecisionInput<'a> {
    /// `None` when scoring failed or timed out.
    pub package: Option<&'a EvidencePackage>,
    pub model: ModelStatus,
    /// Asset role or criticality key (e.g. `domain_controller`), looked up in `assets`.
    pub asset: Option<&'a str>,
    /// From the bundle's risk-control table at `policy.auto_close_alpha()`; `None` when no
    /// threshold qualified or no table exists.
    pub auto_close_threshold: Option<f64>,
    /// Circuit breaker open: no automation.
    pub conservative: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub tier: Tier,
    /// Recommended action; `None` when abstaining.
    pub action: Option<String>,
    pub impact: Option<Impact>,
    pub reversible: Option<bool>,
    pub blast_radius: Option<String>,
    /// Every rule that decided or constrained the tier, in the order applied.
    pub reasons: Vec<Reason>,
    /// Probability that the verdict is right (p for malicious, 1 − p for benign).
    pub confidence: Option<f64>,
}

impl Decision {
    pub fn has_reason(&self, code: &str) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }
}

/// Every reason code [`decide`] and the guardrails can emit; embedded tests may only expect
/// these.
pub fn known_reason_codes() -> Vec<String> {
    let fixed = [
        "breaker_open",
        "model_timeout",
        "scoring_error",
        "missing_model",
        "verdict_benign",
        "category_action",
        "category_default",
        "unknown_action",
        "irreversible",
        "band_auto",
        "band_approve",
        "band_analyst",
        "auto_close_certified",
        "auto_close_not_certified",
        "no_certified_threshold",
        "rate_limited",
        "epistemic_high",
        "aleatoric_high",
    ];
    let flags = [
        Flag::OutOfDistribution,
        Flag::MissingTelemetry,
        Flag::ConflictingSignals,
        Flag::LowConfidence,
        Flag::UnstableExplanation,
    ];
    let mut codes: Vec<String> = fixed.iter().map(|c| c.to_string()).collect();
    codes.extend(flags.iter().map(|f| format!("flag_{f}")));
    codes.extend(Impact::ALL.iter().map(|i| format!("impact_{i}")));
    codes.extend(Impact::ALL.iter().map(|i| format!("asset_{i}")));
    codes
}

/// Decides the tier for one alert. Pure and total: any input, however broken, yields one tier
/// with at least one reason. Rules in order:
///
/// 1. breaker open → reason `breaker_open`, tier capped at `approve` (applied last);
/// 2. model timeout / error / missing, no package, or a non-probability → `analyst`, with no
///    recommended action (a human drives; nothing is automated without a verdict);
/// 3. action: benign → `close_action`, malicious → category's action or `default_action`;
/// 4. a flag in `uncertain.abstain`, or an `uncertain.epistemic` / `uncertain.aleatoric` route
///    to `abstain` that fires → `abstain`;
/// 5. irreversible action → `analyst`;
/// 6. asset criticality, then action impact, above `approve.max_impact` → `analyst`, above
///    `auto.max_impact` → `approve` (a critical asset or action never gets past an analyst);
/// 7. a flag in `uncertain.analyst` → `analyst`; any other flag → `approve`; a route that
///    fires → its tier (reasons `epistemic_high`, `aleatoric_high`);
/// 8. confidence band: ≥ auto floor keeps `auto`, ≥ approve floor → `approve`, else `analyst`;
/// 9. benign close: `auto` only if p_malicious ≤ the certified threshold, else `approve`.
pub fn decide(policy: &Policy, input: &DecisionInput) -> Decision {
    let mut reasons = Vec::new();
    if input.conservative {
        reasons.push(Reason::new(
            "breaker_open",
            "circuit breaker open: scoring is failing or slow, automation suspended",
        ));
    }
    let package = match (&input.model, input.package) {
        (ModelStatus::Timeout, _) => {
            reasons.push(Reason::new(
                "model_timeout",
                "scoring timed out: no verdict",
            ));
            return without_model(reasons);
        }
        (ModelStatus::Error(e), _) => {
            reasons.push(Reason::new("scoring_error", format!("scoring failed: {e}")));
            return without_model(reasons);
        }
        (ModelStatus::Missing, _) => {
            reasons.push(Reason::new("missing_model", "no model bundle is loaded"));
            return without_model(reasons);
        }
        (ModelStatus::Ok, None) => {
            reasons.push(Reason::new(
                "scoring_error",
                "scoring reported success but produced no evidence package",
            ));
            return without_model(reasons);
        }
        (ModelStatus::Ok, Some(p)) => p,
    };
    let p = package.verdict.p_malicious;
    if !(0.0..=1.0).contains(&p) {
        reasons.push(Reason::new(
            "scoring_error",
            format!("p_malicious {p} is not a probability"),
        ));
        return without_model(reasons);
    }
    let benign = package.verdict.label == Verdict::Benign;
    let confidence = if benign { 1.0 - p } else { p };

    // 3. The action.
    let name = if benign {
        reasons.push(Reason::new(
            "verdict_benign",
            format!("benign verdict: recommend {}", policy.close_action),
        ));
        policy.close_action.clone()
    } else {
        let category = package.verdict.category.as_deref();
        let name = policy.action_for_category(category).to_string();
        match category.filter(|c| policy.categories.contains_key(*c)) {
            Some(c) => reasons.push(Reason::new(
                "category_action",
                format!("category {c}: recommend {name}"),
            )),
            None => reasons.push(Reason::new(
                "category_default",
                format!(
                    "category {} has no mapping: default action {name}",
                    category.unwrap_or("(none)")
                ),
            )),
        }
        name
    };

    // 4. Flags that make the model decline.
    let mut flags = package.uncertainty.flags.clone();
    flags.sort();
    flags.dedup();
    let declines = policy
        .uncertain
        .abstain_verdicts
        .contains(&package.verdict.label);
    let declining: Vec<Flag> = flags
        .iter()
        .copied()
        .filter(|f| declines && policy.uncertain.abstain.contains(f))
        .collect();
    let (route_abstains, routes): (Vec<_>, Vec<_>) = uncertainty_routes(policy, package)
        .into_iter()
        .partition(|(t, _)| *t == Tier::Abstain);
    if !declining.is_empty() || !route_abstains.is_empty() {
        for f in declining {
            reasons.push(Reason::new(
                format!("flag_{f}"),
                format!("{f}: the model declines to recommend"),
            ));
        }
        reasons.extend(route_abstains.into_iter().map(|(_, r)| r));
        return abstain(reasons, Some(confidence));
    }

    let Some(action) = policy.actions.get(&name) else {
        reasons.push(Reason::new(
            "unknown_action",
            format!("action {name} is not in the catalogue"),
        ));
        return Decision {
            tier: Tier::Analyst,
            action: Some(name),
            impact: None,
            reversible: None,
            blast_radius: None,
            reasons,
            confidence: Some(confidence),
        };
    };

    let mut tier = Tier::Auto;
    let mut cap = |tier: &mut Tier, ceiling: Tier, reason: Reason| {
        *tier = tier.at_most(ceiling);
        reasons.push(reason);
    };
    let bands = &policy.bands;
    let impact_ceiling = |impact: Impact| {
        if impact > bands.approve.max_impact {
            Some(Tier::Analyst)
        } else if impact > bands.auto.max_impact {
            Some(Tier::Approve)
        } else {
            None
        }
    };

    // 5. Reversibility.
    if !action.reversible {
        let text = format!("{name} cannot be undone: an analyst decides");
        cap(&mut tier, Tier::Analyst, Reason::new("irreversible", text));
    }
    // 6. Asset criticality, then the action's own impact.
    if let Some((asset, crit)) = input
        .asset
        .and_then(|a| policy.assets.get(a).map(|c| (a, *c)))
        && let Some(ceiling) = impact_ceiling(crit)
    {
        let text = format!("asset {asset} is {crit}: at most {ceiling}");
        cap(
            &mut tier,
            ceiling,
            Reason::new(format!("asset_{crit}"), text),
        );
    }
    if let Some(ceiling) = impact_ceiling(action.impact) {
        let i = action.impact;
        let text = format!("{name} has {i} impact: at most {ceiling}");
        cap(&mut tier, ceiling, Reason::new(format!("impact_{i}"), text));
    }
    // 7. Uncertainty flags.
    for f in flags {
        let (ceiling, text) = if policy.uncertain.analyst.contains(&f) {
            (Tier::Analyst, format!("{f}: an analyst decides"))
        } else if policy.uncertain.abstain.contains(&f) {
            // Abstaining on other verdicts only: this one is shown, a human decides.
            let v = package.verdict.label;
            let text = format!("{f} on a {v} verdict: an analyst decides, with the recommendation");
            (Tier::Analyst, text)
        } else {
            (Tier::Approve, format!("{f}: no automation"))
        };
        cap(&mut tier, ceiling, Reason::new(format!("flag_{f}"), text));
    }
    for (ceiling, reason) in routes {
        cap(&mut tier, ceiling, reason);
    }
    // 8. Confidence band.
    let c = confidence;
    if c >= bands.auto.min_confidence {
        let text = format!("confidence {c:.3} ≥ {}", bands.auto.min_confidence);
        cap(&mut tier, Tier::Auto, Reason::new("band_auto", text));
    } else if c >= bands.approve.min_confidence {
        let text = format!("confidence {c:.3} ≥ {}", bands.approve.min_confidence);
        cap(&mut tier, Tier::Approve, Reason::new("band_approve", text));
    } else {
        let text = format!("confidence {c:.3} < {}", bands.approve.min_confidence);
        cap(&mut tier, Tier::Analyst, Reason::new("band_analyst", text));
    }
    // 9. A benign close needs the certified threshold, whatever the confidence.
    if benign {
        let alpha = policy.auto_close.alpha;
        match input
            .auto_close_threshold
            .filter(|t| (0.0..=1.0).contains(t))
        {
            Some(t) if p <= t => {
                let text = format!("p_malicious {p:.4} ≤ threshold {t:.4} certified at α={alpha}");
                cap(
                    &mut tier,
                    Tier::Auto,
                    Reason::new("auto_close_certified", text),
                );
            }
            Some(t) => {
                let text = format!("p_malicious {p:.4} > threshold {t:.4} certified at α={alpha}");
                let r = Reason::new("auto_close_not_certified", text);
                cap(&mut tier, Tier::Approve, r);
            }
            None => {
                let text = format!("no auto-close threshold certified at α={alpha}");
                cap(
                    &mut tier,
                    Tier::Approve,
                    Reason::new("no_certified_threshold", text),
                );
            }
        }
    }
    // 1. (applied last so its cap cannot be undone) breaker open.
    if input.conservative {
        tier = tier.at_most(Tier::Approve);
    }
    Decision {
        tier,
        action: Some(name),
        impact: Some(action.impact),
        reversible: Some(action.reversible),
        blast_radius: Some(action.blast_radius.clone()),
        reasons,
        confidence: Some(confidence),
    }
}

/// The `uncertain.epistemic` and `uncertain.aleatoric` routes that fire for this package, with
/// their tiers. Measured from the package's primary fields where a 1.0 package has them (the
/// OOD score, p, the conformal set), so an older package is routed on the same numbers.
fn uncertainty_routes(policy: &Policy, package: &EvidencePackage) -> Vec<(Tier, Reason)> {
    let mut fired = Vec::new();
    let u = &package.uncertainty;
    if let Some(r) = &policy.uncertain.epistemic {
        let d = u.epistemic.disagreement;
        let mut why = Vec::new();
        if let Some(m) = r.min_disagreement.filter(|m| d >= *m) {
            why.push(format!("members disagree by {d:.3} bits ≥ {m}"));
        }
        if let Some(m) = r.min_distance.filter(|m| u.ood_score >= *m) {
            why.push(format!("distance from training {:.3} ≥ {m}", u.ood_score));
        }
        if !why.is_empty() {
            let text = format!(
                "the model does not know enough ({}): {}",
                why.join(", "),
                r.tier
            );
            fired.push((r.tier, Reason::new("epistemic_high", text)));
        }
    }
    if let Some(r) = &policy.uncertain.aleatoric {
        let h = binary_entropy(package.verdict.p_malicious);
        let both = package.verdict.conformal_set.len() == 2;
        let mut why = Vec::new();
        if let Some(m) = r.min_entropy.filter(|m| h >= *m) {
            why.push(format!("entropy {h:.3} bits ≥ {m}"));
        }
        if r.both_verdicts && both {
            why.push("the conformal set holds both verdicts".to_string());
        }
        if !why.is_empty() {
            let text = format!(
                "cases like this are genuinely mixed ({}): {}",
                why.join(", "),
                r.tier
            );
            fired.push((r.tier, Reason::new("aleatoric_high", text)));
        }
    }
    fired
}

/// No usable verdict (timeout, error, missing model): an analyst drives, and there is no
/// recommendation to rubber-stamp.
fn without_model(reasons: Vec<Reason>) -> Decision {
    Decision {
        tier: Tier::Analyst,
        action: None,
        impact: None,
        reversible: None,
        blast_radius: None,
        reasons,
        confidence: None,
    }
}

/// The model declines: no recommendation is shown, whatever it would have been.
fn abstain(reasons: Vec<Reason>, confidence: Option<f64>) -> Decision {
    Decision {
        tier: Tier::Abstain,
        action: None,
        impact: None,
        reversible: None,
        blast_radius: None,
        reasons,
        confidence,
    }
}
