//! Simulated analysts who work the queue the way people do: on shifts, at a limited pace,
//! taking alerts in the console's order, tiring as the shift goes on and erring more as the
//! queue grows, trusting confident verdicts too much (automation bias), and — for a poisoner —
//! deliberately flipping some conclusions. Every decision they hand back is one the ledger's
//! rules accept (`arbiter_ledger::human::plan`), and a seed gives the same decisions.
//!
//! ```
//! use arbiter_simulate::analysts::{Team, TeamConfig};
//! use arbiter_simulate::Vocabulary;
//! use rand::SeedableRng;
//!
//! let config = TeamConfig::from_yaml(
//!     "team:
//!        - name: ana
//!          shift: {start_hour: 8, hours: 8}
//!          reviews_per_hour: 12
//!          miss_rate: 0.05
//!          false_alarm_rate: 0.03
//!          fatigue_per_hour: 0.05
//!          queue_pressure_per_100: 0.10
//!          automation_bias: {confident: 0.30, flagged: 0.05, other: 0.15}
//!          review_minutes: {median: 6.0, spread: 0.5}",
//! )
//! .unwrap();
//! let mut team = Team::new(&config.team).unwrap();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
//! // An empty queue at 09:00 on day 0: nothing to do.
//! let work = team.work(&[], 9 * 3_600_000, 10 * 3_600_000, 0, &Vocabulary::default(), &mut rng);
//! assert!(work.is_empty());
//! ```

mod config;
mod judge;
mod team;

pub(crate) use config::validate_team;
pub use config::{
    AnalystConfig, AnalystError, AutomationBias, CONFIDENT, ErrorRates, MAX_ERROR_RATE, Poison,
    Presentation, ReviewMinutes, Shift, TeamConfig,
};
pub use team::Team;
