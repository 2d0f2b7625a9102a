//! `nudge_core::stats` against reference values from scipy and GrowthBook's
//! gbstats, read from `tests/stats/reference.json` (made by
//! `tests/stats/reference.py`, whose header says how to regenerate it).
//!
//! Tolerances are relative to the expected value, or to a stated scale where
//! the value can be near 0 (a quantile at p = 0.5, an interval bound): 1e-9
//! for the special functions, the SRM p-value and the lift's moments, 1e-8
//! for t quantiles and the intervals built on them. Run with `--nocapture`
//! to see the largest error seen in each group.
//!
//! Run: `cargo test -p nudge-core --features stats --test stats`

use nudge_core::stats::{self, Counts, Lift};
use serde_json::Value;

fn reference() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/stats/reference.json");
    let text = std::fs::read_to_string(path).expect("tests/stats/reference.json is committed");
    serde_json::from_str(&text).expect("reference.json is JSON")
}

/// The cases of one group; a group with too few cases fails, so a truncated
/// reference file cannot pass by checking nothing.
fn cases(group: &str, at_least: usize) -> Vec<Value> {
    let cases = reference()[group].as_array().cloned().unwrap_or_default();
    assert!(
        cases.len() >= at_least,
        "{group}: {} cases, expected at least {at_least}",
        cases.len()
    );
    cases
}

fn num(case: &Value, key: &str) -> f64 {
    case[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {case}"))
}

fn count(case: &Value, key: &str) -> u64 {
    case[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing in {case}"))
}

/// Compares values within a relative tolerance and remembers the worst error.
struct Check {
    group: &'static str,
    tolerance: f64,
    worst: f64,
}

impl Check {
    fn new(group: &'static str, tolerance: f64) -> Self {
        Check {
            group,
            tolerance,
            worst: 0.0,
        }
    }

    /// |actual − expected| / max(|expected|, scale) ≤ tolerance.
    fn close(&mut self, what: &str, actual: Option<f64>, expected: f64, scale: f64) {
        let Some(actual) = actual else {
            panic!("{}: {what}: got None, expected {expected}", self.group);
        };
        let error = (actual - expected).abs() / expected.abs().max(scale);
        assert!(
            error <= self.tolerance,
            "{}: {what}: got {actual}, expected {expected} (relative error {error:.2e} > {:.0e})",
            self.group,
            self.tolerance
        );
        self.worst = self.worst.max(error);
    }
}

impl Drop for Check {
    fn drop(&mut self) {
        // After a failed comparison the worst error so far means nothing.
        if std::thread::panicking() {
            return;
        }
        eprintln!(
            "{}: largest relative error {:.2e} (tolerance {:.0e})",
            self.group, self.worst, self.tolerance
        );
    }
}

/// Checks every case of a group of scalar references: `compare` names a
/// case and gives (what Rust computes, what the reference says).
fn check_group(
    group: &'static str,
    tolerance: f64,
    at_least: usize,
    scale: f64,
    compare: impl Fn(&Value) -> (String, Option<f64>, f64),
) {
    let mut check = Check::new(group, tolerance);
    for case in cases(group, at_least) {
        let (what, actual, expected) = compare(&case);
        check.close(&what, actual, expected, scale);
    }
}

#[test]
fn normal_cdf_and_quantile_match_scipy() {
    check_group("normal_cdf", 1e-9, 10, 1e-300, |case| {
        let x = num(case, "x");
        (
            format!("cdf({x})"),
            Some(stats::normal_cdf(x)),
            num(case, "cdf"),
        )
    });
    // The quantile at p = 0.5 is 0: its error is measured absolutely.
    check_group("normal_quantile", 1e-9, 10, 1e-12, |case| {
        let p = num(case, "p");
        (
            format!("quantile({p})"),
            stats::normal_quantile(p),
            num(case, "z"),
        )
    });
}

#[test]
fn students_t_quantile_matches_scipy() {
    check_group("students_t_quantile", 1e-8, 40, 1e-12, |case| {
        let (p, dof) = (num(case, "p"), num(case, "dof"));
        let actual = stats::students_t_quantile(p, dof);
        (format!("t({p}, dof {dof})"), actual, num(case, "t"))
    });
}

#[test]
fn chi_square_survival_matches_scipy() {
    check_group("chi_square_sf", 1e-9, 8, 1e-300, |case| {
        let (x, dof) = (num(case, "x"), num(case, "dof"));
        (
            format!("sf({x}, {dof})"),
            stats::chi_square_sf(x, dof),
            num(case, "sf"),
        )
    });
}

#[test]
fn srm_p_values_match_scipy_chisquare() {
    let list = |case: &Value, key: &str| -> Vec<f64> {
        case[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_f64)
            .collect()
    };
    check_group("srm", 1e-9, 6, 1e-300, |case| {
        let persons: Vec<u64> = list(case, "persons")
            .into_iter()
            .map(|n| n as u64)
            .collect();
        let actual = stats::srm_p_value(&persons, &list(case, "weights"));
        (case["name"].to_string(), actual, num(case, "p_value"))
    });
    // The set must hold both sides of the 0.001 threshold, or a check that
    // flagged nothing (or everything) would pass.
    let p_values: Vec<f64> = cases("srm", 6)
        .iter()
        .map(|case| num(case, "p_value"))
        .collect();
    assert!(
        p_values.iter().filter(|p| **p < 0.001).count() >= 2,
        "{p_values:?}"
    );
    assert!(
        p_values.iter().filter(|p| **p > 0.05).count() >= 2,
        "{p_values:?}"
    );
}

fn lift_of(case: &Value) -> Option<Lift> {
    let counts = |arm: &str| Counts {
        persons: count(&case[arm], "persons"),
        conversions: count(&case[arm], "conversions"),
    };
    stats::relative_lift(counts("control"), counts("treatment"))
}

#[test]
fn relative_lift_and_intervals_match_gbstats() {
    let mut moments = Check::new("lift moments (estimate, se, dof)", 1e-9);
    let mut fixed = Check::new("fixed-horizon interval", 1e-8);
    let mut sequential = Check::new("sequential interval", 1e-9);
    let mut chance = Check::new("chance to beat control", 1e-9);
    for case in cases("lift", 10) {
        let name = case["name"].as_str().unwrap_or("?").to_owned();
        let lift = lift_of(&case).unwrap_or_else(|| panic!("{name}: no lift"));
        let (alpha, tuning, se) = (
            num(&case, "alpha"),
            num(&case, "tuning"),
            num(&case, "standard_error"),
        );
        moments.close(
            &format!("{name}: estimate"),
            Some(lift.estimate),
            num(&case, "estimate"),
            se,
        );
        moments.close(
            &format!("{name}: standard error"),
            Some(lift.standard_error),
            se,
            0.0,
        );
        moments.close(
            &format!("{name}: dof"),
            Some(lift.dof),
            num(&case, "dof"),
            0.0,
        );
        // Bounds can sit near 0, so their error is measured against the standard error.
        let interval = stats::fixed_interval(&lift, alpha);
        fixed.close(
            &format!("{name}: lower"),
            interval.map(|i| i.lower),
            num(&case["fixed"], "lower"),
            se,
        );
        fixed.close(
            &format!("{name}: upper"),
            interval.map(|i| i.upper),
            num(&case["fixed"], "upper"),
            se,
        );
        let interval = stats::sequential_interval(&lift, alpha, tuning);
        let (lower, upper) = (
            num(&case["sequential"], "lower"),
            num(&case["sequential"], "upper"),
        );
        sequential.close(
            &format!("{name}: lower"),
            interval.map(|i| i.lower),
            lower,
            se,
        );
        sequential.close(
            &format!("{name}: upper"),
            interval.map(|i| i.upper),
            upper,
            se,
        );
        // The building block alone: s2 = se² · n over both arms, as gbstats.
        let n = lift.persons as f64;
        let halfwidth = stats::sequential_halfwidth(se * se * n, n, tuning, alpha);
        sequential.close(
            &format!("{name}: halfwidth"),
            halfwidth,
            (upper - lower) / 2.0,
            0.0,
        );
        let expected = num(&case, "chance_to_beat_control");
        chance.close(
            &name,
            stats::chance_to_beat_control(&lift),
            expected,
            1e-300,
        );
    }
}
