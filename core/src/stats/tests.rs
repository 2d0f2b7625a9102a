//! How [`analyze`] turns counts into verdicts. The numerics themselves are
//! checked against scipy and gbstats in `core/tests/stats.rs`.

use super::*;

fn arm(key: &str, weight: f64, control: bool, persons: u64, conversions: u64) -> Arm {
    Arm {
        key: key.to_owned(),
        weight,
        control,
        persons,
        conversions,
    }
}

/// A control and one treatment at 50/50.
fn pair(control: (u64, u64), treatment: (u64, u64)) -> Vec<Arm> {
    vec![
        arm("control", 0.5, true, control.0, control.1),
        arm("treatment", 0.5, false, treatment.0, treatment.1),
    ]
}

fn fixed() -> Settings {
    Settings {
        sequential: false,
        ..Settings::default()
    }
}

fn verdict_of(arms: &[Arm], settings: &Settings) -> Verdict {
    analyze(arms, None, settings).arms[1].verdict
}

#[test]
fn a_clear_winner_is_better_and_a_clear_loser_worse() {
    let better = analyze(&pair((5000, 500), (5000, 650)), None, &Settings::default());
    assert_eq!(better.method, Method::Sequential);
    assert_eq!(better.confidence, Some(0.95));
    assert_eq!(better.arms[0].verdict, Verdict::Control);
    assert_eq!(better.arms[0].lift, None);
    let treatment = &better.arms[1];
    assert_eq!(treatment.verdict, Verdict::Better);
    assert!(treatment
        .lift
        .is_some_and(|lift| lift.lower > 0.0 && (lift.estimate - 0.3).abs() < 1e-12));
    assert!(treatment
        .chance_to_beat_control
        .is_some_and(|chance| chance > 0.99));
    assert_eq!(
        verdict_of(&pair((5000, 650), (5000, 500)), &Settings::default()),
        Verdict::Worse
    );
}

#[test]
fn the_sequential_interval_withholds_what_a_single_look_would_claim() {
    // gbstats's "large" reference case: the fixed interval [0.023, 0.137]
    // excludes 0, the confidence sequence [-0.017, 0.177] does not.
    let arms = pair((50_000, 2_500), (50_000, 2_700));
    let fixed = analyze(&arms, None, &fixed());
    assert_eq!(fixed.method, Method::FixedHorizon);
    assert_eq!(fixed.arms[1].verdict, Verdict::Better);
    let sequential = analyze(&arms, None, &Settings::default());
    assert_eq!(sequential.arms[1].verdict, Verdict::Inconclusive);
    let (f, s) = (
        fixed.arms[1].lift.unwrap(),
        sequential.arms[1].lift.unwrap(),
    );
    assert_eq!(f.estimate, s.estimate);
    assert!(s.lower < f.lower && s.upper > f.upper);
}

#[test]
fn the_sequential_interval_is_wider_than_the_fixed_one_and_narrows_with_data() {
    let mut last = f64::INFINITY;
    for persons in [200, 1_000, 5_000, 20_000, 100_000, 1_000_000, 100_000_000] {
        let control = Counts {
            persons,
            conversions: persons / 10,
        };
        let treatment = Counts {
            persons,
            conversions: persons / 9,
        };
        let lift = relative_lift(control, treatment).unwrap();
        let fixed = fixed_interval(&lift, 0.05).unwrap();
        let sequential = sequential_interval(&lift, 0.05, 5000.0).unwrap();
        let width = sequential.upper - sequential.lower;
        assert!(width > fixed.upper - fixed.lower, "n = {persons}");
        assert!(width < last, "n = {persons}: {width} not below {last}");
        last = width;
    }
}

#[test]
fn a_sample_ratio_mismatch_suppresses_the_verdict() {
    // The example: 5,000 vs 5,400 persons at 50/50 weights.
    let arms = pair((5000, 500), (5400, 800));
    let analysis = analyze(&arms, None, &Settings::default());
    assert!(analysis.srm_p_value.is_some_and(|p| p < 0.001));
    assert!(analysis.srm_warning);
    assert_eq!(analysis.arms[1].verdict, Verdict::SampleRatioMismatch);
    // The same counts under weights that predict them give a verdict: the
    // mismatch alone withheld it.
    let mut planned = arms.clone();
    planned[0].weight = 5000.0;
    planned[1].weight = 5400.0;
    let analysis = analyze(&planned, None, &Settings::default());
    assert!(!analysis.srm_warning);
    assert_eq!(analysis.arms[1].verdict, Verdict::Better);
    // A mismatch outranks "too early": waiting does not repair a broken split.
    let small = pair((100, 5), (300, 10));
    assert_eq!(
        verdict_of(&small, &Settings::default()),
        Verdict::SampleRatioMismatch
    );
}

#[test]
fn below_the_minimum_sample_it_is_too_early_and_says_how_long() {
    let early = analyze(&pair((50, 10), (60, 20)), None, &Settings::default());
    let expected = Verdict::TooEarly {
        reason: TooEarly::FewPersons,
        // The control needs 50 more at half the traffic: 100 newcomers.
        more_persons: Some(100),
    };
    assert_eq!(early.arms[1].verdict, expected);
    assert_eq!(early.arms[1].lift, None);
    assert_eq!(early.arms[1].chance_to_beat_control, None);
    // 5 conversions in 200 (2.5%): 400 persons give the 10 wanted.
    let few = pair((200, 5), (200, 30));
    let expected = Verdict::TooEarly {
        reason: TooEarly::FewConversions,
        more_persons: Some(400),
    };
    assert_eq!(verdict_of(&few, &Settings::default()), expected);
    // Almost everyone converts: too few non-conversions is as fragile.
    let saturated = verdict_of(&pair((200, 195), (200, 150)), &Settings::default());
    assert!(matches!(
        saturated,
        Verdict::TooEarly {
            reason: TooEarly::FewConversions,
            more_persons: Some(_)
        }
    ));
    // No conversion yet: no rate to extrapolate from.
    let none = verdict_of(&pair((500, 0), (500, 30)), &Settings::default());
    assert_eq!(
        none,
        Verdict::TooEarly {
            reason: TooEarly::FewConversions,
            more_persons: None
        }
    );
    // Just at the minimums, a verdict is given (fixed horizon: at 200
    // persons a confidence sequence tuned for 5000 is still very wide).
    assert_eq!(
        verdict_of(&pair((100, 10), (100, 90)), &fixed()),
        Verdict::Better
    );
}

#[test]
fn unequal_weights_scale_the_persons_still_needed() {
    let arms = vec![
        arm("control", 0.8, true, 400, 40),
        arm("treatment", 0.2, false, 80, 10),
    ];
    let expected = Verdict::TooEarly {
        reason: TooEarly::FewPersons,
        more_persons: Some(100), // 20 more in an arm that gets a fifth of the traffic
    };
    assert_eq!(verdict_of(&arms, &Settings::default()), expected);
}

#[test]
fn lowered_minimums_still_refuse_a_rate_without_spread() {
    let settings = Settings {
        min_persons: 0,
        min_conversions: 0,
        ..Settings::default()
    };
    let cases = [
        ((100, 0), (100, 5)),
        ((100, 10), (100, 100)),
        ((1, 1), (1, 0)),
        ((0, 0), (0, 0)),
    ];
    for (control, treatment) in cases {
        let verdict = verdict_of(&pair(control, treatment), &settings);
        let expected = Verdict::TooEarly {
            reason: TooEarly::NoVariance,
            more_persons: None,
        };
        assert_eq!(verdict, expected, "{control:?} vs {treatment:?}");
    }
}

#[test]
fn several_treatments_are_each_compared_with_the_one_control() {
    let arms = vec![
        arm("a", 1.0, false, 5000, 650),
        arm("control", 1.0, true, 5000, 500),
        arm("b", 1.0, false, 5000, 505),
    ];
    let analysis = analyze(&arms, None, &Settings::default());
    let verdicts: Vec<_> = analysis
        .arms
        .iter()
        .map(|a| (a.key.as_str(), a.verdict))
        .collect();
    let expected = [
        ("a", Verdict::Better),
        ("control", Verdict::Control),
        ("b", Verdict::Inconclusive),
    ];
    assert_eq!(verdicts, expected);
}

#[test]
fn without_exactly_one_control_nothing_is_compared() {
    let none = vec![arm("a", 0.5, false, 500, 50), arm("b", 0.5, false, 500, 80)];
    let analysis = analyze(&none, None, &Settings::default());
    assert!(analysis
        .arms
        .iter()
        .all(|a| a.verdict == Verdict::NotComparable(NotComparable::NoControl)));
    let mut two = none.clone();
    two.iter_mut().for_each(|a| a.control = true);
    two.push(arm("c", 0.5, false, 500, 50));
    let verdict = analyze(&two, None, &Settings::default()).arms[2].verdict;
    assert_eq!(
        verdict,
        Verdict::NotComparable(NotComparable::SeveralControls)
    );
}

#[test]
fn invalid_settings_and_counts_fail_closed() {
    let arms = pair((5000, 500), (5000, 650));
    let broken = [
        Settings {
            confidence: 1.0,
            ..Settings::default()
        },
        Settings {
            confidence: 0.999_999_9,
            ..Settings::default()
        },
        Settings {
            confidence: f64::NAN,
            ..Settings::default()
        },
        Settings {
            sequential_tuning: 0.0,
            ..Settings::default()
        },
        Settings {
            srm_p_threshold: -1.0,
            ..Settings::default()
        },
    ];
    for settings in broken {
        let analysis = analyze(&arms, None, &settings);
        assert_eq!(analysis.confidence, None);
        assert_eq!(
            analysis.arms[1].verdict,
            Verdict::NotComparable(NotComparable::InvalidSettings)
        );
        assert_eq!(analysis.arms[1].lift, None);
    }
    // A tuning the fixed method never uses does not invalidate it.
    let unused = Settings {
        sequential_tuning: f64::NAN,
        ..fixed()
    };
    assert_eq!(verdict_of(&arms, &unused), Verdict::Better);
    let impossible = pair((100, 101), (100, 10));
    assert_eq!(
        verdict_of(&impossible, &Settings::default()),
        Verdict::NotComparable(NotComparable::InvalidCounts)
    );
}

#[test]
fn the_multiple_exposure_share_only_warns() {
    let arms = pair((5000, 500), (5000, 650));
    let settings = Settings::default();
    assert!(analyze(&arms, Some(0.06), &settings).multiple_exposure_warning);
    for share in [None, Some(0.04), Some(f64::NAN)] {
        assert!(
            !analyze(&arms, share, &settings).multiple_exposure_warning,
            "{share:?}"
        );
    }
    assert_eq!(
        analyze(&arms, Some(0.5), &settings).arms[1].verdict,
        Verdict::Better
    );
}

/// Every number in an analysis, for the no-NaN check.
fn numbers(analysis: &Analysis) -> Vec<f64> {
    let mut all: Vec<f64> = analysis
        .confidence
        .into_iter()
        .chain(analysis.srm_p_value)
        .collect();
    for arm in &analysis.arms {
        all.extend(arm.rate.into_iter().chain(arm.chance_to_beat_control));
        all.extend(arm.lift.iter().flat_map(|l| [l.estimate, l.lower, l.upper]));
    }
    all
}

#[test]
fn degenerate_inputs_never_give_nan_or_infinity() {
    let max = u64::MAX;
    let inputs: Vec<Vec<Arm>> = vec![
        vec![],
        vec![arm("only", 1.0, true, 100, 10)],
        vec![arm("only", 1.0, false, 100, 10)],
        pair((0, 0), (0, 0)),
        pair((100, 100), (100, 100)),
        pair((max, max), (max, 0)),
        pair((max, max / 2), (max, max / 3)),
        pair((2, 1), (max, 1)),
        pair((100, 200), (0, 5)),
        vec![
            arm("c", f64::NAN, true, 500, 50),
            arm("t", f64::INFINITY, false, 500, 60),
        ],
        vec![arm("c", -1.0, true, 500, 50), arm("t", 0.0, false, 500, 60)],
        vec![arm("c", 0.0, true, 0, 0), arm("t", 0.0, false, 10, 1)],
        vec![
            arm("c", f64::MAX, true, 500, 50),
            arm("t", f64::MAX, false, 50, 6),
        ],
        vec![
            arm("c", f64::MIN_POSITIVE, true, 500, 50),
            arm("t", 1.0, false, 50, 6),
        ],
    ];
    let lenient = Settings {
        min_persons: 0,
        min_conversions: 0,
        ..Settings::default()
    };
    for arms in &inputs {
        for settings in [Settings::default(), fixed(), lenient.clone()] {
            let analysis = analyze(arms, Some(f64::NAN), &settings);
            assert_eq!(analysis.arms.len(), arms.len());
            for number in numbers(&analysis) {
                assert!(number.is_finite(), "{number} in {analysis:?}");
            }
            for result in &analysis.arms {
                let lift = result.lift;
                match result.verdict {
                    Verdict::Better => assert!(lift.is_some_and(|l| l.lower > 0.0)),
                    Verdict::Worse => assert!(lift.is_some_and(|l| l.upper < 0.0)),
                    Verdict::Inconclusive => {
                        assert!(lift.is_some_and(|l| l.lower <= 0.0 && l.upper >= 0.0))
                    }
                    _ => {}
                }
            }
        }
    }
}
