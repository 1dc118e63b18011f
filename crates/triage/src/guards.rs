//! The policy and its guardrails as state: the certified auto-close threshold, rate limits,
//! the circuit breaker and flood control. Deciding is sequential (each decision spends budget
//! the next one sees), so this lives with the writer.

use std::sync::Arc;

use arbiter_core::{AlertState, Clock, EvidencePackage};
use arbiter_ledger::AlertRecord;
use arbiter_model::Model;
use arbiter_policy::{
    CircuitBreaker, Decision, DecisionInput, FloodControl, ModelStatus, Outcome, Policy,
    RateLimiter, Tier, apply_rate_limit, decide,
};
use arbiter_store::{CaseUpdate, StoreRead};

use crate::keys::fingerprint;
use crate::rows::{self, Decided};
use crate::score::{Scored, Scorer};
use crate::{Incoming, Summary, TriageError};

/// The store state holding the rate limiter's buckets.
pub const RATE_LIMITER_STATE: &str = "rate_limiter";

pub struct Guards {
    policy: Arc<Policy>,
    threshold: Option<f64>,
    limiter: RateLimiter,
    flood: FloodControl,
    breaker: CircuitBreaker,
}

impl Guards {
    /// The guardrails of `policy` for `model`, with rate-limit budgets and flood-control cases
    /// restored from the store, so that a restart neither refills budgets nor forgets which
    /// patterns were seen.
    pub fn restore(
        policy: Arc<Policy>,
        model: &Model,
        store: &dyn StoreRead,
        clock: &dyn Clock,
    ) -> Result<Guards, TriageError> {
        let limiter = match store.get_state(RATE_LIMITER_STATE)? {
            Some(json) => RateLimiter::from_json(&policy, &json)?,
            None => RateLimiter::new(&policy),
        };
        let cases = store.cases()?;
        let flood = FloodControl::restore(
            &policy,
            cases.iter().map(|c| (c.key.as_str(), c.count)),
            clock.now_ms(),
        );
        Ok(Guards {
            threshold: certified_threshold(&policy, model),
            breaker: CircuitBreaker::new(&policy),
            policy,
            limiter,
            flood,
        })
    }

    pub fn policy(&self) -> &Arc<Policy> {
        &self.policy
    }

    /// Puts a new policy in force (the caller audited it). Rate-limit budgets of actions that
    /// keep their limit carry over.
    pub fn set_policy(&mut self, policy: Arc<Policy>, model: &Model) {
        self.limiter = RateLimiter::from_json(&policy, &self.limiter.to_json())
            .unwrap_or_else(|_| RateLimiter::new(&policy));
        self.flood = FloodControl::from_json(&policy, &self.flood.to_json())
            .unwrap_or_else(|_| FloodControl::new(&policy));
        self.breaker = CircuitBreaker::new(&policy);
        self.threshold = certified_threshold(&policy, model);
        self.policy = policy;
    }

    /// A new model's certified auto-close threshold replaces the old one's.
    pub fn set_model(&mut self, model: &Model) {
        self.threshold = certified_threshold(&self.policy, model);
    }

    /// Whether the circuit breaker has dropped to conservative mode.
    pub fn breaker_open(&self, now_ms: i64) -> bool {
        self.breaker.is_open(now_ms)
    }

    /// The state to store with the decisions just made.
    pub fn state(&self) -> Vec<(String, String)> {
        vec![(RATE_LIMITER_STATE.to_string(), self.limiter.to_json())]
    }

    /// The auto-close threshold the model in force certified.
    pub fn threshold(&self) -> Option<f64> {
        self.threshold
    }

    /// Decides each alert of a scored batch, in order: policy, rate limit, flood control;
    /// auto-close at `threshold` (the certified threshold of the model that scored it).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn decide(
        &mut self,
        fresh: &[Incoming],
        scored: Scored,
        scorer: &Scorer,
        file: &str,
        clock: &dyn Clock,
        sum: &mut Summary,
        threshold: Option<f64>,
    ) -> Vec<(AlertRecord, Decided)> {
        let now = clock.now();
        let now_ms = now.timestamp_millis();
        let conservative = self.breaker.is_open(now_ms);
        match &scored.status {
            ModelStatus::Ok => self.breaker.record(
                Outcome::Ok {
                    latency_ms: scored.ms_per_row,
                },
                now_ms,
            ),
            ModelStatus::Timeout => {
                self.breaker.record(Outcome::Timeout, now_ms);
                sum.timeouts += fresh.len();
            }
            _ => self.breaker.record(Outcome::Error, now_ms),
        }
        self.flood.expire(now_ms);
        let mut out = Vec::with_capacity(fresh.len());
        for (inc, p) in fresh.iter().zip(scored.packages) {
            let r = &inc.record;
            let mut d = decide(
                &self.policy,
                &DecisionInput {
                    package: p.as_ref(),
                    model: scored.status.clone(),
                    asset: scorer.asset(r),
                    auto_close_threshold: threshold,
                    conservative,
                },
            );
            if d.tier == Tier::Auto && !apply_rate_limit(&mut d, &mut self.limiter, now_ms) {
                sum.rate_limited += 1;
            }
            let case = self.case_for(inc, p.as_ref(), now_ms, sum);
            let state = state_of(&d, &self.policy);
            out.push(rows::record(
                inc,
                d,
                p,
                case,
                state,
                file,
                &scored.bundle,
                now,
                Some(r.observed(&scorer.model().schema)),
            ));
        }
        out
    }

    fn case_for(
        &mut self,
        inc: &Incoming,
        p: Option<&EvidencePackage>,
        now_ms: i64,
        sum: &mut Summary,
    ) -> CaseUpdate {
        match p {
            Some(p) => {
                // Windows follow event time when the data has it (replaying last week's
                // alerts must not collapse a week into five minutes), else arrival.
                let at = inc.record.time_ms.unwrap_or(now_ms);
                let f = self
                    .flood
                    .observe_with(p, Some(&fingerprint(&inc.record)), at);
                sum.collapsed += usize::from(!f.first_in_window);
                sum.new_patterns += usize::from(f.new_pattern);
                CaseUpdate {
                    key: f.case_key,
                    opens: f.first_in_window,
                    new_pattern: f.new_pattern,
                }
            }
            None => CaseUpdate {
                key: format!("unscored:{}", inc.key),
                opens: true,
                new_pattern: false,
            },
        }
    }
}

/// The alert's lifecycle state once its decision takes effect.
pub fn state_of(d: &Decision, policy: &Policy) -> AlertState {
    AlertState::after_policy(d.tier, d.action.as_deref() == Some(policy.close_action()))
}

/// The auto-close threshold `model` certified at the policy's α, if it certified one.
pub fn certified_threshold(policy: &Policy, model: &Model) -> Option<f64> {
    let alpha = policy.auto_close_alpha();
    model
        .spec
        .risk
        .table
        .iter()
        .find(|r| (r.alpha - alpha).abs() < 1e-12)
        .and_then(|r| r.threshold)
}
