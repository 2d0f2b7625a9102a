//! A report's A/B analysis: core's statistics (`nudge_core::stats`, as
//! gbstats computes them) on each configured arm's exposed persons and
//! converted persons, with a sentence per arm a marketer can act on.
//!
//! Only campaigns with variants are analysed. Arms that are only in the data
//! (from a config replaced since) have no weight and are left out.

use nudge_core::stats::{self, Arm, Method, NotComparable, Settings, TooEarly, Verdict};
use serde_json::{json, Value};

use super::CampaignReport;

/// How intervals are computed: valid at every look (the default), or at one
/// look at a sample size fixed in advance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Horizon {
    Sequential,
    Fixed,
}

fn percent(x: f64) -> String {
    format!("{:+.1}%", x * 100.0)
}

/// "95% sequential" or "95%".
fn confidence_label(settings: &Settings) -> String {
    let level = format!("{}%", (settings.confidence * 100.0).round());
    if settings.sequential {
        format!("{level} sequential")
    } else {
        level
    }
}

fn message(verdict: &Verdict, lift: Option<&stats::Interval>, settings: &Settings) -> String {
    let range = lift
        .map(|l| {
            format!(
                " {} ({} interval {} to {})",
                percent(l.estimate),
                confidence_label(settings),
                percent(l.lower),
                percent(l.upper)
            )
        })
        .unwrap_or_default();
    match verdict {
        Verdict::Control => "The baseline every other arm is compared with.".into(),
        Verdict::TooEarly { reason, more_persons } => {
            let need = match reason {
                TooEarly::FewPersons => format!(
                    "each compared arm needs {} exposed persons",
                    settings.min_persons
                ),
                TooEarly::FewConversions => format!(
                    "each compared arm needs {} conversions (and as many non-conversions)",
                    settings.min_conversions
                ),
                TooEarly::NoVariance => "a rate of exactly 0% or 100% cannot be compared".into(),
            };
            match more_persons {
                Some(n) => format!("Too early: {need}; about {n} more persons in the test."),
                None => format!("Too early: {need}."),
            }
        }
        Verdict::SampleRatioMismatch => "No verdict: the arms did not get the share of persons \
            their weights ask for (sample ratio mismatch). Find the cause before trusting any number."
            .into(),
        Verdict::Better => format!("Better than control:{range}."),
        Verdict::Worse => format!("Worse than control:{range}."),
        Verdict::Inconclusive if settings.sequential => format!(
            "No difference shown yet:{range}; it is fine to keep the test running and look again."
        ),
        Verdict::Inconclusive => format!("No difference shown at this sample:{range}."),
        Verdict::NotComparable(why) => match why {
            NotComparable::NoControl => "Not compared: no arm is marked as the control.".into(),
            NotComparable::SeveralControls => "Not compared: more than one arm is a control.".into(),
            NotComparable::InvalidCounts => "Not compared: the counts are inconsistent.".into(),
            NotComparable::InvalidSettings => "Not compared: invalid analysis settings.".into(),
        },
    }
}

fn kind(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Control => "control",
        Verdict::TooEarly { .. } => "too_early",
        Verdict::SampleRatioMismatch => "srm",
        Verdict::Better => "better",
        Verdict::Worse => "worse",
        Verdict::Inconclusive => "inconclusive",
        Verdict::NotComparable(_) => "not_comparable",
    }
}

/// The `analysis` member of a report's JSON; `null` without variants.
pub fn analysis(report: &CampaignReport, horizon: Horizon) -> Value {
    let arms: Vec<Arm> = report
        .variants
        .iter()
        .filter_map(|v| {
            Some(Arm {
                key: v.key.clone(),
                weight: v.weight?,
                control: v.control,
                persons: v.counts.exposed_persons.max(0) as u64,
                conversions: v.counts.conversions.max(0) as u64,
            })
        })
        .collect();
    if arms.len() < 2 {
        return Value::Null;
    }
    let share = super::ratio(
        report.persons_in_several_arms as f64,
        report.exposed_persons(),
    );
    compare(&arms, share, horizon)
}

/// Core's A/B analysis of `arms` (one of them the control) as the reports'
/// JSON: the method, the health checks, and each arm's lift, chance to
/// beat the control and verdict in words. Campaign reports and journey
/// holdouts both answer with it.
pub fn compare(arms: &[Arm], multiple_exposure_share: Option<f64>, horizon: Horizon) -> Value {
    let settings = Settings {
        sequential: horizon == Horizon::Sequential,
        ..Settings::default()
    };
    let result = stats::analyze(arms, multiple_exposure_share, &settings);
    let arms: Vec<Value> = result
        .arms
        .iter()
        .map(|a| {
            json!({
                "key": a.key, "control": a.control, "rate": a.rate,
                "lift": a.lift.map(|l| json!({"estimate": l.estimate, "lower": l.lower, "upper": l.upper})),
                "chance_to_beat_control": a.chance_to_beat_control,
                "verdict": {"kind": kind(&a.verdict), "message": message(&a.verdict, a.lift.as_ref(), &settings)},
            })
        })
        .collect();
    json!({
        "method": match result.method { Method::Sequential => "sequential", Method::FixedHorizon => "fixed_horizon" },
        "confidence": result.confidence,
        "min_persons": settings.min_persons,
        "min_conversions": settings.min_conversions,
        "srm_p_value": result.srm_p_value,
        "srm_warning": result.srm_warning,
        "multiple_exposure_warning": result.multiple_exposure_warning,
        "arms": arms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::protocol::{Counts, DayRow, ReportRows, ReportedCampaign, ReportedVariant};

    /// A 50/50 test with `control` and `treatment` as (exposed persons, conversions).
    fn report(control: (i64, i64), treatment: (i64, i64)) -> CampaignReport {
        let arm = |key: &str, control| ReportedVariant {
            key: key.into(),
            weight: 0.5,
            control,
        };
        let published = ReportedCampaign {
            id: "ab".into(),
            goal: Some("Order Completed".into()),
            variants: vec![arm("control", true), arm("urgency", false)],
        };
        let row = |variant: &str, (persons, conversions): (i64, i64)| DayRow {
            day: 10,
            variant: variant.into(),
            counts: Counts {
                exposed_persons: persons,
                conversions,
                ..Counts::default()
            },
            ..DayRow::default()
        };
        let rows = ReportRows {
            known: true,
            days: vec![row("control", control), row("urgency", treatment)],
        };
        CampaignReport::build("ab", Some(&published), (10, 10, 7), &rows)
    }

    #[test]
    fn a_clear_winner_is_called_better_and_the_method_is_stated() {
        let json = analysis(&report((5000, 250), (5000, 350)), Horizon::Sequential);
        assert_eq!(json["method"], "sequential");
        assert_eq!(json["srm_warning"], false);
        assert_eq!(json["arms"][0]["verdict"]["kind"], "control");
        let treatment = &json["arms"][1];
        assert_eq!(treatment["verdict"]["kind"], "better", "{json}");
        assert!(treatment["lift"]["lower"].as_f64().unwrap() > 0.0);
        assert!(treatment["chance_to_beat_control"].as_f64().unwrap() > 0.99);
        assert!(treatment["verdict"]["message"]
            .as_str()
            .unwrap()
            .contains("+40.0%"));
        let fixed = analysis(&report((5000, 250), (5000, 350)), Horizon::Fixed);
        assert_eq!(fixed["method"], "fixed_horizon");
        let (seq, fix) = (&json["arms"][1]["lift"], &fixed["arms"][1]["lift"]);
        assert!(
            seq["upper"].as_f64() > fix["upper"].as_f64(),
            "sequential is wider"
        );
    }

    #[test]
    fn a_skewed_split_raises_the_srm_warning_and_withholds_the_verdict() {
        // The same rates, but 5,000 persons against 5,400 at 50/50 weights.
        let json = analysis(&report((5000, 250), (5400, 378)), Horizon::Sequential);
        assert_eq!(json["srm_warning"], true);
        assert!(json["srm_p_value"].as_f64().unwrap() < 0.001);
        assert_eq!(json["arms"][1]["verdict"]["kind"], "srm");
    }

    #[test]
    fn too_little_data_gives_no_verdict_and_no_test_gives_no_analysis() {
        let json = analysis(&report((40, 2), (40, 9)), Horizon::Sequential);
        assert_eq!(json["arms"][1]["verdict"]["kind"], "too_early");
        assert!(json["arms"][1]["verdict"]["message"]
            .as_str()
            .unwrap()
            .contains("100 exposed persons"));
        let single = CampaignReport::build(
            "welcome",
            None,
            (10, 10, 7),
            &ReportRows {
                known: true,
                days: Vec::new(),
            },
        );
        assert_eq!(analysis(&single, Horizon::Sequential), Value::Null);
    }
}
