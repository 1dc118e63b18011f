//! Building one file's windows: category counts, generation, drift and telemetry gaps.

use crate::attacks::attack;
use crate::benign::benign;
use crate::event::{Category, Event, Period, Rng, SHARES, chance, int, lognormal, uniform};
use crate::fields::{Num::*, Source};
use crate::inventory::{Inventory, ROLLOUT_SENSOR};

/// Rows per category for a file of `n` rows: attack shares rounded, benign takes the rest.
/// Categories with no rows are left out.
pub(crate) fn counts(n: usize, train: bool) -> Vec<(Category, usize)> {
    let mut out = Vec::new();
    let mut attacks = 0;
    for &(cat, in_train, in_test) in SHARES {
        let share = if train { in_train } else { in_test };
        let k = (share * n as f64).round() as usize;
        if k > 0 {
            out.push((cat, k));
            attacks += k;
        }
    }
    out.insert(0, (Category::Benign, n.saturating_sub(attacks)));
    out
}

/// Generates the windows of one file, category by category.
pub(crate) fn events(
    rng: &mut Rng,
    inv: &Inventory,
    period: Period,
    counts: &[(Category, usize)],
) -> Vec<Event> {
    let total = counts.iter().map(|(_, k)| k).sum();
    let mut out = Vec::with_capacity(total);
    for &(cat, k) in counts {
        for _ in 0..k {
            let mut e = if cat == Category::Benign {
                benign(rng, inv, period)
            } else {
                attack(rng, inv, period, cat)
            };
            e.finish();
            out.push(e);
        }
    }
    out
}

/// Orders windows by start time; ties keep generation order.
pub(crate) fn sort(events: &mut [Event]) {
    events.sort_by_key(|e| e.time);
}

/// The software rollout of the test period: on rollout hosts a new EDR build (never seen in
/// training) counts more process starts, and a new sync agent adds steady outbound traffic and
/// a regular heartbeat. Applies to every window on those hosts, benign or not. Returns how many
/// windows changed.
pub(crate) fn drift(rng: &mut Rng, inv: &Inventory, events: &mut [Event]) -> usize {
    let mut changed = 0;
    for e in events.iter_mut().filter(|e| inv.hosts[e.host].rollout) {
        e.sensor = ROLLOUT_SENSOR;
        e[ProcessStarts] *= 1.6;
        e[BytesOut] += lognormal(rng, 4.0e7, 0.8);
        e[Connections] += int(rng, 20, 80);
        e[DnsQueries] *= 1.4;
        if chance(rng, 0.5) {
            e.raise(BeaconRegularity, uniform(rng, 0.55, 0.9));
        }
        e.finish();
        changed += 1;
    }
    changed
}

/// Marks about `rate` of the windows as having a telemetry gap: mostly the EDR sensor being
/// down (process and file features missing), otherwise the flow and DNS collectors (network
/// features missing). Returns how many windows have a gap.
pub(crate) fn gaps(rng: &mut Rng, events: &mut [Event], rate: f64) -> usize {
    let mut n = 0;
    for e in events.iter_mut() {
        if chance(rng, rate) {
            e.gap = Some(if chance(rng, 0.7) {
                Source::Edr
            } else {
                Source::Network
            });
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_hold_the_novel_category_out_of_training() {
        for n in [100, 999, 40_000] {
            let train = counts(n, true);
            assert_eq!(train.iter().map(|(_, k)| k).sum::<usize>(), n);
            assert!(train.iter().all(|(c, _)| *c != crate::event::NOVEL));
            let test = counts(n, false);
            assert_eq!(test.iter().map(|(_, k)| k).sum::<usize>(), n);
            assert!(
                test.iter()
                    .any(|(c, k)| *c == crate::event::NOVEL && *k > 0)
            );
        }
    }
}
