//! The few distribution functions the A/B report needs, as total functions.
//!
//! The numerics are statrs's (Boost-derived `erfc` and its inverse, the
//! Cephes incomplete gamma, AS 64/109 for the inverse incomplete beta); this
//! file only keeps their domains, so no input reaches one of statrs's panics
//! (`gamma_ur` and `StudentsT::inverse_cdf` assert on their arguments).
//! Out-of-domain arguments give `None` instead of NaN.

use statrs::function::{beta, erf, gamma};
use std::f64::consts::SQRT_2;

/// P(Z ≤ x) for a standard normal Z. `NaN` gives `NaN`; ±∞ give 0 and 1.
///
/// Through `erfc`, not `1 + erf`, so the lower tail keeps its relative
/// precision instead of cancelling to 0.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erf::erfc(-x / SQRT_2)
}

/// The standard normal quantile: the `z` with P(Z ≤ z) = `p`, for `p` strictly
/// between 0 and 1; `None` otherwise (including NaN).
pub fn normal_quantile(p: f64) -> Option<f64> {
    if !(p > 0.0 && p < 1.0) {
        return None;
    }
    finite(-SQRT_2 * erf::erfc_inv(2.0 * p))
}

/// The Student t quantile with `dof` degrees of freedom (any real `dof ≥ 1`,
/// as the Welch–Satterthwaite approximation gives for two arms of at least
/// two persons), for `p` strictly between 0 and 1; `None` otherwise, and
/// for dof below 1000 also when p or 1 − p is under 1e-12. An infinite
/// `dof` is the normal quantile.
///
/// Below [`EXPANSION_DOF`] it inverts the incomplete beta (statrs); above,
/// where that inversion loses digits and for ~1e8 never returns, it uses the
/// Cornish–Fisher expansion of t in z. Checked against scipy's `t.ppf` for
/// dof from 1 to 1e9 and p from 1e-6 to 1 − 1e-6: within 3e-9 relative
/// (mostly 1e-12), and within 1e-10 absolute near the median, where the
/// quantile itself is near 0.
pub fn students_t_quantile(p: f64, dof: f64) -> Option<f64> {
    if !(p > 0.0 && p < 1.0 && dof >= 1.0) {
        return None;
    }
    if dof >= EXPANSION_DOF {
        return cornish_fisher_t(normal_quantile(p)?, dof);
    }
    // T² = dof (1 − X) / X with X ~ Beta(dof/2, 1/2), and P(|T| > t) = I_X(dof/2, 1/2):
    // the identity statrs's `StudentsT::inverse_cdf` uses, without its assert.
    let tail = p.min(1.0 - p);
    if tail < MIN_TAIL {
        return None;
    }
    let x = beta::inv_beta_reg(0.5 * dof, 0.5, 2.0 * tail);
    if !(x > 0.0 && x <= 1.0) {
        return None;
    }
    let magnitude = finite((dof * (1.0 - x) / x).sqrt())?;
    Some(if p < 0.5 { -magnitude } else { magnitude })
}

/// statrs's inverse incomplete beta panics (an unwrap inside) for tails
/// below about 1e-162 and can stop converging well before: no report needs
/// a tail beyond one in a trillion, so nothing smaller reaches it.
const MIN_TAIL: f64 = 1e-12;

/// From here on the t quantile comes from the expansion: its first omitted
/// term is below 1e-11 relative here, while statrs's inverse incomplete
/// beta starts to lose digits past about 1e4.
const EXPANSION_DOF: f64 = 1000.0;

/// The Cornish–Fisher expansion of the t quantile in the normal quantile
/// `z`, to the 1/dof⁴ term: Abramowitz & Stegun, Handbook of Mathematical
/// Functions, 26.7.5.
fn cornish_fisher_t(z: f64, dof: f64) -> Option<f64> {
    let z2 = z * z;
    let g1 = z * (z2 + 1.0) / 4.0;
    let g2 = z * ((5.0 * z2 + 16.0) * z2 + 3.0) / 96.0;
    let g3 = z * (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / 384.0;
    let g4 = z * ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) / 92160.0;
    let v = 1.0 / dof;
    finite(z + v * (g1 + v * (g2 + v * (g3 + v * g4))))
}

/// P(X > `x`) for X chi-square distributed with `dof` degrees of freedom:
/// the upper regularized incomplete gamma Q(dof/2, x/2). `x ≤ 0` gives 1
/// (nothing is more extreme than no deviation); `None` for `dof ≤ 0` or NaN.
pub fn chi_square_sf(x: f64, dof: f64) -> Option<f64> {
    if x.is_nan() || !(dof > 0.0 && dof.is_finite()) {
        return None;
    }
    if x <= 0.0 {
        return Some(1.0);
    }
    if x.is_infinite() {
        return Some(0.0);
    }
    gamma::checked_gamma_ur(0.5 * dof, 0.5 * x)
        .ok()
        .and_then(finite)
        .map(|q| q.clamp(0.0, 1.0))
}

/// `Some(x)` when `x` is a finite number: the one gate between numerics and
/// output, so no NaN or infinity ever reaches a report.
pub(crate) fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_domain_gives_none_not_nan() {
        for p in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
            assert_eq!(normal_quantile(p), None, "p = {p}");
            assert_eq!(students_t_quantile(p, 10.0), None, "p = {p}");
        }
        for dof in [0.0, -1.0, f64::NAN] {
            assert_eq!(students_t_quantile(0.975, dof), None, "dof = {dof}");
            assert_eq!(chi_square_sf(1.0, dof), None, "dof = {dof}");
        }
        assert_eq!(chi_square_sf(f64::NAN, 1.0), None);
        assert_eq!(chi_square_sf(0.0, 1.0), Some(1.0));
        assert_eq!(chi_square_sf(f64::INFINITY, 1.0), Some(0.0));
    }

    #[test]
    fn t_quantile_is_symmetric_and_tends_to_normal() {
        let upper = students_t_quantile(0.975, 7.5).unwrap();
        let lower = students_t_quantile(0.025, 7.5).unwrap();
        assert!((upper + lower).abs() < 1e-12);
        let z = normal_quantile(0.975).unwrap();
        assert!(upper > z);
        let huge = students_t_quantile(0.975, 1e15).unwrap();
        assert!((huge - z).abs() < 1e-12);
        assert_eq!(students_t_quantile(0.975, f64::INFINITY), Some(z));
        assert_eq!(students_t_quantile(0.975, 0.5), None);
        // statrs would panic this deep in the tail.
        assert_eq!(students_t_quantile(1e-200, 3.0), None);
        assert!(students_t_quantile(1e-200, 1e6).is_some());
    }
}
