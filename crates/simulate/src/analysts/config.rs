//! The team file: who works when, how fast, and how often they get it wrong.

use std::collections::HashSet;

use arbiter_core::checked_name;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::outcome::DAY_MS;
use crate::queue::QueueItem;

const HOUR_MS: i64 = 3_600_000;

/// No error rate goes above this, however tired or swamped an analyst is: past it they would
/// be worse than a coin.
pub const MAX_ERROR_RATE: f64 = 0.5;

/// The confidence max(p, 1 − p) at or above which an unflagged verdict looks authoritative.
pub const CONFIDENT: f64 = 0.9;

/// Why a team configuration was refused.
#[derive(Debug, Error)]
pub enum AnalystError {
    #[error("invalid team config: {0}")]
    Parse(#[from] serde_yaml_ng::Error),
    #[error("the team has no analysts: list at least one under team")]
    Empty,
    #[error(
        "invalid analyst name {name:?}: expected 1 to 64 printable characters without ':' and without surrounding blanks"
    )]
    Name { name: String },
    #[error("analyst {name:?} appears twice in the team: names must be unique")]
    Duplicate { name: String },
    #[error("invalid {field} {value} for analyst {analyst:?}: expected {expected}")]
    Field {
        analyst: String,
        /// The field's path in the analyst's entry (`shift.hours`, `automation_bias.flagged` …).
        field: &'static str,
        value: f64,
        expected: &'static str,
    },
}

/// A simulation file's `team:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    pub team: Vec<AnalystConfig>,
}

impl TeamConfig {
    /// Parses and validates a YAML document holding a `team:` list.
    pub fn from_yaml(text: &str) -> Result<TeamConfig, AnalystError> {
        let config: TeamConfig = serde_yaml_ng::from_str(text)?;
        validate_team(&config.team)?;
        Ok(config)
    }
}

/// One simulated analyst.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalystConfig {
    /// The person named on every decision they make; unique in the team.
    pub name: String,
    pub shift: Shift,
    /// Capacity: reviews started per hour at most. Fractions carry over, so 12 an hour is 12
    /// an hour whatever the simulator's window.
    pub reviews_per_hour: f64,
    /// P(judges benign | attack) when rested, with an empty queue; at most [`MAX_ERROR_RATE`].
    pub miss_rate: f64,
    /// P(judges attack | benign) when rested, with an empty queue; at most [`MAX_ERROR_RATE`].
    pub false_alarm_rate: f64,
    /// Error rates × (1 + this × hours into the shift). Default 0.
    #[serde(default)]
    pub fatigue_per_hour: f64,
    /// Error rates × (1 + this × open alerts / 100). Default 0.
    #[serde(default)]
    pub queue_pressure_per_100: f64,
    /// P(accepting a wrong recommendation unexamined), by how the verdict is presented.
    pub automation_bias: AutomationBias,
    /// How long one review takes.
    pub review_minutes: ReviewMinutes,
    /// A compromised or malicious analyst, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poison: Option<Poison>,
}

/// A daily shift in UTC; it may cross midnight (`start_hour: 22, hours: 8` ends at 06:00).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shift {
    /// Hour of the day (UTC, 0–23) the shift starts, every day.
    pub start_hour: u8,
    /// Length in hours, more than 0 and at most 24.
    pub hours: f64,
}

impl Shift {
    /// The first shift that ends after `at_ms`, as `[start, end)` in ms since the Unix epoch
    /// (it contains `at_ms` when `start <= at_ms`).
    pub fn next_after(&self, at_ms: i64) -> (i64, i64) {
        let length = (self.hours * HOUR_MS as f64).round() as i64;
        let first = (at_ms.div_euclid(DAY_MS) - 1) * DAY_MS + i64::from(self.start_hour) * HOUR_MS;
        (0..3)
            .map(|d| (first + d * DAY_MS, first + d * DAY_MS + length))
            .find(|&(_, end)| end > at_ms)
            .unwrap_or((first + 3 * DAY_MS, first + 3 * DAY_MS + length))
    }

    /// Whether `at_ms` falls inside a shift.
    pub fn contains(&self, at_ms: i64) -> bool {
        self.next_after(at_ms).0 <= at_ms
    }

    /// Hours since the start of the shift that contains `at_ms` (`None` off shift).
    pub fn hours_into(&self, at_ms: i64) -> Option<f64> {
        let (start, _) = self.next_after(at_ms);
        (start <= at_ms).then(|| (at_ms - start) as f64 / HOUR_MS as f64)
    }
}

/// Automation bias: the chance an analyst accepts a *wrong* recommendation without finding
/// out, by presentation (see [`Presentation`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutomationBias {
    /// No uncertainty flag and confidence max(p, 1 − p) ≥ [`CONFIDENT`].
    pub confident: f64,
    /// Any uncertainty flag shown.
    pub flagged: f64,
    /// Everything else (unflagged but middling, or no probability).
    pub other: f64,
}

/// Time per review: lognormal with this median and this standard deviation of its logarithm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewMinutes {
    /// Median minutes per review (> 0, shorter than the shift).
    pub median: f64,
    /// σ of ln(minutes) (≥ 0; 0 makes every review last the median).
    pub spread: f64,
}

/// A poisoner: flips their own conclusion on this share of their reviews.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Poison {
    pub flip_share: f64,
}

/// How the console presents a verdict, which sets how far an analyst trusts it unexamined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Presentation {
    /// No uncertainty flag and confidence ≥ [`CONFIDENT`].
    Confident,
    /// At least one uncertainty flag.
    Flagged,
    Other,
}

impl Presentation {
    pub fn of(item: &QueueItem) -> Presentation {
        if !item.flags.is_empty() {
            Presentation::Flagged
        } else if item
            .p_malicious
            .is_some_and(|p| p.max(1.0 - p) >= CONFIDENT)
        {
            Presentation::Confident
        } else {
            Presentation::Other
        }
    }
}

impl AutomationBias {
    pub fn rate(&self, presentation: Presentation) -> f64 {
        match presentation {
            Presentation::Confident => self.confident,
            Presentation::Flagged => self.flagged,
            Presentation::Other => self.other,
        }
    }
}

/// An analyst's error rates at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorRates {
    /// P(judges benign | attack).
    pub miss: f64,
    /// P(judges attack | benign).
    pub false_alarm: f64,
}

impl AnalystConfig {
    /// The error rates `hours` into the shift with `open` alerts waiting: the configured rates
    /// × (1 + fatigue × hours) × (1 + pressure × open / 100), capped at [`MAX_ERROR_RATE`].
    pub fn error_rates(&self, hours: f64, open: usize) -> ErrorRates {
        let factor = (1.0 + self.fatigue_per_hour * hours.max(0.0))
            * (1.0 + self.queue_pressure_per_100 * open as f64 / 100.0);
        ErrorRates {
            miss: (self.miss_rate * factor).min(MAX_ERROR_RATE),
            false_alarm: (self.false_alarm_rate * factor).min(MAX_ERROR_RATE),
        }
    }

    /// Checks every field; the error names the analyst and the field.
    pub fn validate(&self) -> Result<(), AnalystError> {
        match checked_name("analyst name", &self.name) {
            Ok(n) if n == self.name => {}
            _ => {
                return Err(AnalystError::Name {
                    name: self.name.clone(),
                });
            }
        }
        let shift_minutes = self.shift.hours * 60.0;
        let checks: [(&'static str, f64, bool, &'static str); 13] = [
            (
                "shift.start_hour",
                f64::from(self.shift.start_hour),
                self.shift.start_hour < 24,
                "an hour of the day from 0 to 23",
            ),
            (
                "shift.hours",
                self.shift.hours,
                self.shift.hours > 0.0 && self.shift.hours <= 24.0,
                "more than 0 and at most 24 hours",
            ),
            (
                "reviews_per_hour",
                self.reviews_per_hour,
                self.reviews_per_hour > 0.0 && self.reviews_per_hour.is_finite(),
                "a positive number",
            ),
            (
                "miss_rate",
                self.miss_rate,
                (0.0..=MAX_ERROR_RATE).contains(&self.miss_rate),
                "a probability from 0 to 0.5",
            ),
            (
                "false_alarm_rate",
                self.false_alarm_rate,
                (0.0..=MAX_ERROR_RATE).contains(&self.false_alarm_rate),
                "a probability from 0 to 0.5",
            ),
            (
                "fatigue_per_hour",
                self.fatigue_per_hour,
                non_negative(self.fatigue_per_hour),
                "a finite number ≥ 0",
            ),
            (
                "queue_pressure_per_100",
                self.queue_pressure_per_100,
                non_negative(self.queue_pressure_per_100),
                "a finite number ≥ 0",
            ),
            (
                "automation_bias.confident",
                self.automation_bias.confident,
                probability(self.automation_bias.confident),
                "a probability from 0 to 1",
            ),
            (
                "automation_bias.flagged",
                self.automation_bias.flagged,
                probability(self.automation_bias.flagged),
                "a probability from 0 to 1",
            ),
            (
                "automation_bias.other",
                self.automation_bias.other,
                probability(self.automation_bias.other),
                "a probability from 0 to 1",
            ),
            (
                "review_minutes.median",
                self.review_minutes.median,
                self.review_minutes.median > 0.0 && self.review_minutes.median < shift_minutes,
                "more than 0 minutes and shorter than the shift",
            ),
            (
                "review_minutes.spread",
                self.review_minutes.spread,
                non_negative(self.review_minutes.spread),
                "a finite number ≥ 0",
            ),
            (
                "poison.flip_share",
                self.poison.map_or(0.0, |p| p.flip_share),
                self.poison.is_none_or(|p| probability(p.flip_share)),
                "a probability from 0 to 1",
            ),
        ];
        for (field, value, ok, expected) in checks {
            if !ok {
                return Err(AnalystError::Field {
                    analyst: self.name.clone(),
                    field,
                    value,
                    expected,
                });
            }
        }
        Ok(())
    }
}

/// Checks each analyst and that the team is not empty and has no name twice.
pub(crate) fn validate_team(team: &[AnalystConfig]) -> Result<(), AnalystError> {
    if team.is_empty() {
        return Err(AnalystError::Empty);
    }
    let mut seen = HashSet::new();
    for a in team {
        a.validate()?;
        if !seen.insert(a.name.as_str()) {
            return Err(AnalystError::Duplicate {
                name: a.name.clone(),
            });
        }
    }
    Ok(())
}

fn non_negative(x: f64) -> bool {
    x.is_finite() && x >= 0.0
}

fn probability(x: f64) -> bool {
    (0.0..=1.0).contains(&x)
}
