//! Drivers in analyst language, and how much the ensemble members agree on them.

use arbiter_core::{Driver, FieldValue, Verdict};
use arbiter_ingest::Value;
use arbiter_model::profile::FeatureProfile;

/// Drivers listed per package.
pub const TOP_DRIVERS: usize = 5;

/// Renders a number compactly: integers without decimals, others with up to 4 significant
/// digits after the point.
pub fn number(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else if x.abs() >= 1e6 || (x != 0.0 && x.abs() < 1e-3) {
        format!("{x:.3e}")
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A probability that never rounds to certainty: "0.973", "< 0.001", "> 0.999".
pub fn prob(p: f64) -> String {
    arbiter_core::display::p_text(p)
}

/// The value as the analyst reads it.
pub fn field_value(v: &Value) -> FieldValue {
    match v {
        Value::Num(x) => FieldValue::Number(*x),
        Value::Cat(s) => FieldValue::Text(s.clone()),
        Value::Missing => FieldValue::Missing,
    }
}

pub fn show(v: &FieldValue) -> String {
    match v {
        FieldValue::Number(x) => number(*x),
        FieldValue::Text(s) => s.clone(),
        FieldValue::Missing => "missing".into(),
    }
}

/// "benign median 230, 10–90 %: 0–1032" or "benign: mostly tcp, 85 %".
pub fn typical(p: Option<&FeatureProfile>) -> Option<String> {
    match p? {
        FeatureProfile::Numeric {
            benign_median: Some(m),
            benign_p10,
            benign_p90,
            ..
        } => Some(match (benign_p10, benign_p90) {
            (Some(lo), Some(hi)) if lo != hi => format!(
                "benign median {}, 10–90 %: {}–{}",
                number(*m),
                number(*lo),
                number(*hi)
            ),
            _ => format!("benign median {}", number(*m)),
        }),
        FeatureProfile::Categorical {
            benign_top: Some(t),
            benign_top_share,
            ..
        } => Some(format!(
            "benign: mostly {t}, {:.0} %",
            100.0 * benign_top_share
        )),
        _ => None,
    }
}

/// What a contribution pushes toward, in words.
fn toward_text(toward: Verdict, attack: Option<&str>) -> String {
    match (toward, attack) {
        (Verdict::Malicious, Some(cat)) => format!("toward malicious ({cat})"),
        (Verdict::Malicious, None) => "toward malicious".into(),
        (Verdict::Benign, _) => "toward benign".into(),
    }
}

/// Everything a driver needs about one feature.
pub struct FeatureView<'a> {
    pub name: &'a str,
    pub about: &'a str,
    pub value: FieldValue,
    pub profile: Option<&'a FeatureProfile>,
}

/// Top drivers by absolute ensemble contribution. `member_phi[m][j]` is member m's SHAP value
/// of feature j; the ensemble value is their mean (the ensemble margin is the mean margin).
pub fn drivers(
    features: &[FeatureView<'_>],
    member_phi: &[Vec<f64>],
    attack: Option<&str>,
    k: usize,
) -> Vec<Driver> {
    let n = features.len();
    let members = member_phi.len().max(1) as f64;
    let mean: Vec<f64> = (0..n)
        .map(|j| member_phi.iter().map(|p| p[j]).sum::<f64>() / members)
        .collect();
    let mut order: Vec<usize> = (0..n).filter(|&j| mean[j] != 0.0).collect();
    order.sort_by(|&a, &b| mean[b].abs().total_cmp(&mean[a].abs()).then(a.cmp(&b)));
    order
        .into_iter()
        .take(k)
        .map(|j| {
            let f = &features[j];
            let toward = if mean[j] > 0.0 {
                Verdict::Malicious
            } else {
                Verdict::Benign
            };
            let agree = member_phi
                .iter()
                .filter(|p| p[j].signum() == mean[j].signum())
                .count() as f64
                / members;
            let typical = typical(f.profile);
            let mut text = format!("{} = {}", f.name, show(&f.value));
            if let Some(t) = &typical {
                text.push_str(&format!(" ({t})"));
            }
            text.push_str(&format!(" pushed {}", toward_text(toward, attack)));
            if !f.about.is_empty() {
                text.push_str(&format!(" — {}", f.about.trim_end_matches('.')));
            }
            Driver {
                field: f.name.to_string(),
                value: f.value.clone(),
                typical,
                contribution: mean[j],
                toward,
                member_agreement: agree,
                text,
            }
        })
        .collect()
}

/// Mean pairwise Jaccard overlap of the members' top-`k` feature sets (by absolute SHAP
/// value). 1 when every member names the same drivers; 1 for a single member.
pub fn stability(member_phi: &[Vec<f64>], n: usize, k: usize) -> f64 {
    let tops: Vec<Vec<usize>> = member_phi
        .iter()
        .map(|p| {
            let mut idx: Vec<usize> = (0..n).filter(|&j| p[j] != 0.0).collect();
            idx.sort_by(|&a, &b| p[b].abs().total_cmp(&p[a].abs()).then(a.cmp(&b)));
            idx.truncate(k);
            idx
        })
        .collect();
    let mut sum = 0.0;
    let mut pairs = 0;
    for a in 0..tops.len() {
        for b in a + 1..tops.len() {
            let inter = tops[a].iter().filter(|j| tops[b].contains(j)).count();
            let union = tops[a].len() + tops[b].len() - inter;
            sum += if union == 0 {
                1.0
            } else {
                inter as f64 / union as f64
            };
            pairs += 1;
        }
    }
    if pairs == 0 {
        1.0
    } else {
        sum / f64::from(pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_an_analyst_writes_them() {
        assert_eq!(number(230.0), "230");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(0.125_678), "0.1257");
        assert_eq!(number(2.5e9), "2500000000");
        assert_eq!(number(2.5e-5), "2.500e-5");
    }

    #[test]
    fn probabilities_never_read_as_certainties() {
        assert_eq!(prob(0.999_9), "> 0.999");
        assert_eq!(prob(0.000_01), "< 0.001");
        assert_eq!(prob(0.51), "0.510");
    }

    #[test]
    fn identical_member_rankings_are_perfectly_stable_and_disjoint_ones_are_not() {
        let same = vec![vec![3.0, -2.0, 1.0, 0.0]; 3];
        assert_eq!(stability(&same, 4, 2), 1.0);
        let apart = vec![vec![3.0, 2.0, 0.0, 0.0], vec![0.0, 0.0, 3.0, 2.0]];
        assert_eq!(stability(&apart, 4, 2), 0.0);
    }

    #[test]
    fn a_driver_names_value_typical_value_direction_and_meaning() {
        let profile = FeatureProfile::Numeric {
            benign_median: Some(230.0),
            benign_p10: Some(0.0),
            benign_p90: Some(1032.0),
            malicious_median: Some(0.0),
            missing_share: 0.0,
        };
        let features = [FeatureView {
            name: "src_bytes",
            about: "bytes from source to destination.",
            value: FieldValue::Number(0.0),
            profile: Some(&profile),
        }];
        let d = drivers(&features, &[vec![2.0], vec![1.0]], Some("dos"), 5);
        assert_eq!(
            d[0].text,
            "src_bytes = 0 (benign median 230, 10–90 %: 0–1032) pushed toward malicious (dos) — bytes from source to destination"
        );
        assert_eq!(d[0].member_agreement, 1.0);
        assert_eq!(d[0].contribution, 1.5);
    }
}
