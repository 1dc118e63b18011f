//! Properties of the decision over random packages and inputs: totality, the "never auto"
//! invariants, and monotonicity in confidence.

mod common;

use arbiter_core::{EvidencePackage, Flag, Verdict};
use arbiter_policy::{Decision, DecisionInput, Impact, ModelStatus, Policy, Tier, decide};
use common::{default_policy, package_with_label};
use proptest::prelude::*;

const CATEGORIES: [&str; 8] = [
    "dos",
    "probe",
    "brute_force",
    "lateral_movement",
    "exfiltration",
    "c2_beacon",
    "something_new",
    "port_scan",
];
const FLAGS: [Flag; 5] = [
    Flag::OutOfDistribution,
    Flag::MissingTelemetry,
    Flag::ConflictingSignals,
    Flag::LowConfidence,
    Flag::UnstableExplanation,
];
const ASSETS: [&str; 4] = [
    "domain_controller",
    "build_server",
    "workstation",
    "unknown",
];

#[derive(Debug, Clone)]
struct Case {
    label: Verdict,
    p: f64,
    category: Option<&'static str>,
    flags: Vec<Flag>,
    asset: Option<&'static str>,
    threshold: Option<f64>,
    conservative: bool,
    model: ModelStatus,
    has_package: bool,
}

fn any_case() -> impl Strategy<Value = Case> {
    let p = prop_oneof![8 => 0.0..=1.0f64, 1 => Just(f64::NAN), 1 => -1.0..2.0f64];
    let model = prop_oneof![
        6 => Just(ModelStatus::Ok),
        1 => Just(ModelStatus::Timeout),
        1 => Just(ModelStatus::Error("boom".into())),
        1 => Just(ModelStatus::Missing),
    ];
    (
        (
            prop::bool::ANY,
            p,
            prop::option::of(prop::sample::select(&CATEGORIES[..])),
        ),
        prop::sample::subsequence(&FLAGS[..], 0..=2),
        prop::option::of(prop::sample::select(&ASSETS[..])),
        prop::option::of(0.0..0.05f64),
        (prop::bool::ANY, model, prop::bool::weighted(0.95)),
    )
        .prop_map(
            |(
                (malicious, p, category),
                flags,
                asset,
                threshold,
                (conservative, model, has_package),
            )| Case {
                label: if malicious {
                    Verdict::Malicious
                } else {
                    Verdict::Benign
                },
                p,
                category,
                flags,
                asset,
                threshold,
                conservative,
                model,
                has_package,
            },
        )
}

/// Loaded once: the properties run thousands of cases.
static POLICY: std::sync::LazyLock<Policy> = std::sync::LazyLock::new(default_policy);

/// The default policy with both uncertainty routes set.
static ROUTED: std::sync::LazyLock<Policy> = std::sync::LazyLock::new(|| {
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/default.yaml");
    let text = std::fs::read_to_string(path).expect("default policy");
    let routes = "uncertain:\n  epistemic: {tier: abstain, min_disagreement: 0.1, min_distance: 0.97}\n  \
                  aleatoric: {tier: analyst, min_entropy: 0.8, both_verdicts: true}\n";
    Policy::from_yaml(&text.replace("uncertain:\n", routes), "routed.yaml").expect("routed")
});

fn run(policy: &Policy, c: &Case) -> (Decision, EvidencePackage) {
    let pkg = package_with_label(c.label, c.p, c.category, &c.flags);
    (decide_on(policy, c, &pkg), pkg)
}

/// The case's decision with `pkg` as its package.
fn decide_on(policy: &Policy, c: &Case, pkg: &EvidencePackage) -> Decision {
    decide(
        policy,
        &DecisionInput {
            package: c.has_package.then_some(pkg),
            model: c.model.clone(),
            asset: c.asset,
            auto_close_threshold: c.threshold,
            conservative: c.conservative,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_input_gets_one_tier_with_at_least_one_reason(c in any_case()) {
        let policy = &*POLICY;
        let (d, _) = run(policy, &c);
        prop_assert!(!d.reasons.is_empty());
        prop_assert!(d.reasons.iter().all(|r| !r.code.is_empty() && !r.text.is_empty()));
        // Abstaining shows no recommendation; without a model verdict an analyst drives
        // without one too. Every other tier recommends an action.
        if d.tier == Tier::Abstain {
            prop_assert!(d.action.is_none());
        }
        if d.action.is_none() {
            prop_assert!(matches!(d.tier, Tier::Abstain | Tier::Analyst));
        }
    }

    #[test]
    fn failures_flags_and_an_open_breaker_never_yield_auto(c in any_case()) {
        let policy = &*POLICY;
        let (d, _) = run(policy, &c);
        let blocked = c.model != ModelStatus::Ok
            || !c.has_package
            || c.conservative
            || c.flags.contains(&Flag::MissingTelemetry)
            || c.flags.contains(&Flag::OutOfDistribution);
        if blocked {
            prop_assert_ne!(d.tier, Tier::Auto, "{:?}", d.reasons);
        }
        if c.conservative {
            prop_assert!(d.has_reason("breaker_open"));
        }
        if c.model == ModelStatus::Timeout {
            prop_assert!(d.has_reason("model_timeout"));
        }
    }

    #[test]
    fn auto_requires_every_condition_at_once(c in any_case()) {
        let policy = &*POLICY;
        let (d, pkg) = run(policy, &c);
        if d.tier == Tier::Auto {
            let bands = policy.bands();
            let confidence = d.confidence.unwrap_or(f64::NAN);
            prop_assert!(confidence >= bands.auto.min_confidence);
            prop_assert!(d.impact.is_some_and(|i| i <= bands.auto.max_impact));
            prop_assert_eq!(d.reversible, Some(true));
            prop_assert!(c.flags.is_empty());
            prop_assert!(!c.conservative && c.model == ModelStatus::Ok);
            if pkg.verdict.label == Verdict::Benign {
                prop_assert!(c.threshold.is_some_and(|t| c.p < t));
            }
        }
    }

    #[test]
    fn irreversible_or_critical_actions_only_reach_an_analyst(c in any_case()) {
        let policy = &*POLICY;
        let (d, _) = run(policy, &c);
        if d.reversible == Some(false) || d.impact == Some(Impact::Critical) {
            prop_assert_eq!(d.tier, Tier::Analyst);
        }
    }

    #[test]
    fn lowering_confidence_never_raises_autonomy(
        c in any_case(),
        hi in 0.0..=1.0f64,
        drop in 0.0..=1.0f64,
    ) {
        let policy = &*POLICY;
        let lo = hi * (1.0 - drop);
        // Confidence is p for a malicious verdict and 1 - p for a benign one.
        let p_of = |conf: f64| if c.label == Verdict::Malicious { conf } else { 1.0 - conf };
        let sure = Case { p: p_of(hi), ..c.clone() };
        let unsure = Case { p: p_of(lo), ..c.clone() };
        let (a, _) = run(policy, &sure);
        let (b, _) = run(policy, &unsure);
        prop_assert!(
            b.tier.autonomy() <= a.tier.autonomy(),
            "confidence {} -> {:?}, {} -> {:?}", hi, a.tier, lo, b.tier
        );
    }

    #[test]
    fn more_uncertainty_of_either_kind_never_raises_autonomy(
        c in any_case(),
        disagreement in 0.0..=1.0f64,
        distance in 0.0..=1.0f64,
        both in prop::bool::ANY,
    ) {
        let policy = &*ROUTED;
        let (calm, _) = run(policy, &c);
        let mut pkg = package_with_label(c.label, c.p, c.category, &c.flags);
        pkg.uncertainty.epistemic.disagreement = disagreement;
        pkg.uncertainty.ood_score = distance;
        if both {
            pkg.verdict.conformal_set = vec![Verdict::Benign, Verdict::Malicious];
        }
        let d = decide_on(policy, &c, &pkg);
        prop_assert!(
            d.tier.autonomy() <= calm.tier.autonomy(),
            "{:?} -> {:?}: {:?}", calm.tier, d.tier, d.reasons
        );
        if d.tier == Tier::Auto {
            prop_assert!(disagreement < 0.1 && distance < 0.97 && !both);
        }
    }
}
