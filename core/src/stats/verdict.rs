//! The verdict for each arm: what a marketer may conclude, and when nothing
//! may be concluded, why. The order of the checks is the order of trust:
//! bad input first, then a broken split, then too little data, and only
//! then the interval.

use super::lift::{
    chance_to_beat_control, fixed_interval, relative_lift, sequential_interval, Interval, Lift,
};
use super::{Arm, ArmResult, Method, Settings};

/// What may be concluded about one arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// This is the control: the other arms are compared with it.
    Control,
    /// Not enough data for a verdict yet.
    TooEarly {
        reason: TooEarly,
        /// About how many more persons must enter the experiment (all arms
        /// together, at the configured weights) before both compared arms
        /// meet the minimums, counting conversions at the arms' current
        /// rates. `None` when that cannot be estimated: a rate of 0 or 1 so
        /// far while conversions are short, an arm without weight, or
        /// [`TooEarly::NoVariance`].
        more_persons: Option<u64>,
    },
    /// The split of persons does not match the weights
    /// ([`super::Analysis::srm_warning`]): the counts are untrustworthy, so
    /// no verdict, however clear the lift looks. Investigate assignment and
    /// tracking; waiting does not fix it.
    SampleRatioMismatch,
    /// The interval lies above 0: the treatment converts better.
    Better,
    /// The interval lies below 0: the treatment converts worse.
    Worse,
    /// The interval contains 0: no difference shown (yet). With sequential
    /// intervals it is fine to keep the test running and look again.
    Inconclusive,
    /// Nothing can be compared: the input or settings are unusable.
    NotComparable(NotComparable),
}

/// Why it is too early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooEarly {
    /// This arm or the control has fewer than [`Settings::min_persons`].
    FewPersons,
    /// This arm or the control has fewer conversions, or non-conversions,
    /// than [`Settings::min_conversions`].
    FewConversions,
    /// An arm's rate is exactly 0 or 1 (possible only with lowered
    /// minimums), so the lift's error cannot be estimated.
    NoVariance,
}

/// Why nothing can be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotComparable {
    /// No arm is marked as the control.
    NoControl,
    /// More than one arm is marked as the control.
    SeveralControls,
    /// This arm or the control counts more conversions than persons.
    InvalidCounts,
    /// A setting is out of its range ([`Settings::is_valid`]).
    InvalidSettings,
}

/// What every arm's verdict shares.
pub(super) struct Context<'a> {
    pub settings: &'a Settings,
    pub valid: bool,
    pub control: Result<&'a Arm, NotComparable>,
    pub srm_warning: bool,
    pub total_weight: f64,
}

impl Context<'_> {
    pub fn judge(&self, arm: &Arm) -> ArmResult {
        let (lift, verdict) = if arm.control {
            (None, Verdict::Control)
        } else {
            self.compare(arm)
        };
        ArmResult {
            key: arm.key.clone(),
            control: arm.control,
            rate: arm.counts().rate(),
            lift: lift.map(|(interval, _)| interval),
            chance_to_beat_control: lift.map(|(_, chance)| chance),
            verdict,
        }
    }

    /// The treatment's interval and chance to beat control (both or
    /// neither), and its verdict.
    fn compare(&self, arm: &Arm) -> (Option<(Interval, f64)>, Verdict) {
        let control = match self.control {
            _ if !self.valid => Err(NotComparable::InvalidSettings),
            Ok(_) if arm.conversions > arm.persons => Err(NotComparable::InvalidCounts),
            Ok(control) if control.conversions > control.persons => {
                Err(NotComparable::InvalidCounts)
            }
            other => other,
        };
        let control = match control {
            Ok(control) => control,
            Err(why) => return (None, Verdict::NotComparable(why)),
        };
        if let Some(early) = self.shortfall(arm, control) {
            return (None, self.unless_srm(early));
        }
        let numbers = relative_lift(control.counts(), arm.counts())
            .and_then(|lift| Some((self.interval(&lift)?, chance_to_beat_control(&lift)?)));
        let verdict = match numbers {
            None => Verdict::TooEarly {
                reason: TooEarly::NoVariance,
                more_persons: None,
            },
            Some((interval, _)) if interval.lower > 0.0 => Verdict::Better,
            Some((interval, _)) if interval.upper < 0.0 => Verdict::Worse,
            Some(_) => Verdict::Inconclusive,
        };
        (numbers, self.unless_srm(verdict))
    }

    /// A broken split overrides every verdict drawn from the counts.
    fn unless_srm(&self, verdict: Verdict) -> Verdict {
        if self.srm_warning {
            Verdict::SampleRatioMismatch
        } else {
            verdict
        }
    }

    fn interval(&self, lift: &Lift) -> Option<Interval> {
        let alpha = 1.0 - self.settings.confidence;
        match self.settings.method() {
            Method::Sequential => sequential_interval(lift, alpha, self.settings.sequential_tuning),
            Method::FixedHorizon => fixed_interval(lift, alpha),
        }
    }

    /// `TooEarly` while either arm is below a minimum.
    fn shortfall(&self, arm: &Arm, control: &Arm) -> Option<Verdict> {
        let (min_persons, min_conversions) =
            (self.settings.min_persons, self.settings.min_conversions);
        let pair = [arm, control];
        let few_persons = pair.iter().any(|a| a.persons < min_persons);
        let few_conversions = pair.iter().any(|a| {
            a.conversions < min_conversions
                || a.persons.saturating_sub(a.conversions) < min_conversions
        });
        let reason = match (few_persons, few_conversions) {
            (false, false) => return None,
            (true, _) => TooEarly::FewPersons,
            (false, true) => TooEarly::FewConversions,
        };
        let more_persons = pair
            .iter()
            .try_fold(0, |most, a| Some(most.max(self.more_persons(a)?)));
        Some(Verdict::TooEarly {
            reason,
            more_persons,
        })
    }

    /// Persons the whole experiment still needs for `arm` to meet the
    /// minimums, given its share of traffic and its current rate.
    fn more_persons(&self, arm: &Arm) -> Option<u64> {
        let persons = u128::from(arm.persons);
        let (conversions, others) = (
            u128::from(arm.conversions),
            u128::from(arm.persons.saturating_sub(arm.conversions)),
        );
        let wanted = u128::from(self.settings.min_conversions);
        let mut target = u128::from(self.settings.min_persons);
        // Persons needed for `wanted` of a kind (conversions, non-conversions)
        // at the current rate: ceil(wanted · persons / count).
        for count in [conversions, others] {
            if count < wanted {
                if count == 0 {
                    return None; // no rate yet to extrapolate from
                }
                target = target.max((wanted * persons).div_ceil(count));
            }
        }
        let missing = target.saturating_sub(persons) as f64;
        let share = arm.weight / self.total_weight;
        if !(share > 0.0 && share <= 1.0) {
            return None;
        }
        // Persons are whole: the small margin keeps float noise (50 / (1/3)
        // = 150.00000000000003) from adding one.
        let total = (missing / share - 1e-6).ceil().max(0.0);
        total.is_finite().then_some(total as u64)
    }
}
