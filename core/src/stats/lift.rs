//! Relative lift of a conversion rate and its intervals, as GrowthBook's
//! gbstats computes them for a proportion metric with `difference_type =
//! "relative"`: the delta method for the ratio of two proportions, a Welch
//! t interval for a fixed horizon, an asymptotic confidence sequence for
//! sequential looks, and the chance to beat control from the same normal
//! approximation.

use super::special::{finite, normal_cdf, students_t_quantile};

/// Persons exposed and persons converted in one arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub persons: u64,
    pub conversions: u64,
}

impl Counts {
    /// The conversion rate, or `None` without persons or with more
    /// conversions than persons (counts that cannot be a proportion).
    pub fn rate(self) -> Option<f64> {
        (self.persons > 0 && self.conversions <= self.persons)
            .then(|| self.conversions as f64 / self.persons as f64)
    }

    /// The Bernoulli variance p(1 − p) of one person, as gbstats's
    /// `ProportionStatistic.variance` (no n/(n−1) correction).
    fn unit_variance(self) -> Option<f64> {
        self.rate().map(|p| p * (1.0 - p))
    }
}

/// The relative lift (p_t − p_c) / p_c of a treatment over the control, with
/// what its intervals need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lift {
    /// The point estimate: 0.1 means the treatment converts 10% more.
    pub estimate: f64,
    /// The delta-method standard error of `estimate` (always > 0).
    pub standard_error: f64,
    /// Welch–Satterthwaite degrees of freedom for the fixed-horizon t interval.
    pub dof: f64,
    /// Persons in both arms together: the sample size of the confidence sequence.
    pub persons: u64,
}

/// The relative lift of `treatment` over `control` with its delta-method
/// standard error: var ≈ var_t/p_c² + p_t²·var_c/p_c⁴ with var = p(1 − p)/n
/// (gbstats `frequentist_variance` with `relative=True`).
///
/// `None`, as gbstats's "zero variance" and "baseline zero" refusals, when an
/// arm has fewer than two persons or a rate of exactly 0 or 1 (no spread to
/// estimate the error from), or the counts are not a proportion.
pub fn relative_lift(control: Counts, treatment: Counts) -> Option<Lift> {
    // A rate of exactly 0 or 1 has zero variance: its error would be claimed
    // to be nil, which is the small-sample illusion this check refuses.
    let (var_c, var_t) = (control.unit_variance()?, treatment.unit_variance()?);
    if var_c <= 0.0 || var_t <= 0.0 || control.persons < 2 || treatment.persons < 2 {
        return None;
    }
    let (p_c, p_t) = (control.rate()?, treatment.rate()?);
    let (n_c, n_t) = (control.persons as f64, treatment.persons as f64);
    let (mean_var_c, mean_var_t) = (var_c / n_c, var_t / n_t);
    let variance = mean_var_t / (p_c * p_c) + p_t * p_t * mean_var_c / p_c.powi(4);
    // Welch–Satterthwaite on the two rates, as gbstats's `TTest.dof`.
    let dof = (mean_var_c + mean_var_t).powi(2)
        / (mean_var_t.powi(2) / (n_t - 1.0) + mean_var_c.powi(2) / (n_c - 1.0));
    let lift = Lift {
        estimate: finite((p_t - p_c) / p_c)?,
        standard_error: finite(variance.sqrt())?,
        dof: finite(dof)?,
        persons: control.persons.checked_add(treatment.persons)?,
    };
    (lift.standard_error > 0.0).then_some(lift)
}

/// An interval around an estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub estimate: f64,
    pub lower: f64,
    pub upper: f64,
}

impl Interval {
    fn around(estimate: f64, halfwidth: f64) -> Option<Interval> {
        let halfwidth = finite(halfwidth).filter(|h| *h >= 0.0)?;
        Some(Interval {
            estimate,
            lower: finite(estimate - halfwidth)?,
            upper: finite(estimate + halfwidth)?,
        })
    }

    /// Whether 0 lies outside the interval: the evidence a verdict needs.
    pub fn excludes_zero(&self) -> bool {
        self.lower > 0.0 || self.upper < 0.0
    }
}

/// The two-sided interval for one look at a planned sample size (gbstats
/// `TwoSidedTTest`): estimate ± t(1 − α/2, Welch dof) · se. Its coverage
/// holds only if nobody acts on earlier looks. `None` for `alpha` outside (0, 1).
pub fn fixed_interval(lift: &Lift, alpha: f64) -> Option<Interval> {
    let t = students_t_quantile(1.0 - alpha / 2.0, lift.dof)?;
    Interval::around(lift.estimate, t * lift.standard_error)
}

/// The two-sided asymptotic confidence sequence (gbstats
/// `SequentialTwoSidedTTest`): valid at every look at once, so a marketer
/// may check daily and stop whenever it excludes 0. The variance per person
/// is se² · n with n the persons of both arms.
pub fn sequential_interval(lift: &Lift, alpha: f64, tuning: f64) -> Option<Interval> {
    let persons = lift.persons as f64;
    let s2 = lift.standard_error * lift.standard_error * persons;
    let halfwidth = sequential_halfwidth(s2, persons, tuning, alpha)?;
    Interval::around(lift.estimate, halfwidth)
}

/// ρ of the normal mixture: eq. 161 of Waudby-Smith et al., "Time-uniform
/// central limit theory and asymptotic confidence sequences" (arXiv
/// 2103.06476v7), as gbstats `sequential_rho` (two-sided). It makes the
/// sequence tightest near `tuning` persons. `None` unless 0 < α < 1 and
/// `tuning` > 0.
pub fn sequential_rho(alpha: f64, tuning: f64) -> Option<f64> {
    let usable = alpha > 0.0 && alpha < 1.0 && tuning > 0.0 && tuning.is_finite();
    if !usable {
        return None;
    }
    let log_alpha = -2.0 * alpha.ln();
    finite(((log_alpha + (log_alpha + 1.0).ln()) / tuning).sqrt())
}

/// The half-width of the asymptotic confidence sequence after `n` units with
/// per-unit variance `s2`: eq. 9 of Waudby-Smith et al. (arXiv 2103.06476v7),
/// as gbstats `sequential_interval_halfwidth`:
/// √s2 · √(2(nρ² + 1) · ln(√(nρ² + 1)/α) / (nρ)²).
/// `None` for `n ≤ 0`, a negative or non-finite `s2`, or bad `alpha`/`tuning`.
pub fn sequential_halfwidth(s2: f64, n: f64, tuning: f64, alpha: f64) -> Option<f64> {
    let rho = sequential_rho(alpha, tuning)?;
    let usable = n > 0.0 && n.is_finite() && s2 >= 0.0 && s2.is_finite();
    if !usable {
        return None;
    }
    let n_rho2 = n * rho * rho;
    let spread = 2.0 * (n_rho2 + 1.0) * ((n_rho2 + 1.0).sqrt() / alpha).ln() / (n * rho).powi(2);
    finite(s2.sqrt() * spread.sqrt())
}

/// The chance that the treatment beats the control: P(lift > 0) with the
/// lift normal around its estimate with the delta-method standard error,
/// Φ(estimate / se). This is gbstats's Bayesian `EffectBayesianABTest`
/// `chance_to_win` under its default flat (improper) prior on the relative
/// effect, not a Beta–Binomial posterior, so it agrees with the intervals.
/// It is not corrected for repeated looks: verdicts come from the interval.
pub fn chance_to_beat_control(lift: &Lift) -> Option<f64> {
    finite(normal_cdf(lift.estimate / lift.standard_error))
}
