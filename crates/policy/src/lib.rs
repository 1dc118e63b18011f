//! arbiter-policy: decides how much autonomy each alert's recommended action gets.
//!
//! Authority scales with both confidence and reversibility: a model can be 99 % sure and still
//! be the wrong system to revoke credentials at 2 a.m., and 70 % sure and the right one to
//! close a duplicate. A YAML policy ([`Policy`]) names the actions, their impact and
//! reversibility, the confidence bands and the flags that take decisions away from the model;
//! [`decide`] maps one evidence package to a [`Tier`] with the reasons that led there; the
//! guardrails ([`RateLimiter`], [`CircuitBreaker`], [`FloodControl`]) bound what automation
//! can do in aggregate; [`run_tests`] runs the examples embedded in the policy file.
//!
//! ```
//! use arbiter_policy::{Policy, DecisionInput, ModelStatus, Tier, decide};
//! let yaml = r#"
//! version: 1
//! actions:
//!   close_alert: {impact: none, reversible: true, blast_radius: one alert}
//!   open_incident: {impact: low, reversible: true, blast_radius: none}
//! close_action: close_alert
//! categories: {}
//! default_action: open_incident
//! "#;
//! let policy = Policy::from_yaml(yaml, "policy.yaml").unwrap();
//! let d = decide(&policy, &DecisionInput {
//!     package: None, model: ModelStatus::Timeout, asset: None,
//!     auto_close_threshold: None, conservative: false,
//! });
//! assert_eq!(d.tier, Tier::Analyst);
//! assert_eq!(d.action, None);
//! assert_eq!(d.reasons[0].code, "model_timeout");
//! ```

mod cases;
mod decide;
mod error;
mod file;
mod flood;
mod guard;
mod tests_runner;
mod validate;

pub use arbiter_core::{Reason, Tier};
pub use cases::{Expect, TestAlert, TestBreaker, TestCase, TestModel, TestTelemetry};
pub use decide::{Decision, DecisionInput, ModelStatus, decide, known_reason_codes};
pub use error::{Location, PolicyError};
pub use file::{
    Action, AleatoricRoute, AutoClose, Band, Bands, BreakerConfig, EpistemicRoute, FloodConfig,
    Impact, POLICY_VERSION, Policy, RISK_ALPHAS, ReasonCode, Uncertain,
};
pub use flood::{FloodControl, FloodOutcome};
pub use guard::{
    BreakerState, CircuitBreaker, Outcome, Period, Rate, RateLimiter, apply_rate_limit,
};
pub use tests_runner::{
    CaseResult, CheckSummary, TestReport, check, decide_alert, run_tests, summary,
};
