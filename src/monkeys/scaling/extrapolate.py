"""Extrapolating coverage beyond the samples drawn, and comparing models of a family.

`extrapolate` refits the exponentiated power law on bootstrap resamples of the
problems and reports the predicted coverage at a target k with a percentile
band. `family_offsets` measures the horizontal distance, in log10 k, between
two coverage curves at the same coverage level (the S-curve view: a bigger
family member reaches a level with fewer samples).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from monkeys.scaling.powerlaw import fit_exponentiated_power_law, predict_coverage


@dataclass(frozen=True)
class Extrapolation:
    """Predicted coverage at `k_target` with a bootstrap band over problems."""

    k_target: int
    coverage: float
    lower: float
    upper: float
    resamples_used: int
    resamples: int
    confidence: float


def extrapolate(
    per_problem: np.ndarray,
    ks: Sequence[int],
    k_target: int,
    *,
    k_min: int,
    resamples: int,
    seed: int,
    confidence: float,
) -> Extrapolation:
    """Fit on the mean curve and on `resamples` bootstrap curves; predict coverage at k_target.

    per_problem has shape (num_problems, len(ks)) (pass@k per problem). Resamples whose
    fit fails are dropped; `resamples_used` says how many remained.
    """
    values = np.asarray(per_problem, dtype=np.float64)
    ks_arr = np.asarray(ks)
    point = fit_exponentiated_power_law(ks_arr, values.mean(axis=0), k_min=k_min)
    centre = float(predict_coverage(point, [k_target])[0])
    rng = np.random.default_rng(seed)
    problems = values.shape[0]
    predictions = []
    for _ in range(resamples):
        weights = rng.multinomial(problems, np.full(problems, 1.0 / problems))
        curve = weights @ values / problems
        fit = fit_exponentiated_power_law(ks_arr, curve, k_min=k_min)
        if fit.success:
            predictions.append(float(predict_coverage(fit, [k_target])[0]))
    alpha = (1.0 - confidence) / 2.0
    if predictions:
        lower, upper = np.quantile(predictions, [alpha, 1.0 - alpha])
    else:
        lower = upper = float("nan")
    return Extrapolation(
        k_target=int(k_target),
        coverage=centre,
        lower=float(lower),
        upper=float(upper),
        resamples_used=len(predictions),
        resamples=resamples,
        confidence=confidence,
    )


def k_at_coverage(ks: Sequence[int], coverage: Sequence[float], level: float) -> float:
    """Smallest k (log-linear interpolation) at which a non-decreasing curve reaches `level`.

    NaN if the curve never reaches it.
    """
    ks_arr = np.asarray(ks, dtype=np.float64)
    cov = np.asarray(coverage, dtype=np.float64)
    above = np.flatnonzero(cov >= level)
    if above.size == 0:
        return float("nan")
    j = int(above[0])
    if j == 0:
        return float(ks_arr[0])
    c0, c1 = cov[j - 1], cov[j]
    x0, x1 = np.log(ks_arr[j - 1]), np.log(ks_arr[j])
    frac = (level - c0) / (c1 - c0) if c1 > c0 else 1.0
    return float(np.exp(x0 + frac * (x1 - x0)))


def family_offsets(
    curves: dict[str, tuple[Sequence[int], Sequence[float]]],
    reference: str,
    levels: Sequence[float],
) -> list[dict[str, float | str]]:
    """For each model and coverage level: k needed, k the reference needs, log10 of their ratio."""
    ref_ks, ref_cov = curves[reference]
    rows: list[dict[str, float | str]] = []
    for model, (ks, cov) in sorted(curves.items()):
        for level in levels:
            k_model = k_at_coverage(ks, cov, level)
            k_ref = k_at_coverage(ref_ks, ref_cov, level)
            rows.append(
                {
                    "model": model,
                    "reference": reference,
                    "level": float(level),
                    "k": k_model,
                    "k_reference": k_ref,
                    "log10_offset": float(np.log10(k_model / k_ref)),
                }
            )
    return rows
