//! The sample-ratio-mismatch check: did the arms receive the persons their
//! configured weights promise? A mismatch means assignment or tracking is
//! broken (a redirect that loses visitors, a bot hitting one arm, a caching
//! layer), and then no lift computed from the counts can be trusted.

use super::special::chi_square_sf;

/// The p-value of Pearson's chi-square goodness-of-fit test of the observed
/// `persons` per arm against the expected split `weights` (any positive
/// scale: they are normalized), with k − 1 degrees of freedom for the k arms
/// of positive weight. This is gbstats `check_srm` and scipy's
/// `chisquare(persons, expected)`.
///
/// Arms of weight 0 are left out of the test, but one that received persons
/// is a mismatch by definition (p = 0): nobody should be there. gbstats skips
/// such arms in the sum yet still counts them in the degrees of freedom,
/// which only weakens the test.
///
/// `None` when nothing can be tested: lengths differ, a weight is negative
/// or not finite, fewer than two arms have weight, or no person was seen.
pub fn srm_p_value(persons: &[u64], weights: &[f64]) -> Option<f64> {
    if persons.len() != weights.len() || weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) {
        return None;
    }
    let weighted = || persons.iter().zip(weights).filter(|(_, w)| **w > 0.0);
    let arms = weighted().count();
    let total_weight: f64 = weights.iter().sum();
    // Summed as f64: a u64 sum of adversarial counts could overflow.
    let total: f64 = persons.iter().map(|n| *n as f64).sum();
    if arms < 2 || total == 0.0 || !total_weight.is_finite() {
        return None;
    }
    let stray = persons
        .iter()
        .zip(weights)
        .any(|(n, w)| *w == 0.0 && *n > 0);
    if stray {
        return Some(0.0);
    }
    let statistic: f64 = weighted()
        .map(|(observed, weight)| {
            let expected = weight / total_weight * total;
            (*observed as f64 - expected).powi(2) / expected
        })
        .sum();
    chi_square_sf(statistic, (arms - 1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_split_has_p_one() {
        assert_eq!(srm_p_value(&[500, 500], &[0.5, 0.5]), Some(1.0));
        // Weights need not sum to 1.
        assert_eq!(srm_p_value(&[100, 300], &[1.0, 3.0]), Some(1.0));
    }

    #[test]
    fn nothing_to_test_gives_none() {
        assert_eq!(srm_p_value(&[], &[]), None);
        assert_eq!(srm_p_value(&[10], &[1.0]), None);
        assert_eq!(srm_p_value(&[0, 0], &[0.5, 0.5]), None);
        assert_eq!(srm_p_value(&[10, 10], &[0.5]), None);
        assert_eq!(srm_p_value(&[10, 10], &[0.5, f64::NAN]), None);
        assert_eq!(srm_p_value(&[10, 10], &[0.5, -0.5]), None);
        assert_eq!(srm_p_value(&[10, 10], &[0.0, 0.0]), None);
        assert_eq!(srm_p_value(&[10, 10], &[f64::MAX, f64::MAX]), None);
    }

    #[test]
    fn persons_in_a_zero_weight_arm_are_a_mismatch() {
        assert_eq!(srm_p_value(&[100, 100, 1], &[0.5, 0.5, 0.0]), Some(0.0));
        // An empty zero-weight arm is simply not part of the test.
        assert_eq!(srm_p_value(&[100, 100, 0], &[0.5, 0.5, 0.0]), Some(1.0));
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        let p = srm_p_value(&[u64::MAX, u64::MAX], &[0.5, 0.5]);
        assert_eq!(p, Some(1.0));
    }
}
