//! The metrics of one scope: the whole run or one arrival day.

use arbiter_core::stats::ece;

use super::{ECE_BINS, Metrics};
use crate::outcome::{ArmRun, DAY_MS, Final, Outcome};

const MS_PER_MINUTE: f64 = 60_000.0;

/// The whole run: outcome metrics over every alert, workload averaged over the run's days.
pub(super) fn overall(run: &ArmRun, outcomes: &[&Outcome]) -> Metrics {
    let reviews: usize = outcomes.iter().map(|o| o.reviews.len()).sum();
    let backlog = (!run.backlog.is_empty())
        .then(|| run.backlog.iter().map(|&b| b as f64).sum::<f64>() / run.backlog.len() as f64);
    Metrics {
        reviews: (run.days > 0).then(|| reviews as f64 / f64::from(run.days)),
        reviews_per_analyst: per_analyst(run.analysts.iter().map(|a| a.reviews)),
        backlog,
        ..outcome_metrics(outcomes)
    }
}

/// One day: outcome metrics over the alerts that arrived that day, workload done that day.
pub(super) fn day(run: &ArmRun, day: u32) -> Metrics {
    let arrived: Vec<&Outcome> = run.outcomes.iter().filter(|o| o.day == day).collect();
    let reviews = run
        .outcomes
        .iter()
        .flat_map(|o| &o.reviews)
        .filter(|r| day_of(run.start_ms, r.at_ms) == Some(day))
        .count();
    let analysts = run
        .analysts
        .iter()
        .filter(|a| a.day == day)
        .map(|a| a.reviews);
    Metrics {
        reviews: Some(reviews as f64),
        reviews_per_analyst: per_analyst(analysts),
        backlog: run.backlog.get(day as usize).map(|&b| b as f64),
        ..outcome_metrics(&arrived)
    }
}

/// The day an instant falls on, counting from `start_ms`; `None` before the start.
fn day_of(start_ms: i64, at_ms: i64) -> Option<u32> {
    u32::try_from((at_ms - start_ms).div_euclid(DAY_MS)).ok()
}

/// Mean reviews over the analyst-days that had at least one.
fn per_analyst(reviews: impl Iterator<Item = u32>) -> Option<f64> {
    let working: Vec<u32> = reviews.filter(|&r| r > 0).collect();
    (!working.is_empty())
        .then(|| working.iter().map(|&r| f64::from(r)).sum::<f64>() / working.len() as f64)
}

/// Everything that depends only on the alerts in scope (workload fields left empty).
fn outcome_metrics(outcomes: &[&Outcome]) -> Metrics {
    let alerts = outcomes.len() as u64;
    let attacks = outcomes.iter().filter(|o| o.truth.malicious).count() as u64;
    let benign_contained = outcomes
        .iter()
        .filter(|o| {
            !o.truth.malicious
                && matches!(
                    o.final_,
                    Final::Acted {
                        containment: true,
                        ..
                    }
                )
        })
        .count() as u64;
    let silent_misses = outcomes
        .iter()
        .filter(|o| o.truth.malicious && o.automated && o.final_ == Final::Closed)
        .count() as u64;
    let automated = outcomes.iter().filter(|o| o.automated).count() as u64;
    let (ttd_p50_min, ttd_p90_min) = time_to_decision(outcomes);
    Metrics {
        alerts,
        attacks,
        benign_contained,
        fpoa_per_1000: ratio(benign_contained, alerts).map(|r| 1000.0 * r),
        silent_misses,
        silent_miss_share: ratio(silent_misses, attacks),
        automated,
        adr: ratio(automated, alerts),
        hiy: yield_of_reviews(outcomes),
        ttd_p50_min,
        ttd_p90_min,
        ece: calibration(outcomes),
        ..Metrics::default()
    }
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn yield_of_reviews(outcomes: &[&Outcome]) -> Option<f64> {
    let reviews: Vec<_> = outcomes.iter().flat_map(|o| &o.reviews).collect();
    let useful = reviews
        .iter()
        .filter(|r| r.changed_outcome || r.label_correct == Some(true))
        .count();
    ratio(useful as u64, reviews.len() as u64)
}

/// Median and 90th percentile of the minutes from arrival to the last review, over alerts a
/// person finalised.
fn time_to_decision(outcomes: &[&Outcome]) -> (Option<f64>, Option<f64>) {
    let mut minutes: Vec<f64> = outcomes
        .iter()
        .filter(|o| !o.automated && o.final_ != Final::Pending)
        .filter_map(|o| {
            o.reviews
                .last()
                .map(|r| (r.at_ms - o.arrived_ms) as f64 / MS_PER_MINUTE)
        })
        .collect();
    minutes.sort_by(f64::total_cmp);
    (quantile(&minutes, 0.5), quantile(&minutes, 0.9))
}

fn calibration(outcomes: &[&Outcome]) -> Option<f64> {
    let (p, y): (Vec<f64>, Vec<bool>) = outcomes
        .iter()
        .filter_map(|o| {
            o.p_malicious
                .filter(|p| p.is_finite())
                .map(|p| (p, o.truth.malicious))
        })
        .unzip();
    (!p.is_empty()).then(|| ece(&p, &y, ECE_BINS))
}

/// The `q` quantile of sorted values by linear interpolation between order statistics
/// (numpy's default); `None` when empty.
pub(super) fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = q.clamp(0.0, 1.0) * last as f64;
    let below = rank.floor() as usize;
    let above = (below + 1).min(last);
    let t = rank - below as f64;
    Some(sorted[below] + t * (sorted[above] - sorted[below]))
}

#[cfg(test)]
mod tests {
    use super::{day_of, quantile};
    use crate::outcome::DAY_MS;

    #[test]
    fn quantiles_interpolate_between_neighbouring_values() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.5), Some(2.5));
        assert_eq!(quantile(&v, 0.0), Some(1.0));
        assert_eq!(quantile(&v, 1.0), Some(4.0));
        assert_eq!(quantile(&[7.0], 0.9), Some(7.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn an_instant_belongs_to_the_day_it_falls_on_and_none_before_the_start() {
        assert_eq!(day_of(1_000, 1_000), Some(0));
        assert_eq!(day_of(1_000, 1_000 + DAY_MS - 1), Some(0));
        assert_eq!(day_of(1_000, 1_000 + DAY_MS), Some(1));
        assert_eq!(day_of(1_000, 999), None);
    }
}
