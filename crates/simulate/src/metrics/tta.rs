//! Time to adapt: how many days an arm needs before it handles a novel attack family on its own.

use std::collections::BTreeMap;

use super::{FamilyTta, TTA_MIN_ALERTS, TTA_SHARE};
use crate::outcome::Outcome;

/// Alerts of one family on one day: (all, handled correctly without a person).
#[derive(Default, Clone, Copy)]
struct DayCount {
    alerts: usize,
    correct: usize,
}

impl DayCount {
    fn adapted(self) -> bool {
        self.alerts >= TTA_MIN_ALERTS && self.correct as f64 / self.alerts as f64 >= TTA_SHARE
    }
}

/// The time to adapt of every novel family (alerts with `truth.novel`) among `outcomes`.
pub(super) fn per_family(outcomes: &[Outcome]) -> BTreeMap<String, FamilyTta> {
    let mut days: BTreeMap<&str, BTreeMap<u32, DayCount>> = BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.truth.novel) {
        let count = days
            .entry(o.truth.family.as_str())
            .or_default()
            .entry(o.day)
            .or_default();
        count.alerts += 1;
        count.correct += usize::from(o.correct_without_a_person());
    }
    days.into_iter()
        .filter_map(|(family, by_day)| {
            let first_day = *by_day.keys().next()?;
            let days = by_day
                .iter()
                .find(|(_, count)| count.adapted())
                .map(|(&day, _)| day - first_day);
            Some((family.to_owned(), FamilyTta { first_day, days }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::DayCount;

    #[test]
    fn four_of_five_correct_is_exactly_enough_to_adapt() {
        assert!(
            DayCount {
                alerts: 5,
                correct: 4
            }
            .adapted()
        );
        assert!(
            !DayCount {
                alerts: 5,
                correct: 3
            }
            .adapted()
        );
    }

    #[test]
    fn a_day_with_too_few_alerts_never_counts_as_adapted() {
        assert!(
            !DayCount {
                alerts: 4,
                correct: 4
            }
            .adapted()
        );
    }
}
