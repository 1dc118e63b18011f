//! One seed's stream: which alert arrives when, drawn from the pool with the day's families,
//! the diurnal curve, and the injected events applied to it.

use std::collections::BTreeMap;

use arbiter_ingest::{Record, Value};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::{Event, SimConfig};
use crate::outcome::{DAY_MS, Final, Outcome, Truth};
use crate::source::Prepared;

/// Milliseconds in an hour.
pub const HOUR_MS: i64 = 3_600_000;

/// One alert of the stream.
#[derive(Debug, Clone)]
pub struct SimAlert {
    pub seq: u64,
    /// When it reaches Arbiter.
    pub arrive_ms: i64,
    pub record: Record,
    pub truth: Truth,
    /// The category an analyst's label should name (`benign` or the attack category).
    pub category: String,
    /// A second delivery of alert `seq` (the same alert sent twice).
    pub duplicate: bool,
}

impl SimAlert {
    /// This alert as an arm first records it: arrived, unscored, waiting for a decision. An arm
    /// sets what it then did with struct update syntax.
    pub fn outcome(&self, start_ms: i64) -> Outcome {
        Outcome {
            seq: self.seq,
            day: ((self.arrive_ms - start_ms) / DAY_MS).max(0) as u32,
            arrived_ms: self.arrive_ms,
            truth: self.truth.clone(),
            p_malicious: None,
            tier: None,
            flags: Vec::new(),
            automated: false,
            reviews: Vec::new(),
            final_: Final::Pending,
            finalised_ms: None,
        }
    }
}

/// The whole stream of one seed, in arrival order, and the hours whose scoring times out.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub alerts: Vec<SimAlert>,
    /// `(day, hour)` pairs in which every scoring batch times out.
    pub timeouts: std::collections::BTreeSet<(u32, u32)>,
    /// Per day, the analysts poisoning their labels and with what share.
    pub poison: BTreeMap<u32, BTreeMap<String, f64>>,
}

fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// Builds seed `seed`'s stream. Randomness comes from separate ChaCha streams (arrivals,
/// faults, timeouts) so one event does not reshuffle everything else.
pub fn schedule(c: &SimConfig, p: &Prepared, start_ms: i64, seed: u64) -> Schedule {
    let mut draw = rng(seed, 1);
    let mut faults = rng(seed, 2);
    let mut timing = rng(seed, 3);
    let weights = c.stream.diurnal.weights();
    let per_day = c
        .stream
        .alerts_per_day
        .unwrap_or_else(|| p.pool.len().div_ceil(c.days as usize))
        .max(1);
    let names: Vec<String> = p.schema.features().map(|f| f.name.clone()).collect();
    let index_of = |field: &str| names.iter().position(|n| n == field);

    // Unused rows by class; a class drawn dry is refilled (its rows then arrive again as new
    // alerts of the same kind).
    let eligible = |i: usize, day: u32| {
        let r = &p.pool[i];
        let first = |k: &str| p.first_day.get(k).copied().unwrap_or(0);
        first(&r.family) <= day && first(&r.category) <= day
    };
    let mut unused: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
    let mut admitted = vec![false; p.pool.len()];
    let mut seq = 0u64;
    let mut alerts = Vec::new();
    let mut carry = 0.0f64;
    for day in 0..c.days {
        for (i, a) in admitted.iter_mut().enumerate() {
            if !*a && eligible(i, day) {
                *a = true;
                unused[usize::from(p.pool[i].malicious)].push(i);
            }
        }
        let attacks_known = admitted
            .iter()
            .enumerate()
            .filter(|(i, a)| **a && p.pool[*i].malicious)
            .count();
        let total_known = admitted.iter().filter(|a| **a).count().max(1);
        let base_share = attacks_known as f64 / total_known as f64;
        let factor: f64 = c
            .events
            .iter()
            .filter_map(|e| match e {
                Event::PriorShift {
                    from_day,
                    to_day,
                    factor,
                } if (*from_day..*to_day).contains(&day) => Some(*factor),
                _ => None,
            })
            .product();
        let share = factor * base_share / (factor * base_share + (1.0 - base_share));
        for (hour, w) in weights.iter().enumerate() {
            let hour = hour as u32;
            let flood: f64 = c
                .events
                .iter()
                .filter_map(|e| match e {
                    Event::Flood {
                        day: d,
                        from_hour,
                        to_hour,
                        factor,
                    } if *d == day && (*from_hour..*to_hour).contains(&hour) => Some(*factor),
                    _ => None,
                })
                .product();
            let want = per_day as f64 * w * flood + carry;
            let n = want.floor() as usize;
            carry = want - n as f64;
            let hour_start = start_ms + i64::from(day) * DAY_MS + i64::from(hour) * HOUR_MS;
            let mut times: Vec<i64> = (0..n)
                .map(|_| hour_start + draw.random_range(0..HOUR_MS))
                .collect();
            times.sort_unstable();
            for t in times {
                let class = usize::from(draw.random_bool(share.clamp(0.0, 1.0)));
                let class = if unused[class].is_empty() && !has_any(&admitted, p, class) {
                    1 - class
                } else {
                    class
                };
                if unused[class].is_empty() {
                    unused[class] = (0..p.pool.len())
                        .filter(|i| admitted[*i] && usize::from(p.pool[*i].malicious) == class)
                        .collect();
                }
                if unused[class].is_empty() {
                    continue;
                }
                let k = draw.random_range(0..unused[class].len());
                let i = unused[class].swap_remove(k);
                let row = &p.pool[i];
                let mut record = row.record.clone();
                record.line = seq + 1;
                record.time_ms = Some(t);
                let mut alert = SimAlert {
                    seq,
                    arrive_ms: t,
                    record,
                    truth: Truth {
                        malicious: row.malicious,
                        family: row.family.clone(),
                        novel: p.novel(&row.family),
                    },
                    category: row.category.clone(),
                    duplicate: false,
                };
                let duplicate = apply_events(c, day, &mut alert, &index_of, &mut faults);
                seq += 1;
                alerts.push(alert.clone());
                if duplicate {
                    let mut again = alert;
                    again.duplicate = true;
                    again.arrive_ms += 60_000;
                    alerts.push(again);
                }
            }
        }
    }
    alerts.sort_by_key(|a| (a.arrive_ms, a.seq, a.duplicate));
    let mut timeouts = std::collections::BTreeSet::new();
    let mut poison: BTreeMap<u32, BTreeMap<String, f64>> = BTreeMap::new();
    for e in &c.events {
        match e {
            Event::Timeout {
                from_day,
                to_day,
                share,
            } => {
                for day in *from_day..*to_day {
                    for hour in 0..24 {
                        if timing.random_bool(*share) {
                            timeouts.insert((day, hour));
                        }
                    }
                }
            }
            Event::PoisonedFeedback {
                from_day,
                to_day,
                analyst,
                flip_share,
            } => {
                for day in *from_day..*to_day {
                    poison
                        .entry(day)
                        .or_default()
                        .insert(analyst.clone(), *flip_share);
                }
            }
            _ => {}
        }
    }
    Schedule {
        alerts,
        timeouts,
        poison,
    }
}

fn has_any(admitted: &[bool], p: &Prepared, class: usize) -> bool {
    admitted
        .iter()
        .enumerate()
        .any(|(i, a)| *a && usize::from(p.pool[i].malicious) == class)
}

/// Applies the day's drift and telemetry faults to one alert; returns whether it is delivered
/// twice.
fn apply_events(
    c: &SimConfig,
    day: u32,
    a: &mut SimAlert,
    index_of: &dyn Fn(&str) -> Option<usize>,
    rng: &mut ChaCha8Rng,
) -> bool {
    let mut duplicate = false;
    for e in &c.events {
        match e {
            Event::Drift {
                from_day,
                to_day,
                fields,
            } if (*from_day..*to_day).contains(&day) => {
                for (name, t) in fields {
                    if let Some(j) = index_of(name)
                        && let Value::Num(x) = a.record.features[j]
                    {
                        a.record.features[j] = Value::Num(x * t.scale + t.shift);
                    }
                }
            }
            Event::Telemetry {
                from_day,
                to_day,
                missing,
                share,
                late_minutes,
                duplicate_share,
                clock_skew_minutes,
            } if (*from_day..*to_day).contains(&day) => {
                if rng.random_bool(*share) {
                    for name in missing {
                        if let Some(j) = index_of(name) {
                            a.record.features[j] = Value::Missing;
                        }
                    }
                    let happened = a.arrive_ms - late_minutes * 60_000;
                    a.record.time_ms = Some(happened + clock_skew_minutes * 60_000);
                }
                if *duplicate_share > 0.0 && rng.random_bool(*duplicate_share) {
                    duplicate = true;
                }
            }
            _ => {}
        }
    }
    duplicate
}
