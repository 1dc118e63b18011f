//! The simulation file: what data, which families are known at day 0, the timeline, the events,
//! the team and the arms. Versioned, unknown keys refused, errors naming file and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::SimError;

/// The only format version this build understands.
pub const SIM_VERSION: u64 = 1;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    pub version: u64,
    /// Short machine name, used in report titles.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Seeds run by default (`--seeds` overrides).
    #[serde(default = "default_seeds")]
    pub seeds: u64,
    /// Days simulated.
    pub days: u32,
    /// When day 0 starts (RFC 3339, UTC midnight recommended).
    #[serde(default = "default_start")]
    pub start: String,
    pub data: Data,
    #[serde(default)]
    pub day0: Day0,
    #[serde(default)]
    pub stream: Stream,
    /// Policy file (relative to the simulation file).
    pub policy: PathBuf,
    pub analysts: crate::analysts::TeamConfig,
    #[serde(default)]
    pub events: Vec<Event>,
    /// Arms run side by side on the same stream.
    #[serde(default = "default_arms")]
    pub arms: Vec<ArmKind>,
}

fn default_seeds() -> u64 {
    20
}

fn default_start() -> String {
    "2026-01-05T00:00:00Z".into()
}

fn default_arms() -> Vec<ArmKind> {
    vec![ArmKind::Baseline, ArmKind::ArbiterStatic]
}

/// Where the labelled rows come from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum Data {
    /// The built-in SYNTHETIC scenario: its train file is day 0's, its test file the stream.
    Scenario {
        name: String,
        seed: u64,
        train_rows: usize,
        stream_rows: usize,
        #[serde(default)]
        drift: bool,
        #[serde(default)]
        gaps: f64,
    },
    /// Files read with a schema. Paths are relative to the simulation file; `${ARBITER_DATA}`
    /// stands for the shared datasets (default `../shared/data` from the working directory).
    Files {
        schema: PathBuf,
        train: PathBuf,
        /// The file streamed after day 0. Without it, the train file is split: `stream_share`
        /// of its rows (a seeded draw) plus every row of a withheld family are streamed, the
        /// rest train the day-0 model.
        #[serde(default)]
        stream: Option<PathBuf>,
        #[serde(default)]
        stream_share: Option<f64>,
    },
}

/// The model in force at day 0.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Day0 {
    /// Families left out of day-0 training: they arrive later as novel families.
    #[serde(default)]
    pub withhold: Vec<String>,
    /// Training rows used at most (a seeded stratified sample; default all).
    #[serde(default)]
    pub max_train_rows: Option<usize>,
    /// Ensemble members and trees (defaults: the training defaults).
    #[serde(default)]
    pub members: Option<usize>,
    #[serde(default)]
    pub iterations: Option<usize>,
    #[serde(default)]
    pub seed: Option<u64>,
}

/// The arrival process.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stream {
    /// Alerts per day (default: the stream file's rows spread over the days).
    #[serde(default)]
    pub alerts_per_day: Option<usize>,
    /// `office` (a working-day curve), `flat`, or 24 hourly weights.
    #[serde(default)]
    pub diurnal: Diurnal,
    /// Day on which a family first appears; families not in day-0 training and not listed
    /// arrive from day 0.
    #[serde(default)]
    pub first_day: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Diurnal {
    Named(DiurnalName),
    Weights(Vec<f64>),
}

impl Default for Diurnal {
    fn default() -> Self {
        Diurnal::Named(DiurnalName::Office)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiurnalName {
    Office,
    Flat,
}

impl Diurnal {
    /// 24 hourly weights, normalised to sum 1.
    pub fn weights(&self) -> Vec<f64> {
        let raw: Vec<f64> = match self {
            Diurnal::Named(DiurnalName::Flat) => vec![1.0; 24],
            // Night a third of the day rate, a morning and an afternoon peak.
            Diurnal::Named(DiurnalName::Office) => vec![
                0.35, 0.3, 0.3, 0.3, 0.35, 0.45, 0.7, 1.0, 1.4, 1.6, 1.6, 1.5, 1.3, 1.5, 1.6, 1.6,
                1.4, 1.2, 0.9, 0.7, 0.6, 0.5, 0.45, 0.4,
            ],
            Diurnal::Weights(w) => w.clone(),
        };
        let sum: f64 = raw.iter().sum();
        raw.iter().map(|w| w / sum).collect()
    }
}

/// Something that happens between two days (`from_day` inclusive, `to_day` exclusive).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// Numeric fields transformed: `value × scale + shift`.
    Drift {
        from_day: u32,
        to_day: u32,
        fields: BTreeMap<String, Transform>,
    },
    /// The attack share of arrivals multiplied by `factor`.
    PriorShift {
        from_day: u32,
        to_day: u32,
        factor: f64,
    },
    /// Telemetry faults on arriving alerts.
    Telemetry {
        from_day: u32,
        to_day: u32,
        /// Fields that arrive empty.
        #[serde(default)]
        missing: Vec<String>,
        /// Share of alerts affected (default all).
        #[serde(default = "one")]
        share: f64,
        /// Alerts arrive this many minutes after they happened.
        #[serde(default)]
        late_minutes: i64,
        /// Share of alerts that arrive twice.
        #[serde(default)]
        duplicate_share: f64,
        /// The source's clock is off by this many minutes.
        #[serde(default)]
        clock_skew_minutes: i64,
    },
    /// Arrivals multiplied by `factor` between two hours of one day.
    Flood {
        day: u32,
        from_hour: u32,
        to_hour: u32,
        factor: f64,
    },
    /// A share of scoring batches times out (decided without the model).
    Timeout {
        from_day: u32,
        to_day: u32,
        share: f64,
    },
    /// One analyst flips a share of the labels they give.
    PoisonedFeedback {
        from_day: u32,
        to_day: u32,
        analyst: String,
        flip_share: f64,
    },
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transform {
    #[serde(default = "one")]
    pub scale: f64,
    #[serde(default)]
    pub shift: f64,
}

/// The arms a run compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArmKind {
    /// A plain single LightGBM model: auto-close at p < 0.01, auto-act at p ≥ 0.9, no humans.
    Baseline,
    /// Today's policy and bundle, analysts in the loop, no learning.
    ArbiterStatic,
}

impl ArmKind {
    pub fn name(self) -> &'static str {
        match self {
            ArmKind::Baseline => "baseline",
            ArmKind::ArbiterStatic => "arbiter_static",
        }
    }
}

impl Event {
    /// The days it is in force, for validation.
    fn days(&self) -> (u32, u32) {
        match self {
            Event::Drift {
                from_day, to_day, ..
            }
            | Event::PriorShift {
                from_day, to_day, ..
            }
            | Event::Telemetry {
                from_day, to_day, ..
            }
            | Event::Timeout {
                from_day, to_day, ..
            }
            | Event::PoisonedFeedback {
                from_day, to_day, ..
            } => (*from_day, *to_day),
            Event::Flood { day, .. } => (*day, day + 1),
        }
    }
}

/// A loaded simulation file, with the directory its paths are relative to.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: SimConfig,
    pub path: PathBuf,
    pub text: String,
}

impl Loaded {
    /// A path of the file, resolved: `${ARBITER_DATA}` expanded from `data_dir`, relative paths
    /// taken from the simulation file's directory.
    pub fn resolve(&self, p: &Path, data_dir: &Path) -> PathBuf {
        let s = p.to_string_lossy();
        if let Some(rest) = s.strip_prefix("${ARBITER_DATA}") {
            return data_dir.join(rest.trim_start_matches('/'));
        }
        if p.is_absolute() {
            return p.to_path_buf();
        }
        self.path
            .parent()
            .map_or_else(|| p.to_path_buf(), |d| d.join(p))
    }
}

impl SimConfig {
    /// Day 0's first instant, ms since the Unix epoch (`start` was checked when parsed).
    pub fn start_ms(&self) -> i64 {
        chrono::DateTime::parse_from_rfc3339(&self.start)
            .map(|t| t.timestamp_millis())
            .unwrap_or(0)
    }
}

/// Reads and checks a simulation file.
pub fn load(path: &Path) -> Result<Loaded, SimError> {
    let text = std::fs::read_to_string(path).map_err(|source| SimError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let config = parse(&text, &path.display().to_string())?;
    Ok(Loaded {
        config,
        path: path.to_path_buf(),
        text,
    })
}

/// Parses and checks a simulation file's text; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<SimConfig, SimError> {
    let config: SimConfig = serde_yaml_ng::from_str(text).map_err(|e| {
        let mut message = e.to_string();
        if let Some(at) = message.rfind(" at line ") {
            message.truncate(at);
        }
        SimError::Config {
            origin: origin.to_string(),
            line: e.location().map(|l| l.line()),
            message,
        }
    })?;
    validate(&config, origin)?;
    Ok(config)
}

fn invalid(origin: &str, message: String) -> SimError {
    SimError::Config {
        origin: origin.to_string(),
        line: None,
        message,
    }
}

fn validate(c: &SimConfig, origin: &str) -> Result<(), SimError> {
    if c.version != SIM_VERSION {
        return Err(invalid(
            origin,
            format!(
                "version {} is not supported: this build reads version {SIM_VERSION}",
                c.version
            ),
        ));
    }
    if c.days == 0 || c.days > 366 {
        return Err(invalid(
            origin,
            format!("days = {}: expected 1 to 366", c.days),
        ));
    }
    if c.seeds == 0 {
        return Err(invalid(origin, "seeds = 0: expected at least 1".into()));
    }
    chrono::DateTime::parse_from_rfc3339(&c.start).map_err(|e| {
        invalid(
            origin,
            format!("start {:?} is not an RFC 3339 time: {e}", c.start),
        )
    })?;
    if let Diurnal::Weights(w) = &c.stream.diurnal
        && (w.len() != 24
            || w.iter().any(|x| !x.is_finite() || *x < 0.0)
            || w.iter().sum::<f64>() <= 0.0)
    {
        return Err(invalid(
            origin,
            "stream.diurnal: expected office, flat or 24 non-negative weights".into(),
        ));
    }
    if let Data::Files {
        stream,
        stream_share,
        ..
    } = &c.data
    {
        match (stream, stream_share) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    origin,
                    "data: give either stream (a file) or stream_share (split the train file), not both"
                        .into(),
                ));
            }
            (None, Some(x)) if !(*x > 0.0 && *x < 1.0) => {
                return Err(invalid(
                    origin,
                    format!("data.stream_share = {x}: expected a share strictly between 0 and 1"),
                ));
            }
            _ => {}
        }
    }
    crate::analysts::validate_team(&c.analysts.team)
        .map_err(|e| invalid(origin, format!("analysts: {e}")))?;
    if c.arms.is_empty() {
        return Err(invalid(origin, "arms: expected at least one arm".into()));
    }
    for (i, e) in c.events.iter().enumerate() {
        let (from, to) = e.days();
        if from >= to || to > c.days {
            return Err(invalid(
                origin,
                format!(
                    "events[{i}]: days {from}..{to} must be a non-empty range within the {} days",
                    c.days
                ),
            ));
        }
        let share_ok = |x: f64| (0.0..=1.0).contains(&x);
        let problem = match e {
            Event::PriorShift { factor, .. } | Event::Flood { factor, .. }
                if !(factor.is_finite() && *factor > 0.0) =>
            {
                Some(format!("factor {factor} must be positive"))
            }
            Event::Flood {
                from_hour, to_hour, ..
            } if from_hour >= to_hour || *to_hour > 24 => Some(format!(
                "hours {from_hour}..{to_hour} must be a non-empty range within the day"
            )),
            Event::Timeout { share, .. } if !share_ok(*share) => {
                Some(format!("share {share} must be in [0, 1]"))
            }
            Event::Telemetry {
                share,
                duplicate_share,
                ..
            } if !share_ok(*share) || !share_ok(*duplicate_share) => {
                Some("share and duplicate_share must be in [0, 1]".into())
            }
            Event::PoisonedFeedback {
                analyst,
                flip_share,
                ..
            } => {
                if !share_ok(*flip_share) {
                    Some(format!("flip_share {flip_share} must be in [0, 1]"))
                } else if !c.analysts.team.iter().any(|a| &a.name == analyst) {
                    Some(format!("analyst {analyst:?} is not in the team"))
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(p) = problem {
            return Err(invalid(origin, format!("events[{i}]: {p}")));
        }
    }
    Ok(())
}
