//! Rate limits and the circuit breaker: deterministic given `now_ms`, and persistable.

mod common;

use arbiter_policy::{
    BreakerConfig, BreakerState, CircuitBreaker, DecisionInput, ModelStatus, Outcome, Rate,
    RateLimiter, Tier, apply_rate_limit, decide,
};
use common::{default_policy, package};

const HOUR_MS: i64 = 3_600_000;

#[test]
fn rates_parse_and_print_back() {
    let r: Rate = "5/hour".parse().expect("valid");
    assert_eq!(r.count, 5);
    assert_eq!(r.to_string(), "5/hour");
    for bad in ["5", "five/hour", "5/fortnight", "-1/day", "0/second", ""] {
        let err = bad.parse::<Rate>().expect_err(bad);
        assert!(err.contains(&format!("\"{bad}\"")), "{err}");
    }
}

#[test]
fn the_rate_limiter_spends_its_budget_then_refuses() {
    let policy = default_policy(); // isolate_host: 5/hour
    let mut rl = RateLimiter::new(&policy);
    let taken = (0..8).filter(|_| rl.try_take("isolate_host", 0)).count();
    assert_eq!(taken, 5);
    assert_eq!(rl.available("isolate_host", 0), Some(0));
}

#[test]
fn the_rate_limiter_refills_over_time() {
    let policy = default_policy();
    let mut rl = RateLimiter::new(&policy);
    while rl.try_take("isolate_host", 0) {}
    // 5 per hour: one token every 12 minutes.
    assert!(!rl.try_take("isolate_host", 11 * 60_000));
    assert!(rl.try_take("isolate_host", 12 * 60_000));
    assert!(!rl.try_take("isolate_host", 12 * 60_000));
    // A long pause refills to capacity, not beyond.
    assert_eq!(rl.available("isolate_host", 10 * HOUR_MS), Some(5));
}

#[test]
fn the_rate_limiter_ignores_a_clock_stepping_back() {
    let policy = default_policy();
    let mut rl = RateLimiter::new(&policy);
    while rl.try_take("isolate_host", HOUR_MS) {}
    assert!(!rl.try_take("isolate_host", 0));
    assert!(!rl.try_take("isolate_host", HOUR_MS + 60_000));
}

#[test]
fn actions_without_a_limit_are_unlimited() {
    let policy = default_policy();
    let mut rl = RateLimiter::new(&policy);
    assert!((0..10_000).all(|_| rl.try_take("reset_credentials", 0)));
    assert_eq!(rl.available("reset_credentials", 0), None);
}

#[test]
fn rate_limiter_state_survives_a_json_round_trip() {
    let policy = default_policy();
    let mut rl = RateLimiter::new(&policy);
    for _ in 0..3 {
        assert!(rl.try_take("isolate_host", 1_000));
    }
    let mut restored = RateLimiter::from_json(&policy, &rl.to_json()).expect("restores");
    assert_eq!(restored, rl);
    assert_eq!(restored.available("isolate_host", 1_000), Some(2));
    assert!(restored.try_take("isolate_host", 1_000));
    assert!(restored.try_take("isolate_host", 1_000));
    assert!(!restored.try_take("isolate_host", 1_000));
    let err = RateLimiter::from_json(&policy, "{").expect_err("garbage refused");
    assert!(err.to_string().contains("rate limiter"), "{err}");
}

#[test]
fn restored_rate_limits_follow_the_current_policy() {
    let policy = default_policy(); // isolate_host: 5/hour
    let mut rl = RateLimiter::new(&policy);
    for _ in 0..3 {
        assert!(rl.try_take("isolate_host", 0));
    }
    let saved = rl.to_json();
    let yaml = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/default.yaml"),
    )
    .expect("read default policy")
    .replace("isolate_host: 5/hour", "isolate_host: 1/minute")
    .replace("  disable_account: 10/hour\n", "");
    let tighter = arbiter_policy::Policy::from_yaml(&yaml, "tighter.yaml").expect("valid");
    let restored = RateLimiter::from_json(&tighter, &saved).expect("restores");
    // Two whole tokens were left; the new capacity is one.
    assert_eq!(restored.available("isolate_host", 0), Some(1));
    assert_eq!(
        restored.available("disable_account", 0),
        None,
        "no longer limited"
    );
}

#[test]
fn an_auto_decision_without_a_token_is_downgraded_to_approve() {
    let policy = default_policy(); // block_source_ip: 100/hour
    let mut rl = RateLimiter::new(&policy);
    let p = package(0.97, Some("dos"), &[]);
    let input = DecisionInput {
        package: Some(&p),
        model: ModelStatus::Ok,
        asset: None,
        auto_close_threshold: None,
        conservative: false,
    };
    let mut tiers = Vec::new();
    for _ in 0..101 {
        let mut d = decide(&policy, &input);
        let stands = apply_rate_limit(&mut d, &mut rl, 0);
        assert_eq!(stands, !d.has_reason("rate_limited"));
        tiers.push((d.tier, d.has_reason("rate_limited")));
    }
    assert!(tiers[..100].iter().all(|t| *t == (Tier::Auto, false)));
    assert_eq!(tiers[100], (Tier::Approve, true));
}

#[test]
fn rate_limits_spend_nothing_for_decisions_a_human_takes() {
    let policy = default_policy();
    let mut rl = RateLimiter::new(&policy);
    let p = package(0.75, Some("dos"), &[]);
    let input = DecisionInput {
        package: Some(&p),
        model: ModelStatus::Ok,
        asset: None,
        auto_close_threshold: None,
        conservative: false,
    };
    let mut d = decide(&policy, &input);
    assert_eq!(d.tier, Tier::Approve);
    assert!(apply_rate_limit(&mut d, &mut rl, 0));
    assert!(!d.has_reason("rate_limited"));
    assert_eq!(rl.available("block_source_ip", 0), Some(100));
}

fn config() -> BreakerConfig {
    BreakerConfig {
        max_error_rate: 0.2,
        max_latency_ms: 500,
        window: 50,
        cooldown_s: 60,
        min_samples: 10,
    }
}

#[test]
fn the_breaker_opens_when_errors_pass_the_threshold() {
    let mut b = CircuitBreaker::with_config(config());
    for t in 0..40 {
        b.record(Outcome::Ok { latency_ms: 50.0 }, t);
    }
    for t in 40..49 {
        b.record(Outcome::Error, t);
    }
    assert!(!b.is_open(49), "9 errors in 49 is under 20 %");
    b.record(Outcome::Timeout, 49);
    b.record(Outcome::Error, 50);
    assert!(b.is_open(50), "11 failures in the last 50 is over 20 %");
    assert!(b.why().is_some_and(|w| w.contains("error/timeout rate")));
}

#[test]
fn the_breaker_does_not_open_on_the_first_error() {
    let mut b = CircuitBreaker::with_config(config());
    b.record(Outcome::Error, 0);
    assert!(!b.is_open(0));
}

#[test]
fn the_breaker_opens_when_p95_latency_passes_the_threshold() {
    let mut b = CircuitBreaker::with_config(config());
    for t in 0..45 {
        b.record(Outcome::Ok { latency_ms: 100.0 }, t);
    }
    assert!(!b.is_open(45));
    for t in 45..50 {
        b.record(
            Outcome::Ok {
                latency_ms: 2_000.0,
            },
            t,
        );
    }
    assert!(b.is_open(50));
    assert!(b.why().is_some_and(|w| w.contains("p95 latency 2000 ms")));
}

#[test]
fn the_breaker_half_opens_after_cooldown_and_closes_on_a_good_trial() {
    let mut b = CircuitBreaker::with_config(config());
    for t in 0..10 {
        b.record(Outcome::Timeout, t);
    }
    assert_eq!(b.state(10), BreakerState::Open);
    assert_eq!(b.state(9 + 59_999), BreakerState::Open);
    assert_eq!(b.state(9 + 60_000), BreakerState::HalfOpen);
    assert!(!b.is_open(9 + 60_000));
    b.record(Outcome::Ok { latency_ms: 20.0 }, 9 + 60_000);
    assert_eq!(b.state(9 + 60_001), BreakerState::Closed);
}

#[test]
fn a_failed_trial_reopens_the_breaker_for_another_cooldown() {
    let mut b = CircuitBreaker::with_config(config());
    for t in 0..10 {
        b.record(Outcome::Error, t);
    }
    let trial = 9 + 60_000;
    b.record(Outcome::Error, trial);
    assert!(b.is_open(trial + 1));
    assert!(b.is_open(trial + 59_999));
    assert!(!b.is_open(trial + 60_000));
}

#[test]
fn breaker_state_survives_a_json_round_trip() {
    let mut b = CircuitBreaker::new(&default_policy());
    for t in 0..10 {
        b.record(Outcome::Error, t);
    }
    let restored = CircuitBreaker::from_json(&b.to_json()).expect("restores");
    assert_eq!(restored, b);
    assert!(restored.is_open(100));
}
