//! Stratified, seeded splits: every category keeps its share in every part.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::TrainError;

/// Refuses fractions that are not all positive or do not sum to 1 (within 1e-9).
pub fn check(fractions: &[f64]) -> Result<(), TrainError> {
    let sum: f64 = fractions.iter().sum();
    let positive = fractions.iter().all(|f| *f > 0.0);
    let sums_to_one = (sum - 1.0).abs() < 1e-9;
    if fractions.is_empty() || !positive || !sums_to_one {
        return Err(TrainError::Fractions(fractions.to_vec()));
    }
    Ok(())
}

/// Assigns each row a part index so that each category is divided by `fractions` (which must
/// pass [`check`]), deterministically for a seed. Boundaries are rounded cumulatively, so a category
/// with a single row lands in the first part.
pub fn stratified(categories: &[&str], fractions: &[f64], seed: u64) -> Vec<usize> {
    let mut by_cat: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, c) in categories.iter().enumerate() {
        by_cat.entry(c).or_default().push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut part = vec![0; categories.len()];
    for rows in by_cat.values_mut() {
        rows.shuffle(&mut rng);
        let n = rows.len() as f64;
        let mut start = 0;
        let mut cum = 0.0;
        for (k, f) in fractions.iter().enumerate() {
            cum += f;
            let end = if k + 1 == fractions.len() {
                rows.len()
            } else {
                ((n * cum).round() as usize).clamp(start, rows.len())
            };
            for &r in &rows[start..end] {
                part[r] = k;
            }
            start = end;
        }
    }
    part
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_category_is_divided_by_the_fractions() {
        let cats: Vec<&str> = (0..1000)
            .map(|i| if i % 10 == 0 { "dos" } else { "benign" })
            .collect();
        let part = stratified(&cats, &[0.7, 0.3], 9);
        let count = |c: &str, p: usize| {
            cats.iter()
                .zip(&part)
                .filter(|(x, y)| **x == c && **y == p)
                .count()
        };
        assert_eq!(count("dos", 0), 70);
        assert_eq!(count("dos", 1), 30);
        assert_eq!(count("benign", 0), 630);
        assert_eq!(count("benign", 1), 270);
    }

    #[test]
    fn fractions_must_be_positive_and_sum_to_one() {
        check(&[0.7, 0.3]).unwrap();
        check(&[0.7, 0.1, 0.1, 0.1]).unwrap();
        for bad in [
            &[0.7, 0.4][..],
            &[1.2, -0.2],
            &[1.0, 0.0],
            &[],
            &[f64::NAN, 1.0],
        ] {
            let e = check(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_split_and_another_seed_does_not() {
        let cats: Vec<&str> = (0..500)
            .map(|i| if i % 3 == 0 { "a" } else { "b" })
            .collect();
        let a = stratified(&cats, &[0.5, 0.5], 1);
        assert_eq!(a, stratified(&cats, &[0.5, 0.5], 1));
        assert_ne!(a, stratified(&cats, &[0.5, 0.5], 2));
    }
}
