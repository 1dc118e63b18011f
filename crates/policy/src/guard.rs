//! Guardrails around automation: per-action rate limits and a circuit breaker on scoring.
//!
//! Both are deterministic state machines driven by an explicit `now_ms` (Unix milliseconds)
//! so they can be tested without clocks and replayed from an audit log, and both serialise so
//! a restart does not hand out a fresh budget of automated actions.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::decide::Decision;
use crate::error::PolicyError;
use crate::file::{BreakerConfig, Policy};
use arbiter_core::{Reason, Tier};

/// The unit of a rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Second,
    Minute,
    Hour,
    Day,
}

impl Period {
    pub fn millis(self) -> u64 {
        match self {
            Period::Second => 1_000,
            Period::Minute => 60_000,
            Period::Hour => 3_600_000,
            Period::Day => 86_400_000,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Period::Second => "second",
            Period::Minute => "minute",
            Period::Hour => "hour",
            Period::Day => "day",
        }
    }
}

/// `N/second|minute|hour|day`: at most N actions per period, refilled continuously.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rate {
    pub count: u64,
    pub per: Period,
}

/// Largest N accepted, so that token arithmetic (N × period in ms) cannot overflow.
const MAX_RATE_COUNT: u64 = 1_000_000_000;

impl TryFrom<String> for Rate {
    type Error = String;
    fn try_from(s: String) -> Result<Rate, String> {
        s.parse()
    }
}

impl std::str::FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Rate, String> {
        let bad = || format!("invalid rate \"{s}\", expected N/second|minute|hour|day");
        let (n, unit) = s.split_once('/').ok_or_else(bad)?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "second" | "s" => Period::Second,
            "minute" | "min" => Period::Minute,
            "hour" | "h" => Period::Hour,
            "day" | "d" => Period::Day,
            _ => return Err(bad()),
        };
        if count == 0 || count > MAX_RATE_COUNT {
            return Err(bad());
        }
        Ok(Rate { count, per })
    }
}

impl From<Rate> for String {
    fn from(r: Rate) -> String {
        r.to_string()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, self.per.as_str())
    }
}

/// One action's bucket, in integer units where one token is `period_ms` units and the refill
/// is `count` units per millisecond: exact arithmetic, so saved state replays identically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Bucket {
    rate: Rate,
    units: u128,
    last_ms: i64,
}

impl Bucket {
    fn capacity(&self) -> u128 {
        u128::from(self.rate.count) * u128::from(self.rate.per.millis())
    }

    fn refill(&mut self, now_ms: i64) {
        // A clock that steps backwards refills nothing and does not move `last_ms` back.
        if now_ms > self.last_ms {
            let elapsed = u128::from(now_ms.abs_diff(self.last_ms));
            let added = elapsed.saturating_mul(u128::from(self.rate.count));
            self.units = self.units.saturating_add(added).min(self.capacity());
            self.last_ms = now_ms;
        }
    }
}

/// Token buckets per action, from `policy.rate_limits`; actions without a limit are unlimited.
/// A bucket starts full the first time its action is used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimiter {
    limits: BTreeMap<String, Rate>,
    buckets: BTreeMap<String, Bucket>,
}

impl RateLimiter {
    pub fn new(policy: &Policy) -> RateLimiter {
        RateLimiter {
            limits: policy.rate_limits.clone(),
            buckets: BTreeMap::new(),
        }
    }

    /// Takes one token for `action` at `now_ms`; false when the action's budget is spent.
    pub fn try_take(&mut self, action: &str, now_ms: i64) -> bool {
        let Some(rate) = self.limits.get(action).copied() else {
            return true;
        };
        let bucket = self
            .buckets
            .entry(action.to_string())
            .or_insert_with(|| Bucket {
                rate,
                units: u128::from(rate.count) * u128::from(rate.per.millis()),
                last_ms: now_ms,
            });
        bucket.refill(now_ms);
        let token = u128::from(rate.per.millis());
        if bucket.units >= token {
            bucket.units -= token;
            true
        } else {
            false
        }
    }

    /// Whole tokens left for `action` at `now_ms` (`None` when it is unlimited).
    pub fn available(&self, action: &str, now_ms: i64) -> Option<u64> {
        let rate = self.limits.get(action)?;
        let mut bucket = self.buckets.get(action).cloned().unwrap_or(Bucket {
            rate: *rate,
            units: u128::from(rate.count) * u128::from(rate.per.millis()),
            last_ms: now_ms,
        });
        bucket.refill(now_ms);
        Some(u64::try_from(bucket.units / u128::from(rate.per.millis())).unwrap_or(u64::MAX))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Restores saved state under the *current* policy: its limits apply, buckets of actions no
    /// longer limited are dropped, and a bucket whose rate changed keeps its whole tokens
    /// (capped at the new capacity), so editing the policy neither resets nor inflates budgets.
    pub fn from_json(policy: &Policy, text: &str) -> Result<RateLimiter, PolicyError> {
        let saved: RateLimiter =
            serde_json::from_str(text).map_err(|source| PolicyError::State {
                what: "rate limiter",
                source,
            })?;
        let mut restored = RateLimiter::new(policy);
        for (action, mut bucket) in saved.buckets {
            let Some(rate) = restored.limits.get(&action).copied() else {
                continue;
            };
            if bucket.rate != rate {
                let tokens = bucket.units / u128::from(bucket.rate.per.millis());
                bucket.rate = rate;
                bucket.units = (tokens * u128::from(rate.per.millis())).min(bucket.capacity());
            }
            restored.buckets.insert(action, bucket);
        }
        Ok(restored)
    }
}

/// Spends a token for an `auto` decision's action; when none is left the decision is
/// downgraded to `approve` with reason `rate_limited`. Other tiers spend nothing: only
/// automation is budgeted, humans are their own rate limit. Returns false exactly when it
/// downgraded the decision.
pub fn apply_rate_limit(decision: &mut Decision, limiter: &mut RateLimiter, now_ms: i64) -> bool {
    if decision.tier != Tier::Auto {
        return true;
    }
    let Some(action) = decision.action.as_deref() else {
        return true;
    };
    if limiter.try_take(action, now_ms) {
        true
    } else {
        let rate = limiter
            .limits
            .get(action)
            .map_or_else(String::new, |r| format!(" ({r})"));
        decision.reasons.push(Reason {
            code: "rate_limited".to_string(),
            text: format!("automation budget for {action}{rate} spent: approval needed"),
        });
        decision.tier = Tier::Approve;
        false
    }
}

/// The result of one scoring call. Latency is fractional because batch scoring reports a
/// per-row share of the batch time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok { latency_ms: f64 },
    Error,
    Timeout,
}

/// Breaker state as seen at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    /// Cooldown over: the next outcome closes the breaker (ok) or reopens it (failure).
    HalfOpen,
}

/// Trips when scoring becomes unreliable (error/timeout share or p95 latency over the policy's
/// thresholds in the last `window` outcomes), so decisions fall back to conservative mode
/// instead of automating on a degraded model service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    window: VecDeque<Outcome>,
    opened_at_ms: Option<i64>,
    why: Option<String>,
}

impl CircuitBreaker {
    pub fn new(policy: &Policy) -> CircuitBreaker {
        CircuitBreaker::with_config(policy.breaker)
    }

    pub fn with_config(config: BreakerConfig) -> CircuitBreaker {
        CircuitBreaker {
            config,
            window: VecDeque::new(),
            opened_at_ms: None,
            why: None,
        }
    }

    pub fn state(&self, now_ms: i64) -> BreakerState {
        match self.opened_at_ms {
            None => BreakerState::Closed,
            Some(at) => {
                let cooldown = i64::try_from(self.config.cooldown_s.saturating_mul(1000));
                if now_ms.saturating_sub(at) >= cooldown.unwrap_or(i64::MAX) {
                    BreakerState::HalfOpen
                } else {
                    BreakerState::Open
                }
            }
        }
    }

    /// True while open; false when closed or half-open (a trial call may go through).
    pub fn is_open(&self, now_ms: i64) -> bool {
        self.state(now_ms) == BreakerState::Open
    }

    /// Why the breaker last opened, for the `breaker_open` reason text.
    pub fn why(&self) -> Option<&str> {
        self.why.as_deref()
    }

    pub fn record(&mut self, outcome: Outcome, now_ms: i64) {
        match self.state(now_ms) {
            // Outcomes during the cooldown do not count: the trial after it decides.
            BreakerState::Open => {}
            BreakerState::HalfOpen => {
                let max = self.config.max_latency_ms as f64;
                let healthy = matches!(outcome, Outcome::Ok { latency_ms } if latency_ms <= max);
                if healthy {
                    self.opened_at_ms = None;
                    self.why = None;
                    self.window.clear();
                    self.window.push_back(outcome);
                } else {
                    self.opened_at_ms = Some(now_ms);
                    self.why = Some(format!("trial call after cooldown failed ({outcome:?})"));
                }
            }
            BreakerState::Closed => {
                self.window.push_back(outcome);
                while self.window.len() > self.config.window {
                    self.window.pop_front();
                }
                if let Some(why) = self.tripped() {
                    self.opened_at_ms = Some(now_ms);
                    self.why = Some(why);
                }
            }
        }
    }

    fn tripped(&self) -> Option<String> {
        let n = self.window.len();
        if n < self.config.min_samples.max(1) {
            return None;
        }
        let failures = self
            .window
            .iter()
            .filter(|o| !matches!(o, Outcome::Ok { .. }))
            .count();
        let rate = failures as f64 / n as f64;
        if rate > self.config.max_error_rate {
            return Some(format!(
                "error/timeout rate {rate:.2} over the last {n} calls exceeds {}",
                self.config.max_error_rate
            ));
        }
        let mut latencies: Vec<f64> = self
            .window
            .iter()
            .filter_map(|o| match o {
                Outcome::Ok { latency_ms } => Some(*latency_ms),
                _ => None,
            })
            .collect();
        // NaN sorts last, so a latency that is not a number counts as slow.
        latencies.sort_unstable_by(f64::total_cmp);
        // Nearest-rank p95.
        let rank = (latencies.len() * 95).div_ceil(100);
        let p95 = latencies.get(rank.saturating_sub(1)).copied()?;
        let slow = p95.is_nan() || p95 > self.config.max_latency_ms as f64;
        slow.then(|| {
            format!(
                "p95 latency {p95:.0} ms over the last {n} calls exceeds {} ms",
                self.config.max_latency_ms
            )
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<CircuitBreaker, PolicyError> {
        serde_json::from_str(text).map_err(|source| PolicyError::State {
            what: "circuit breaker",
            source,
        })
    }
}
