"""Exponentiated power-law fits of coverage vs. samples (Large Language Monkeys, Brown et al.).

Model: log c(k) = a * k^(-b), i.e. c(k) = exp(a * k^(-b)), with a <= 0 and b >= 0.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

ArrayLike = Sequence[float] | np.ndarray


@dataclass(frozen=True)
class PowerLawFit:
    """Result of fit_exponentiated_power_law; parameters are NaN when success is False.

    k_min/k_max are the smallest/largest k among the points used (the requested bounds when no
    point was usable); rmse is on the coverage scale over those points.
    """

    a: float
    b: float
    a_stderr: float
    b_stderr: float
    rmse: float
    k_min: int
    k_max: int
    num_points: int
    success: bool
    message: str


def _log_model(k: np.ndarray, a: float, b: float) -> np.ndarray:
    return a * np.power(k, -b)


def _failure(k_min: int, k_max: int, num_points: int, message: str) -> PowerLawFit:
    nan = float("nan")
    return PowerLawFit(nan, nan, nan, nan, nan, k_min, k_max, num_points, False, message)


def _initial_guess(k: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(a0, b0) from a line through log(-log c) vs log k; falls back to (log c at min k, 0.5)."""
    a0 = float(min(y[np.argmin(k)], -1e-12))
    b0 = 0.5
    neg = y < 0
    if np.count_nonzero(neg) >= 2 and np.ptp(k[neg]) > 0:
        slope, intercept = np.polyfit(np.log(k[neg]), np.log(-y[neg]), 1)
        if np.isfinite(slope) and np.isfinite(intercept):
            a0 = -float(np.exp(intercept))
            b0 = float(max(-slope, 1e-3))
    return a0, b0


def fit_exponentiated_power_law(
    ks: ArrayLike, coverage: ArrayLike, k_min: int = 1, k_max: int | None = None
) -> PowerLawFit:
    """Fit log c(k) = a k^(-b) by least squares on log coverage over k_min <= k <= k_max.

    Points with non-finite values, k <= 0, or coverage outside (0, 1] are ignored. Never raises
    for bad data: fewer than 3 usable points (or 2 distinct k) or an optimiser failure give
    success=False, NaN parameters and a message. Coverage identically 1 is the exact fit a=0
    (b=0, b unidentified: b_stderr NaN). Raises ValueError only if ks and coverage differ in
    length.
    """
    k_all = np.asarray(ks, dtype=np.float64).ravel()
    c_all = np.asarray(coverage, dtype=np.float64).ravel()
    if k_all.shape != c_all.shape:
        raise ValueError(
            f"fit_exponentiated_power_law: ks and coverage differ in length ({k_all.size} vs {c_all.size})"
        )
    upper = np.inf if k_max is None else float(k_max)
    with np.errstate(invalid="ignore"):
        keep = (
            np.isfinite(k_all)
            & np.isfinite(c_all)
            & (k_all > 0)
            & (k_all >= k_min)
            & (k_all <= upper)
            & (c_all > 0)
            & (c_all <= 1)
        )
    k = k_all[keep]
    cov = c_all[keep]
    num_points = int(k.size)
    if num_points == 0:
        fallback_max = int(k_max) if k_max is not None else int(k_min)
        return _failure(int(k_min), fallback_max, 0, "no usable points (need 0 < coverage <= 1)")
    used_min, used_max = int(k.min()), int(k.max())
    if num_points < 3:
        return _failure(used_min, used_max, num_points, f"need >= 3 usable points, got {num_points}")

    y = np.log(cov)
    if np.all(y == 0.0):
        return PowerLawFit(
            a=0.0,
            b=0.0,
            a_stderr=0.0,
            b_stderr=float("nan"),
            rmse=0.0,
            k_min=used_min,
            k_max=used_max,
            num_points=num_points,
            success=True,
            message="coverage is 1 at every point: exact fit a=0",
        )

    if np.unique(k).size < 2:
        return _failure(used_min, used_max, num_points, "need >= 2 distinct k values")

    p0 = _initial_guess(k, y)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            params, pcov = curve_fit(
                _log_model,
                k,
                y,
                p0=p0,
                bounds=([-np.inf, 0.0], [0.0, np.inf]),
                method="trf",
                ftol=1e-14,
                xtol=1e-14,
                gtol=1e-14,
                max_nfev=10_000,
            )
    except (RuntimeError, ValueError, np.linalg.LinAlgError) as exc:
        return _failure(used_min, used_max, num_points, f"curve_fit failed: {exc}")

    a, b = (float(v) for v in params)
    if not (np.isfinite(a) and np.isfinite(b)):
        return _failure(used_min, used_max, num_points, "curve_fit returned non-finite parameters")
    with np.errstate(invalid="ignore"):
        stderr = np.sqrt(np.diag(np.asarray(pcov, dtype=np.float64)))
    a_se, b_se = (float(s) if np.isfinite(s) else float("nan") for s in stderr)
    pred = np.exp(_log_model(k, a, b))
    rmse = float(np.sqrt(np.mean((pred - cov) ** 2)))
    return PowerLawFit(
        a=a,
        b=b,
        a_stderr=a_se,
        b_stderr=b_se,
        rmse=rmse,
        k_min=used_min,
        k_max=used_max,
        num_points=num_points,
        success=True,
        message="ok",
    )


def predict_coverage(fit: PowerLawFit, ks: ArrayLike) -> np.ndarray:
    """Coverage exp(a k^(-b)) at ks under a fit; all NaN if the fit did not succeed."""
    k = np.asarray(ks, dtype=np.float64)
    if not fit.success:
        return np.full(k.shape, np.nan)
    return np.exp(_log_model(k, fit.a, fit.b))
