"""Percentile bootstrap bands for per-problem metrics averaged over problems."""

from __future__ import annotations

import numpy as np

# Upper bound on the elements of one (resamples x problems) counts block.
_MAX_BLOCK_ELEMENTS = 1 << 22


def bootstrap_mean_band(
    per_problem: np.ndarray, num_resamples: int, seed: int, confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over problems and a percentile bootstrap band that resamples problems.

    per_problem has shape (num_problems, num_k). Returns (mean, lower, upper), each of shape
    (num_k,). Each resample draws problems with replacement as a multinomial counts vector, so a
    resampled mean is counts @ per_problem / num_problems; resamples are processed in blocks to
    bound memory. The band is widened, if needed, to contain the mean (guards against rounding).
    num_resamples=0 gives lower = upper = mean. Deterministic for a given seed.
    """
    values = np.asarray(per_problem, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(
            f"bootstrap_mean_band: per_problem must be 2-D (problems, k), got shape {values.shape}"
        )
    num_problems, num_k = values.shape
    if num_problems < 1:
        raise ValueError("bootstrap_mean_band: need at least one problem")
    if num_resamples < 0:
        raise ValueError(f"bootstrap_mean_band: num_resamples must be >= 0, got {num_resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"bootstrap_mean_band: confidence must be in (0, 1), got {confidence}")

    mean = values.mean(axis=0)
    if num_resamples == 0:
        return mean, mean.copy(), mean.copy()

    rng = np.random.default_rng(seed)
    pvals = np.full(num_problems, 1.0 / num_problems)
    block = max(1, _MAX_BLOCK_ELEMENTS // num_problems)
    means = np.empty((num_resamples, num_k), dtype=np.float64)
    for start in range(0, num_resamples, block):
        stop = min(start + block, num_resamples)
        counts = rng.multinomial(num_problems, pvals, size=stop - start)
        means[start:stop] = counts.astype(np.float64) @ values / num_problems
    alpha = (1.0 - confidence) / 2.0
    lower, upper = np.quantile(means, [alpha, 1.0 - alpha], axis=0)
    # Rounding (e.g. a constant column) can put the point estimate a hair outside the band.
    return mean, np.minimum(lower, mean), np.maximum(upper, mean)
