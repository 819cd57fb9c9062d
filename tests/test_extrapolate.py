"""Extrapolation with bootstrap bands and S-curve offsets between family members."""

from __future__ import annotations

import numpy as np
import pytest

from monkeys.metrics.passk import log_k_grid, pass_at_k_matrix
from monkeys.scaling.extrapolate import extrapolate, family_offsets, k_at_coverage


def _per_problem(seed: int, problems: int = 60, n: int = 200):
    rng = np.random.default_rng(seed)
    p = rng.beta(0.3, 3.0, size=problems)  # heavy tail of hard problems, as in the papers
    c = rng.binomial(n, p)
    ks = log_k_grid(n)
    return pass_at_k_matrix(np.full(problems, n), c, ks), ks


def test_extrapolation_band_contains_point_and_is_deterministic():
    values, ks = _per_problem(0)
    result = extrapolate(values, ks, 1000, k_min=1, resamples=100, seed=3, confidence=0.9)
    assert result.resamples_used >= 90
    assert result.lower <= result.coverage <= result.upper
    assert values.mean(axis=0)[-1] <= result.coverage <= 1.0
    again = extrapolate(values, ks, 1000, k_min=1, resamples=100, seed=3, confidence=0.9)
    assert again == result


def test_extrapolation_from_truncated_curve_predicts_held_out_point():
    values, ks = _per_problem(1, problems=200, n=400)
    truncated = [k for k in ks if k <= 40]
    result = extrapolate(
        values[:, : len(truncated)], truncated, 400, k_min=1, resamples=50, seed=0, confidence=0.95
    )
    actual = values.mean(axis=0)[-1]
    assert abs(result.coverage - actual) < 0.1


def test_k_at_coverage_and_offsets():
    ks = [1, 10, 100]
    assert k_at_coverage(ks, [0.1, 0.3, 0.5], 0.3) == pytest.approx(10)
    assert k_at_coverage(ks, [0.1, 0.3, 0.5], 0.4) == pytest.approx(np.sqrt(1000))
    assert np.isnan(k_at_coverage(ks, [0.1, 0.3, 0.5], 0.9))
    curves = {"small": (ks, [0.1, 0.3, 0.5]), "big": ([1, 10, 100], [0.3, 0.5, 0.7])}
    rows = {r["model"]: r for r in family_offsets(curves, "big", [0.5])}
    assert rows["small"]["log10_offset"] == pytest.approx(1.0)
    assert rows["big"]["log10_offset"] == pytest.approx(0.0)
