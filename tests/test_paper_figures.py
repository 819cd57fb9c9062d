"""The shape of the papers' figures, rebuilt from numbers the papers print.

The points are in fixtures/paper_numbers.yaml (Codex and CodeGen HumanEval pass@k tables, the
Codex APPS pass@k table, two coverage end points from Large Language Monkeys), each with the
table it comes from and where it was checked. The tests push them through the library's own fit
(monkeys.scaling.powerlaw) and family offsets (monkeys.stages.family), and check what the
figures show: coverage follows an exponentiated power law log c = a k^-b with a < 0 and
0 < b < 1, a fit on small k predicts a larger k it never saw, and the members of a model family
are S-curves ordered by size, each sitting a positive horizontal distance (in log10 k) to the
right of the largest member. Each check also has a negative control, so it can fail.

Run with `pytest -s` to see the fitted parameters and the predictions.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from monkeys.scaling.powerlaw import PowerLawFit, fit_exponentiated_power_law, predict_coverage
from monkeys.stages.family import family_table

NUMBERS = yaml.safe_load((Path(__file__).parent / "fixtures" / "paper_numbers.yaml").read_text())
HUMANEVAL = ("codex_humaneval", "codegen_mono_humaneval")

# Tolerances, set from what the fit gives on these tables (observed worst case in brackets).
B_RANGE = (0.05, 1.0)  # exponent b of every HumanEval / APPS fit [0.097 .. 0.284]
MAX_LOG_RESIDUAL = 0.15  # |log fitted - log reported| at a reported point [0.141, Codex-12M at k=10]
MAX_RMSE = 0.035  # coverage-scale RMSE of a 3-point HumanEval fit [0.030, Codex-12B]
HELD_OUT_FACTOR = 1.5  # predicted / reported APPS pass@1000 within this factor [1.43, interview]


def _table(name: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(ks, {model: coverage as a fraction}) of one fixture table."""
    entry = NUMBERS[name]
    return (
        np.asarray(entry["ks"], dtype=float),
        {m: np.asarray(v, dtype=float) / 100.0 for m, v in entry["pass_at_k"].items()},
    )


def _max_log_residual(fit: PowerLawFit, ks: np.ndarray, coverage: np.ndarray) -> float:
    return float(np.max(np.abs(np.log(predict_coverage(fit, ks)) - np.log(coverage))))


def _in_regime(fit: PowerLawFit) -> bool:
    return fit.success and fit.a < 0 and B_RANGE[0] < fit.b < B_RANGE[1]


@pytest.mark.parametrize("name", [*HUMANEVAL, "codex_apps_1shot_raw"])
def test_reported_points_rise_with_k(name: str) -> None:
    _, curves = _table(name)
    for model, cov in curves.items():
        assert np.all((cov > 0) & (cov <= 1)), model
        assert np.all(np.diff(cov) > 0), model


@pytest.mark.parametrize("name", HUMANEVAL)
def test_power_law_fits_reported_humaneval_curves(name: str) -> None:
    """Every member's pass@{1,10,100} is fitted by exp(a k^-b) with a < 0, 0 < b < 1."""
    ks, curves = _table(name)
    for model, cov in curves.items():
        fit = fit_exponentiated_power_law(ks, cov)
        residual = _max_log_residual(fit, ks, cov)
        print(
            f"{model}: a={fit.a:.4f} b={fit.b:.4f} rmse={fit.rmse:.4f} max|dlog|={residual:.4f} "
            f"fitted={np.round(100 * predict_coverage(fit, ks), 2)} reported={100 * cov}"
        )
        assert _in_regime(fit), (model, fit)
        assert residual <= MAX_LOG_RESIDUAL, (model, residual)
        assert fit.rmse <= MAX_RMSE, (model, fit.rmse)


def test_power_law_rejects_a_curve_that_falls_with_k() -> None:
    """Negative control: the same points in reverse k order cannot be fitted in the regime."""
    ks, curves = _table("codex_humaneval")
    for model, cov in curves.items():
        fit = fit_exponentiated_power_law(ks, cov[::-1])
        assert not _in_regime(fit) or _max_log_residual(fit, ks, cov[::-1]) > MAX_LOG_RESIDUAL, model


@pytest.mark.parametrize("difficulty", ["introductory", "interview", "competition"])
def test_fit_on_small_k_predicts_held_out_apps_pass_at_1000(difficulty: str) -> None:
    """Fit Codex-12B's APPS pass@{1,5,100}; predict the reported pass@1000."""
    ks, curves = _table("codex_apps_1shot_raw")
    cov = curves[difficulty]
    fit = fit_exponentiated_power_law(ks[:3], cov[:3])
    predicted = float(predict_coverage(fit, [ks[3]])[0])
    ratio = predicted / cov[3]
    print(
        f"APPS {difficulty}: a={fit.a:.4f} b={fit.b:.4f} predicted pass@1000={100 * predicted:.2f}% "
        f"reported={100 * cov[3]:.2f}% ratio={ratio:.3f}"
    )
    assert _in_regime(fit), fit
    assert 1 / HELD_OUT_FACTOR < ratio < HELD_OUT_FACTOR
    # Negative control: a straight line in k through the same points misses by far more.
    linear = float(np.polyval(np.polyfit(ks[:3], cov[:3], 1), ks[3]))
    assert not 1 / HELD_OUT_FACTOR < linear / cov[3] < HELD_OUT_FACTOR


def test_power_law_extrapolates_apps_better_than_baselines() -> None:
    """Mean |log error| at k=1000 beats both 'no further gain' and a line in log k."""
    ks, curves = _table("codex_apps_1shot_raw")
    errors: dict[str, list[float]] = {"power law": [], "flat after k=100": [], "line in log k": []}
    for cov in curves.values():
        fit = fit_exponentiated_power_law(ks[:3], cov[:3])
        log_linear = np.polyval(np.polyfit(np.log(ks[:3]), cov[:3], 1), np.log(ks[3]))
        for key, value in (
            ("power law", predict_coverage(fit, [ks[3]])[0]),
            ("flat after k=100", cov[2]),
            ("line in log k", log_linear),
        ):
            errors[key].append(abs(math.log(value / cov[3])))
    mean = {key: float(np.mean(v)) for key, v in errors.items()}
    print("APPS pass@1000 mean |log error|:", {k: round(v, 3) for k, v in mean.items()})
    assert mean["power law"] < mean["flat after k=100"]
    assert mean["power law"] < mean["line in log k"]


def _family_coverage(name: str, fitted: bool) -> tuple[pd.DataFrame, dict[str, float]]:
    """A coverage table (model, dataset, k, coverage) of a family: the reported points, or each
    member's fitted curve on a log grid over the reported range of k."""
    ks, curves = _table(name)
    grid = np.unique(np.round(np.logspace(0, np.log10(ks.max()), 41)))
    frames = []
    for model, cov in curves.items():
        if fitted:
            k, c = grid, predict_coverage(fit_exponentiated_power_law(ks, cov), grid)
        else:
            k, c = ks, cov
        frames.append(
            pd.DataFrame({"model": model, "dataset": "humaneval", "k": k.astype(int), "coverage": c})
        )
    return pd.concat(frames, ignore_index=True), dict(NUMBERS[name]["params_billions"])


def _size_order_violations(coverage: pd.DataFrame, sizes: dict[str, float]) -> tuple[list[str], int]:
    """Checks the family's S-curves against model size; returns (violations, strict comparisons).

    At every k a larger member covers at least as much; at every coverage level the family stage's
    offset (log10 k_model / k_largest) is >= 0, and the k a member needs falls as size grows,
    strictly where the larger member needs more than one sample (below that k_at_coverage
    reports k=1 for both).
    """
    order = sorted(sizes, key=sizes.get)
    bad: list[str] = []
    wide = coverage.pivot(index="k", columns="model", values="coverage")[order]
    for k, row in wide.iterrows():
        if np.any(np.diff(row.to_numpy()) < -1e-12):
            bad.append(f"k={k}: coverage not ordered by size {row.round(4).to_dict()}")
    table = family_table(coverage, {m: "family" for m in sizes}, sizes)
    strict = 0
    for level, rows in table.groupby("level"):
        rows = rows[np.isfinite(rows["k"])].sort_values("params_billions")
        if (rows["log10_offset"] < -1e-12).any():
            bad.append(f"level {level}: negative offset {rows.set_index('model')['log10_offset'].to_dict()}")
        k = rows["k"].to_numpy()
        for small, large, name in zip(k[:-1], k[1:], rows["model"].iloc[1:], strict=True):
            if large > 1.0:
                strict += 1
                if not small > large:
                    bad.append(f"level {level}: {name} needs k={large:.3g}, a smaller one {small:.3g}")
            elif small < large:
                bad.append(f"level {level}: {name} needs k={large:.3g}, a smaller one {small:.3g}")
    return bad, strict


@pytest.mark.parametrize("fitted", [False, True], ids=["reported", "fitted"])
@pytest.mark.parametrize("name", HUMANEVAL)
def test_family_members_are_ordered_s_curves(name: str, fitted: bool) -> None:
    coverage, sizes = _family_coverage(name, fitted)
    for model, rows in coverage.groupby("model"):
        assert np.all(np.diff(rows.sort_values("k")["coverage"].to_numpy()) >= 0), model
    violations, strict = _size_order_violations(coverage, sizes)
    assert not violations, violations
    # Not vacuous: members were told apart at levels where neither needed a single sample.
    assert strict >= len(sizes) - 1, strict
    if fitted:
        table = family_table(coverage, {m: "family" for m in sizes}, sizes)
        at = table[np.isfinite(table["k"]) & (table["k_reference"] > 1.0)]
        offsets = at.pivot(index="level", columns="model", values="log10_offset")
        print(offsets[sorted(offsets.columns, key=sizes.get)].round(3).to_string())


@pytest.mark.parametrize("name", HUMANEVAL)
def test_family_check_fails_when_sizes_are_swapped(name: str) -> None:
    """Negative control: label the smallest model the largest and the check must object."""
    coverage, sizes = _family_coverage(name, fitted=True)
    swapped = dict(zip(sizes, sorted(sizes.values(), reverse=True), strict=True))
    violations, _ = _size_order_violations(coverage, swapped)
    assert violations


@pytest.mark.parametrize("curve", list(NUMBERS["monkeys_endpoints"]["curves"]))
def test_monkeys_end_points_lie_on_a_power_law_in_the_regime(curve: str) -> None:
    """Large Language Monkeys quotes coverage at k=1 and at its largest k. The one exponentiated
    power law through both (a = log c(1), b from the ratio of the logs) must have 0 < b < 1, and
    the library's predict_coverage must reproduce both points with it (same sign convention)."""
    entry = NUMBERS["monkeys_endpoints"]["curves"][curve]
    (k1, kn), (c1, cn) = entry["ks"], np.asarray(entry["coverage"]) / 100.0
    assert k1 == 1
    a = math.log(c1)
    b = -math.log(math.log(cn) / a) / math.log(kn)
    fit = PowerLawFit(a, b, math.nan, math.nan, 0.0, k1, kn, 2, True, "two reported points")
    print(f"{curve}: a={a:.4f} b={b:.4f}; c(10)={predict_coverage(fit, [10])[0]:.4f}")
    assert _in_regime(fit)
    np.testing.assert_allclose(predict_coverage(fit, [k1, kn]), [c1, cn], rtol=1e-12)
