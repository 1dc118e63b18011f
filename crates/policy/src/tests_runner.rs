//! Runs the `tests:` embedded in a policy file (`arbiter policy test`) and summarises a policy
//! (`arbiter policy check`), so a policy change is checked against its author's intent before
//! it reaches production.

use std::fmt;
use std::path::Path;

use arbiter_core::{Aleatoric, Epistemic, EvidencePackage, Flag, Verdict};
use serde::Serialize;

use crate::cases::{Expect, TestAlert, TestBreaker, TestCase, TestModel, TestTelemetry};
use crate::decide::{Decision, DecisionInput, ModelStatus, decide};
use crate::error::PolicyError;
use crate::file::Policy;
use arbiter_core::{Reason, Tier};

/// The result of one embedded test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseResult {
    pub name: String,
    pub passed: bool,
    pub expected: Expect,
    pub got_tier: Tier,
    pub got_action: Option<String>,
    pub reasons: Vec<Reason>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestReport {
    pub file: String,
    pub cases: Vec<CaseResult>,
}

impl TestReport {
    /// True when every case passed (and vacuously for a policy without tests).
    pub fn passed(&self) -> bool {
        self.failed() == 0
    }
    pub fn passed_count(&self) -> usize {
        self.cases.iter().filter(|c| c.passed).count()
    }
    pub fn failed(&self) -> usize {
        self.total() - self.passed_count()
    }
    pub fn total(&self) -> usize {
        self.cases.len()
    }
}

impl fmt::Display for TestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.cases {
            let mark = if c.passed { "ok  " } else { "FAIL" };
            let got = match &c.got_action {
                Some(a) => format!("{} {a}", c.got_tier),
                None => c.got_tier.to_string(),
            };
            writeln!(f, "{mark} {}: got {got}", c.name)?;
            if !c.passed {
                let e = &c.expected;
                writeln!(
                    f,
                    "     expected tier {}{}{}",
                    e.tier,
                    e.action
                        .as_deref()
                        .map_or(String::new(), |a| format!(", action {a}")),
                    e.reason
                        .as_deref()
                        .map_or(String::new(), |r| format!(", reason {r}")),
                )?;
                let codes: Vec<&str> = c.reasons.iter().map(|r| r.code.as_str()).collect();
                writeln!(f, "     reasons: {}", codes.join(", "))?;
            }
        }
        writeln!(
            f,
            "{}: {} passed, {} failed",
            self.file,
            self.passed_count(),
            self.failed()
        )
    }
}

/// Runs every embedded test through [`decide`].
pub fn run_tests(policy: &Policy) -> TestReport {
    let cases = policy.tests.iter().map(|t| run_case(policy, t)).collect();
    TestReport {
        file: policy.file.clone(),
        cases,
    }
}

fn run_case(policy: &Policy, case: &TestCase) -> CaseResult {
    let decision = decide_alert(policy, &case.alert);
    let e = &case.expect;
    let passed = decision.tier == e.tier
        && e.action
            .as_ref()
            .is_none_or(|a| decision.action.as_ref() == Some(a))
        && e.reason.as_deref().is_none_or(|r| decision.has_reason(r));
    CaseResult {
        name: case.name.clone(),
        passed,
        expected: e.clone(),
        got_tier: decision.tier,
        got_action: decision.action,
        reasons: decision.reasons,
    }
}

/// The decision for an embedded test's alert.
pub fn decide_alert(policy: &Policy, alert: &TestAlert) -> Decision {
    let model = match alert.model {
        TestModel::Ok => ModelStatus::Ok,
        TestModel::Timeout => ModelStatus::Timeout,
        TestModel::Error => ModelStatus::Error("embedded test".to_string()),
        TestModel::Missing => ModelStatus::Missing,
    };
    let package = match (alert.model, alert.p_malicious) {
        (TestModel::Ok, Some(p)) => Some(test_package(alert, p)),
        _ => None,
    };
    decide(
        policy,
        &DecisionInput {
            package: package.as_ref(),
            model,
            asset: alert.asset.as_deref(),
            auto_close_threshold: alert.threshold,
            conservative: alert.breaker == TestBreaker::Open,
        },
    )
}

/// A minimal evidence package carrying what the policy reads: verdict, category, flags and the
/// measured uncertainties.
fn test_package(alert: &TestAlert, p: f64) -> EvidencePackage {
    let mut flags = alert.flags.clone();
    if alert.telemetry == TestTelemetry::Degraded && !flags.contains(&Flag::MissingTelemetry) {
        flags.push(Flag::MissingTelemetry);
    }
    let label = if p >= 0.5 {
        Verdict::Malicious
    } else {
        Verdict::Benign
    };
    let ood = flags.contains(&Flag::OutOfDistribution);
    let mut pkg =
        EvidencePackage::verdict_only("policy-test", label, p, alert.category.as_deref(), flags);
    let (d, distance) = (
        alert.disagreement.unwrap_or(0.0),
        alert.distance.unwrap_or(0.0),
    );
    let u = &mut pkg.uncertainty;
    u.ood_score = distance;
    u.epistemic = Epistemic::from_parts(d, distance, ood);
    if alert.both_verdicts {
        pkg.verdict.conformal_set = vec![Verdict::Benign, Verdict::Malicious];
        pkg.uncertainty.aleatoric = Aleatoric::assess(p, true);
    }
    pkg
}

/// What `arbiter policy check` prints for a valid policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckSummary {
    pub file: String,
    pub version: u64,
    pub actions: usize,
    pub categories: usize,
    /// Tiers with a band (`auto`, `approve`) plus the `analyst` fallback.
    pub bands: usize,
    pub assets: usize,
    pub rate_limits: usize,
    pub reason_codes: usize,
    pub tests: usize,
    pub auto_close_alpha: f64,
}

impl fmt::Display for CheckSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "valid (version {}): {} actions, {} categories, {} bands, {} assets, \
             {} rate limits, {} reason codes, {} tests, auto-close at α={}",
            self.version,
            self.actions,
            self.categories,
            self.bands,
            self.assets,
            self.rate_limits,
            self.reason_codes,
            self.tests,
            self.auto_close_alpha
        )
    }
}

/// Parses and validates a policy file without running its tests.
pub fn check(path: impl AsRef<Path>) -> Result<CheckSummary, PolicyError> {
    let policy = Policy::load(path)?;
    Ok(summary(&policy))
}

pub fn summary(policy: &Policy) -> CheckSummary {
    CheckSummary {
        file: policy.file.clone(),
        version: policy.version,
        actions: policy.actions.len(),
        categories: policy.categories.len(),
        bands: 3,
        assets: policy.assets.len(),
        rate_limits: policy.rate_limits.len(),
        reason_codes: policy.reason_codes.len(),
        tests: policy.tests.len(),
        auto_close_alpha: policy.auto_close.alpha,
    }
}
