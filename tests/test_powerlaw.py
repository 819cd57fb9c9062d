"""Exponentiated power-law fits of coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monkeys.metrics.passk import log_k_grid
from monkeys.scaling.powerlaw import PowerLawFit, fit_exponentiated_power_law, predict_coverage


def _coverage(ks: np.ndarray, a: float, b: float) -> np.ndarray:
    return np.exp(a * np.asarray(ks, dtype=float) ** (-b))


@pytest.mark.parametrize(("a", "b"), [(-2.0, 0.3), (-0.5, 0.8), (-5.0, 0.15), (-1.2, 1.5)])
def test_recovers_exact_parameters(a: float, b: float) -> None:
    ks = np.array(log_k_grid(10_000))
    fit = fit_exponentiated_power_law(ks, _coverage(ks, a, b))
    assert fit.success, fit.message
    assert fit.a == pytest.approx(a, rel=1e-6)
    assert fit.b == pytest.approx(b, rel=1e-6)
    assert fit.rmse < 1e-9
    assert fit.num_points == len(ks)
    assert (fit.k_min, fit.k_max) == (1, 10_000)
    np.testing.assert_allclose(predict_coverage(fit, ks), _coverage(ks, a, b), rtol=1e-8)


def test_recovers_noisy_parameters() -> None:
    a, b = -1.5, 0.4
    ks = np.array(log_k_grid(5000, 20))
    rng = np.random.default_rng(0)
    cov = np.clip(_coverage(ks, a, b) * (1 + rng.normal(0, 0.01, ks.size)), 1e-9, 1.0)
    fit = fit_exponentiated_power_law(ks, cov)
    assert fit.success, fit.message
    assert fit.a == pytest.approx(a, rel=0.05)
    assert fit.b == pytest.approx(b, rel=0.05)
    assert 0 < fit.a_stderr < 0.1 and 0 < fit.b_stderr < 0.1
    assert 0 < fit.rmse < 0.02


def test_k_range_respected() -> None:
    ks = np.array(log_k_grid(10_000))
    cov = _coverage(ks, -2.0, 0.3)
    cov[ks < 10] = 0.9  # garbage outside the fitted range
    cov[ks > 1000] = 0.01
    fit = fit_exponentiated_power_law(ks, cov, k_min=10, k_max=1000)
    assert fit.success, fit.message
    inside = ks[(ks >= 10) & (ks <= 1000)]
    assert fit.num_points == inside.size
    assert (fit.k_min, fit.k_max) == (int(inside.min()), int(inside.max()))
    assert fit.a == pytest.approx(-2.0, rel=1e-6)
    assert fit.b == pytest.approx(0.3, rel=1e-6)


def test_zero_coverage_points_skipped() -> None:
    ks = np.array([1, 2, 4, 8, 16, 32, 64], dtype=float)
    cov = _coverage(ks, -3.0, 0.5)
    cov[:2] = 0.0
    fit = fit_exponentiated_power_law(ks, cov)
    assert fit.success
    assert fit.num_points == 5 and fit.k_min == 4
    assert fit.a == pytest.approx(-3.0, rel=1e-6)


def test_all_ones_is_exact_fit() -> None:
    fit = fit_exponentiated_power_law([1, 2, 4, 8], [1.0, 1.0, 1.0, 1.0])
    assert fit.success
    assert fit.a == 0.0 and fit.rmse == 0.0 and fit.num_points == 4
    np.testing.assert_array_equal(predict_coverage(fit, [1, 10, 100]), [1.0, 1.0, 1.0])


def _assert_failed(fit: PowerLawFit) -> None:
    assert isinstance(fit, PowerLawFit)
    assert not fit.success
    assert fit.message
    assert math.isnan(fit.a) and math.isnan(fit.b) and math.isnan(fit.rmse)
    assert np.all(np.isnan(predict_coverage(fit, [1, 2, 3])))


@pytest.mark.parametrize(
    ("ks", "cov"),
    [
        ([], []),
        ([1, 2], [0.1, 0.2]),
        ([1, 2, 4, 8], [0.0, 0.0, 0.0, 0.0]),
        ([1, 2, 4, 8], [np.nan, np.nan, 0.5, np.inf]),
        ([1, 2, 4, 8], [1.5, 2.0, 0.3, -1.0]),
        ([0, -1, 4, 8], [0.1, 0.2, 0.3, 0.4]),
        ([4, 4, 4, 4], [0.1, 0.2, 0.3, 0.4]),
    ],
)
def test_degenerate_inputs_fail_softly(ks: list[float], cov: list[float]) -> None:
    _assert_failed(fit_exponentiated_power_law(ks, cov))


def test_empty_range_fails_softly() -> None:
    ks = np.array(log_k_grid(100))
    fit = fit_exponentiated_power_law(ks, _coverage(ks, -1.0, 0.5), k_min=200, k_max=300)
    _assert_failed(fit)
    assert fit.num_points == 0


def test_length_mismatch_raises() -> None:
    with pytest.raises(ValueError):
        fit_exponentiated_power_law([1, 2, 3], [0.1, 0.2])


def test_bounds_hold_for_decreasing_coverage() -> None:
    # Coverage falling with k violates the model; the fit must stay within a<=0, b>=0.
    ks = np.array([1, 2, 4, 8, 16, 32], dtype=float)
    fit = fit_exponentiated_power_law(ks, np.linspace(0.9, 0.2, ks.size))
    if fit.success:
        assert fit.a <= 0 and fit.b >= 0
    else:
        assert fit.message
