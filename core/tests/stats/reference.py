#!/usr/bin/env python3
"""Reference values for nudge_core::stats, from scipy and GrowthBook's gbstats.

core/tests/stats.rs reads the JSON this prints and checks every value
against the Rust implementation. The values are committed, so the Rust tests
need no Python; rerun this only when adding cases or checking a new gbstats.

Regenerate (from the repository root):

    python3 -m venv /tmp/statsenv
    /tmp/statsenv/bin/pip install scipy gbstats
    /tmp/statsenv/bin/python core/tests/stats/reference.py > core/tests/stats/reference.json

Generated with Python 3.11, scipy 1.17.1, numpy 1.26.4, gbstats 0.8.0 (the
versions are also written into the JSON).

Sources of truth:
- normal cdf/quantile, Student t quantile, chi-square survival: scipy.stats;
- sample-ratio mismatch: scipy.stats.chisquare (and gbstats.utils.check_srm,
  asserted equal where both apply);
- relative lift, delta-method standard error, Welch dof, fixed-horizon
  interval: gbstats.frequentist.tests.TwoSidedTTest on ProportionStatistic;
- sequential interval: gbstats.frequentist.tests.SequentialTwoSidedTTest;
- chance to beat control: gbstats.bayesian.tests.EffectBayesianABTest with
  its default flat prior.
gbstats is also re-derived below in plain numpy from the published formulas
(delta method; eq. 9 and 161 of Waudby-Smith et al., arXiv 2103.06476v7);
the script stops if the two disagree, and falls back to the numpy version
(saying so in "sources") if gbstats cannot be imported.
"""

import json
import sys
from importlib import metadata

import numpy as np
import scipy
from scipy import stats

try:
    from gbstats.bayesian.tests import EffectBayesianABTest
    from gbstats.frequentist.tests import (
        FrequentistConfig,
        SequentialConfig,
        SequentialTwoSidedTTest,
        TwoSidedTTest,
    )
    from gbstats.models.statistics import ProportionStatistic
    from gbstats.utils import check_srm

    GBSTATS = metadata.version("gbstats")
except ImportError:
    GBSTATS = None

SEED = 20261123


def normal_cases():
    xs = [-30.0, -8.0, -5.0, -3.0, -1.959963984540054, -1.0, -0.5, 0.0, 0.3, 1.0, 1.6448536269514722, 2.5, 5.0, 8.0]
    ps = [1e-12, 1e-6, 0.001, 0.025, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 0.975, 0.995, 0.999999]
    cdf = [{"x": x, "cdf": float(stats.norm.cdf(x))} for x in xs]
    quantile = [{"p": p, "z": float(stats.norm.ppf(p))} for p in ps]
    return cdf, quantile


def t_quantile_cases():
    dofs = [1.0, 1.7, 3.0, 9.5, 30.0, 99.0, 198.37, 1000.0, 4321.5, 1e5, 2e6, 1e9]
    ps = [0.025, 0.9, 0.95, 0.975, 0.995, 0.9995]
    return [{"p": p, "dof": d, "t": float(stats.t.ppf(p, d))} for d in dofs for p in ps]


def chi_square_cases():
    pairs = [(0.5, 1), (3.84, 1), (10.83, 1), (15.7, 1), (2.0, 2), (13.8, 2), (7.81, 3), (40.0, 3), (4.0, 5), (30.0, 9), (400.0, 1)]
    return [{"x": x, "dof": d, "sf": float(stats.chi2.sf(x, d))} for x, d in pairs]


def srm_cases():
    rng = np.random.default_rng(SEED)
    # A biased coin where a fair one was configured: 52% instead of 50%.
    skewed = int(rng.binomial(20000, 0.52))
    fair3 = [int(v) for v in rng.multinomial(30000, [0.2, 0.3, 0.5])]
    cases = [
        ("issue example: 5000 vs 5400 at 50/50", [5000, 5400], [0.5, 0.5]),
        ("fair 50/50", [5000, 5040], [0.5, 0.5]),
        ("seeded 52% coin at 50/50", [skewed, 20000 - skewed], [0.5, 0.5]),
        ("seeded fair 20/30/50", fair3, [0.2, 0.3, 0.5]),
        ("three arms, weights not summing to 1", [3300, 3350, 3350], [1.0, 1.0, 1.0]),
        ("10/90 split slightly off", [1050, 8950], [0.1, 0.9]),
        ("small counts", [7, 13], [0.5, 0.5]),
        ("far off, tiny p", [100000, 110000], [0.5, 0.5]),
    ]
    out = []
    for name, persons, weights in cases:
        total = sum(persons)
        expected = [w / sum(weights) * total for w in weights]
        p = float(stats.chisquare(persons, expected).pvalue)
        if GBSTATS:
            assert np.isclose(p, check_srm(persons, weights), rtol=1e-12, atol=0), name
        out.append({"name": name, "persons": persons, "weights": weights, "p_value": p})
    return out


def numpy_lift(c_n, c_x, t_n, t_x, alpha, tuning):
    """gbstats's formulas written out, as a cross-check and fallback."""
    p_c, p_t = c_x / c_n, t_x / t_n
    v_c, v_t = p_c * (1 - p_c), p_t * (1 - p_t)
    estimate = (p_t - p_c) / p_c
    variance = v_t / (p_c**2 * t_n) + v_c * p_t**2 / (p_c**4 * c_n)
    se = np.sqrt(variance)
    dof = (v_t / t_n + v_c / c_n) ** 2 / (v_t**2 / (t_n**2 * (t_n - 1)) + v_c**2 / (c_n**2 * (c_n - 1)))
    fixed = stats.t.ppf(1 - alpha / 2, dof) * se
    n = c_n + t_n
    rho = np.sqrt((-2 * np.log(alpha) + np.log(-2 * np.log(alpha) + 1)) / tuning)
    s2 = variance * n
    seq = np.sqrt(s2) * np.sqrt(2 * (n * rho**2 + 1) * np.log(np.sqrt(n * rho**2 + 1) / alpha) / (n * rho) ** 2)
    chance = stats.norm.sf(0, estimate, se)
    return {
        "estimate": estimate,
        "standard_error": se,
        "dof": dof,
        "fixed": [estimate - fixed, estimate + fixed],
        "sequential": [estimate - seq, estimate + seq],
        "chance_to_beat_control": chance,
    }


def gbstats_lift(c_n, c_x, t_n, t_x, alpha, tuning):
    a, b = ProportionStatistic(n=c_n, sum=c_x), ProportionStatistic(n=t_n, sum=t_x)
    fixed_test = TwoSidedTTest(a, b, FrequentistConfig(alpha=alpha))
    fixed = fixed_test.compute_result()
    seq = SequentialTwoSidedTTest(a, b, SequentialConfig(alpha=alpha, sequential_tuning_parameter=tuning)).compute_result()
    bayes = EffectBayesianABTest(a, b).compute_result()
    assert fixed.error_message is None and seq.error_message is None
    return {
        "estimate": fixed.expected,
        "standard_error": fixed.uplift.stddev,
        "dof": fixed_test.dof,
        "fixed": list(fixed.ci),
        "sequential": list(seq.ci),
        "chance_to_beat_control": bayes.chance_to_win,
    }


def lift_cases():
    alpha, tuning = 0.05, 5000.0
    cases = [
        # name, control (persons, conversions), treatment (persons, conversions), alpha, tuning
        ("at the default minimum", (100, 10), (100, 15), alpha, tuning),
        ("small, unequal", (120, 12), (110, 20), alpha, tuning),
        ("medium", (1000, 50), (1000, 65), alpha, tuning),
        ("medium, worse", (5000, 500), (5000, 430), alpha, tuning),
        ("large", (50000, 2500), (50000, 2700), alpha, tuning),
        ("very large, small lift", (2000000, 40000), (2000000, 41000), alpha, tuning),
        ("unequal arms", (300, 30), (3000, 280), alpha, tuning),
        ("high rates", (200, 150), (200, 170), alpha, tuning),
        ("90% confidence", (1000, 50), (1000, 65), 0.10, tuning),
        ("99% confidence", (50000, 2500), (50000, 2700), 0.01, tuning),
        ("tuned for 1000 persons", (1000, 50), (1000, 65), alpha, 1000.0),
        ("tuned for 100000 persons", (50000, 2500), (50000, 2700), alpha, 100000.0),
    ]
    out = []
    for name, (c_n, c_x), (t_n, t_x), a, tune in cases:
        reference = numpy_lift(c_n, c_x, t_n, t_x, a, tune)
        if GBSTATS:
            gb = gbstats_lift(c_n, c_x, t_n, t_x, a, tune)
            for key, value in reference.items():
                assert np.allclose(gb[key], value, rtol=1e-9, atol=1e-15), (name, key, gb[key], value)
            reference = gb
        out.append(
            {
                "name": name,
                "control": {"persons": c_n, "conversions": c_x},
                "treatment": {"persons": t_n, "conversions": t_x},
                "alpha": a,
                "tuning": tune,
                "estimate": float(reference["estimate"]),
                "standard_error": float(reference["standard_error"]),
                "dof": float(reference["dof"]),
                "fixed": {"lower": float(reference["fixed"][0]), "upper": float(reference["fixed"][1])},
                "sequential": {"lower": float(reference["sequential"][0]), "upper": float(reference["sequential"][1])},
                "chance_to_beat_control": float(reference["chance_to_beat_control"]),
            }
        )
    return out


def main():
    cdf, quantile = normal_cases()
    lift_source = f"gbstats {GBSTATS}" if GBSTATS else "numpy reimplementation of gbstats (gbstats not installed)"
    document = {
        "generated_by": {
            "script": "core/tests/stats/reference.py",
            "python": sys.version.split()[0],
            "scipy": scipy.__version__,
            "numpy": np.__version__,
            "gbstats": GBSTATS,
            "seed": SEED,
        },
        "sources": {
            "normal_cdf": "scipy.stats.norm.cdf",
            "normal_quantile": "scipy.stats.norm.ppf",
            "students_t_quantile": "scipy.stats.t.ppf",
            "chi_square_sf": "scipy.stats.chi2.sf",
            "srm": "scipy.stats.chisquare" + (" (= gbstats check_srm)" if GBSTATS else ""),
            "lift": lift_source,
        },
        "normal_cdf": cdf,
        "normal_quantile": quantile,
        "students_t_quantile": t_quantile_cases(),
        "chi_square_sf": chi_square_cases(),
        "srm": srm_cases(),
        "lift": lift_cases(),
    }
    json.dump(document, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
