//! Profiling what each feature typically looks like in training, by class
//! ([`FeatureProfile`]): the reference point an analyst needs next to a value
//! ("src_bytes = 0, typical benign median 230").

use arbiter_model::encode::FeatureCoding;
use arbiter_model::profile::FeatureProfile;

use crate::prepare::Prepared;

fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

fn top(codes: &[f64], values: &[String]) -> (Option<String>, f64) {
    if codes.is_empty() {
        return (None, 0.0);
    }
    let mut counts = vec![0u64; values.len() + 1];
    for &c in codes {
        counts[(c as usize).min(values.len())] += 1;
    }
    let (best, n) = counts
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
        .expect("non-empty");
    (values.get(best).cloned(), *n as f64 / codes.len() as f64)
}

/// Profiles every feature over the training split.
pub(crate) fn profile(p: &Prepared) -> Vec<FeatureProfile> {
    let rows = &p.parts[0];
    p.encoder
        .spec
        .codings
        .iter()
        .enumerate()
        .map(|(j, coding)| {
            let column = |malicious: bool| -> Vec<f64> {
                rows.iter()
                    .filter(|&&r| p.malicious[r] == malicious)
                    .map(|&r| p.x[r * p.width + j])
                    .filter(|v| !v.is_nan())
                    .collect()
            };
            let missing = rows
                .iter()
                .filter(|&&r| p.x[r * p.width + j].is_nan())
                .count();
            let missing_share = missing as f64 / rows.len().max(1) as f64;
            match coding {
                FeatureCoding::Numeric => {
                    let mut b = column(false);
                    let mut m = column(true);
                    b.sort_by(f64::total_cmp);
                    m.sort_by(f64::total_cmp);
                    FeatureProfile::Numeric {
                        benign_median: quantile(&b, 0.5),
                        benign_p10: quantile(&b, 0.1),
                        benign_p90: quantile(&b, 0.9),
                        malicious_median: quantile(&m, 0.5),
                        missing_share,
                    }
                }
                FeatureCoding::Categorical { values } => {
                    let (benign_top, benign_top_share) = top(&column(false), values);
                    let (malicious_top, malicious_top_share) = top(&column(true), values);
                    FeatureProfile::Categorical {
                        benign_top,
                        benign_top_share,
                        malicious_top,
                        malicious_top_share,
                        missing_share,
                    }
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_ranks() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.5), Some(3.0));
        assert_eq!(quantile(&v, 0.1), Some(1.4));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn the_top_value_is_the_most_frequent_with_its_share() {
        let values = vec!["tcp".to_string(), "udp".to_string()];
        assert_eq!(
            top(&[1.0, 1.0, 0.0], &values),
            (Some("udp".into()), 2.0 / 3.0)
        );
    }
}
