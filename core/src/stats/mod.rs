//! Honest A/B statistics for conversion campaigns (feature `stats`).
//!
//! The edge counts, per arm, the persons exposed and the persons converted,
//! and calls [`analyze`]. The answer is what a marketer may conclude, arm by
//! arm, following GrowthBook's gbstats so the numbers match its reports:
//!
//! - the relative lift over the control with an interval from the delta
//!   method ([`relative_lift`]);
//! - by default a *sequential* interval (an asymptotic confidence sequence,
//!   [`sequential_interval`]) that stays valid when the report is opened
//!   every day and the test is stopped at the first good-looking result; or,
//!   if chosen, the classic *fixed-horizon* interval ([`fixed_interval`]),
//!   valid only for one look at a sample size planned in advance;
//! - the chance to beat control ([`chance_to_beat_control`]);
//! - a sample-ratio-mismatch check ([`srm_p_value`]): when the split of
//!   persons does not match the weights, the data are broken and no verdict
//!   is given;
//! - minimum samples before any verdict ([`Settings::min_persons`],
//!   [`Settings::min_conversions`]).
//!
//! Like the rest of core, this is total: any counts and settings give an
//! [`Analysis`] without NaN or infinity; what cannot be computed is `None`
//! or a [`Verdict`] that says why.

mod lift;
mod special;
mod srm;
#[cfg(test)]
mod tests;
mod verdict;

pub use lift::{
    chance_to_beat_control, fixed_interval, relative_lift, sequential_halfwidth,
    sequential_interval, sequential_rho, Counts, Interval, Lift,
};
pub use special::{chi_square_sf, normal_cdf, normal_quantile, students_t_quantile};
pub use srm::srm_p_value;
pub use verdict::{NotComparable, TooEarly, Verdict};

/// One arm of an experiment as the edge counted it.
#[derive(Debug, Clone, PartialEq)]
pub struct Arm {
    /// The variation's key, echoed in [`ArmResult::key`].
    pub key: String,
    /// The configured share of traffic; any non-negative scale (normalized).
    pub weight: f64,
    /// Whether this is the control arm every other arm is compared with.
    /// Exactly one arm must be the control, or nothing is compared.
    pub control: bool,
    /// Distinct persons exposed to this arm.
    pub persons: u64,
    /// Distinct exposed persons who converted afterwards (at most `persons`).
    pub conversions: u64,
}

impl Arm {
    /// The arm's counts, as [`relative_lift`] takes them.
    pub fn counts(&self) -> Counts {
        Counts {
            persons: self.persons,
            conversions: self.conversions,
        }
    }
}

/// How the lift intervals were computed; stated in every [`Analysis`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Confidence sequences: valid however often the results are looked at.
    Sequential,
    /// Plain intervals: valid for a single look at a sample size fixed in advance.
    FixedHorizon,
}

/// What [`analyze`] is asked for. `Default` gives the recommended settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Two-sided confidence level of the intervals: above 0 and at most
    /// 0.999999 (further out the t tails are not computed reliably).
    /// Default 0.95.
    pub confidence: f64,
    /// Sequential intervals (the default, `true`) or fixed-horizon ones.
    /// Sequential is the honest choice when the report is watched while the
    /// test runs; fixed-horizon intervals are narrower but their error rate
    /// holds only if nobody stops early on a good-looking day.
    pub sequential: bool,
    /// The persons (both arms together) around which the confidence sequence
    /// is tightest: gbstats's `sequential_tuning_parameter`, default 5000.
    /// Set it near the expected final size of a comparison.
    pub sequential_tuning: f64,
    /// Persons each compared arm needs before any verdict. Default 100.
    pub min_persons: u64,
    /// Conversions, and also non-conversions, each compared arm needs before
    /// any verdict. Default 10: the usual rule (n·p ≥ 10 and n·(1 − p) ≥ 10)
    /// for trusting the normal approximation the intervals rest on.
    pub min_conversions: u64,
    /// The sample-ratio-mismatch p-value below which the split is judged
    /// broken and no verdict is given. Default 0.001, as GrowthBook: low,
    /// because the check runs at every look and must rarely cry wolf.
    pub srm_p_threshold: f64,
    /// The share of persons exposed to more than one arm above which
    /// [`Analysis::multiple_exposure_warning`] is raised. Default 0.05.
    pub multiple_exposure_threshold: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            confidence: 0.95,
            sequential: true,
            sequential_tuning: 5000.0,
            min_persons: 100,
            min_conversions: 10,
            srm_p_threshold: 0.001,
            multiple_exposure_threshold: 0.05,
        }
    }
}

impl Settings {
    /// The method these settings select.
    pub fn method(&self) -> Method {
        if self.sequential {
            Method::Sequential
        } else {
            Method::FixedHorizon
        }
    }

    /// Whether every number is in its range; if not, nothing is compared
    /// ([`NotComparable::InvalidSettings`]) rather than guessing a repair.
    pub fn is_valid(&self) -> bool {
        let probability = |x: f64| (0.0..=1.0).contains(&x);
        self.confidence > 0.0
            && self.confidence <= 0.999_999
            && (!self.sequential
                || (self.sequential_tuning > 0.0 && self.sequential_tuning.is_finite()))
            && probability(self.srm_p_threshold)
            && probability(self.multiple_exposure_threshold)
    }
}

/// The report of one experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// Which kind of interval [`ArmResult::lift`] holds.
    pub method: Method,
    /// The confidence level of those intervals (from the settings); `None`
    /// when the settings are invalid, and then no arm has an interval.
    pub confidence: Option<f64>,
    /// The sample-ratio-mismatch p-value, or `None` when the split cannot be
    /// tested (fewer than two weighted arms, no persons, unusable weights).
    pub srm_p_value: Option<f64>,
    /// The split is broken (p below [`Settings::srm_p_threshold`]): every
    /// treatment's verdict is [`Verdict::SampleRatioMismatch`].
    pub srm_warning: bool,
    /// More persons than [`Settings::multiple_exposure_threshold`] saw more
    /// than one arm: the arms are contaminated and the lift is diluted
    /// towards 0. A health warning only; verdicts are unchanged.
    pub multiple_exposure_warning: bool,
    /// One result per input arm, in input order.
    pub arms: Vec<ArmResult>,
}

/// The result for one arm.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmResult {
    pub key: String,
    pub control: bool,
    /// Conversions per person; `None` without persons or with more
    /// conversions than persons.
    pub rate: Option<f64>,
    /// The relative lift over the control with its interval (of
    /// [`Analysis::method`]). `None` for the control, and for a treatment
    /// below the minimum sample (early numbers mostly show noise) or whose
    /// lift cannot be estimated.
    pub lift: Option<Interval>,
    /// P(lift > 0) under the normal approximation of the lift; `None` when
    /// `lift` is.
    pub chance_to_beat_control: Option<f64>,
    pub verdict: Verdict,
}

/// Analyzes one experiment: each treatment arm against the control arm.
///
/// `multiple_exposure_share` is the share of persons the edge saw in more
/// than one arm, if it knows it; it only raises a health warning.
pub fn analyze(
    arms: &[Arm],
    multiple_exposure_share: Option<f64>,
    settings: &Settings,
) -> Analysis {
    let persons: Vec<u64> = arms.iter().map(|arm| arm.persons).collect();
    let weights: Vec<f64> = arms.iter().map(|arm| arm.weight).collect();
    let srm_p_value = srm_p_value(&persons, &weights);
    let valid = settings.is_valid();
    let context = verdict::Context {
        settings,
        valid,
        control: control_of(arms),
        srm_warning: valid && srm_p_value.is_some_and(|p| p < settings.srm_p_threshold),
        total_weight: weights.iter().sum(),
    };
    Analysis {
        method: settings.method(),
        confidence: valid.then_some(settings.confidence),
        srm_p_value,
        srm_warning: context.srm_warning,
        multiple_exposure_warning: valid
            && multiple_exposure_share
                .is_some_and(|share| share > settings.multiple_exposure_threshold),
        arms: arms.iter().map(|arm| context.judge(arm)).collect(),
    }
}

/// The single control arm, or why there is none.
fn control_of(arms: &[Arm]) -> Result<&Arm, NotComparable> {
    let mut controls = arms.iter().filter(|arm| arm.control);
    match (controls.next(), controls.next()) {
        (Some(control), None) => Ok(control),
        (None, _) => Err(NotComparable::NoControl),
        (Some(_), Some(_)) => Err(NotComparable::SeveralControls),
    }
}
