"""Unbiased pass@k (Chen et al. 2021), stable for very large sample counts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Upper bound on the elements of one (ks x c) block of log-terms in pass_at_k_matrix.
_MAX_BLOCK_ELEMENTS = 1 << 22


def _validate(n: int, c: int, k: int) -> None:
    if n < 1:
        raise ValueError(f"pass@k: need n >= 1 samples, got n={n}")
    if not 0 <= c <= n:
        raise ValueError(f"pass@k: need 0 <= c <= n, got c={c}, n={n}")
    if not 1 <= k <= n:
        raise ValueError(f"pass@k: need 1 <= k <= n, got k={k}, n={n}")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples (drawn without replacement from n, c correct)
    is correct: 1 - C(n-c, k) / C(n, k).

    Computed as -expm1(sum_{i=n-c+1}^{n} log1p(-k/i)), which stays accurate for n far beyond
    the range where a direct product of ratios loses precision.
    """
    n, c, k = int(n), int(c), int(k)
    _validate(n, c, k)
    if c == 0:
        return 0.0
    if n - c < k:
        return 1.0
    i = np.arange(n - c + 1, n + 1, dtype=np.float64)
    return float(-np.expm1(np.log1p(-k / i).sum()))


def pass_at_k_matrix(
    n: np.ndarray | Sequence[int], c: np.ndarray | Sequence[int], ks: Sequence[int]
) -> np.ndarray:
    """pass@k for every problem (rows) and every k in ks (columns), shape (len(n), len(ks)).

    n and c are per-problem sample and correct counts; problems may differ in n. For each
    distinct n, cumulative sums of log1p(-k/i) from i=n downwards are indexed by c, so the
    cost is O(sum over distinct n of len(ks) * max c) rather than per problem.
    """
    n_arr = np.asarray(n)
    c_arr = np.asarray(c)
    if n_arr.ndim != 1 or c_arr.shape != n_arr.shape:
        raise ValueError(
            f"pass_at_k_matrix: n and c must be 1-D of equal length, got shapes "
            f"{n_arr.shape} and {c_arr.shape}"
        )
    ks_raw = np.asarray(list(ks))
    ks_arr = ks_raw.astype(np.int64)
    if ks_arr.ndim != 1 or (ks_raw.size and not np.array_equal(ks_raw, ks_arr)):
        raise ValueError(f"pass_at_k_matrix: ks must be a flat sequence of integers, got {ks}")
    n_arr = n_arr.astype(np.int64)
    c_arr = c_arr.astype(np.int64)
    out = np.empty((n_arr.size, ks_arr.size), dtype=np.float64)
    if n_arr.size == 0 or ks_arr.size == 0:
        return out

    if (ks_arr < 1).any():
        raise ValueError(f"pass_at_k_matrix: need every k >= 1, got ks={ks_arr.tolist()}")
    bad = np.flatnonzero(n_arr < 1)
    if bad.size:
        raise ValueError(f"pass_at_k_matrix: problem {bad[0]} has n={n_arr[bad[0]]} < 1")
    bad = np.flatnonzero((c_arr < 0) | (c_arr > n_arr))
    if bad.size:
        p = bad[0]
        raise ValueError(f"pass_at_k_matrix: problem {p} needs 0 <= c <= n, got c={c_arr[p]}, n={n_arr[p]}")
    k_max = int(ks_arr.max())
    bad = np.flatnonzero(n_arr < k_max)
    if bad.size:
        p = bad[0]
        raise ValueError(f"pass_at_k_matrix: problem {p} has n={n_arr[p]} samples, fewer than k={k_max}")

    ks_f = ks_arr.astype(np.float64)
    order = np.argsort(n_arr, kind="stable")
    n_values, starts = np.unique(n_arr[order], return_index=True)
    for n_val, rows in zip(n_values, np.split(order, starts[1:]), strict=True):
        c_rows = c_arr[rows]
        c_top = int(c_rows.max())
        # i runs n, n-1, ..., n-c_top+1; log_prod[:, j] = sum of the first j terms (j = c).
        i = np.arange(n_val, n_val - c_top, -1, dtype=np.float64)
        saturated = c_rows[:, None] > n_val - ks_arr[None, :]  # c > n - k: pass@k is 1
        step = max(1, _MAX_BLOCK_ELEMENTS // max(c_top, 1))
        for lo in range(0, ks_arr.size, step):
            cols = slice(lo, lo + step)
            ratio = ks_f[cols, None] / i[None, :]
            ratio[ratio >= 1.0] = 0.0  # terms with i <= k only feed saturated entries
            log_prod = np.zeros((ratio.shape[0], c_top + 1), dtype=np.float64)
            np.cumsum(np.log1p(-ratio), axis=1, out=log_prod[:, 1:])
            out[rows, cols] = -np.expm1(log_prod[:, c_rows].T)
        out[rows] = np.where(saturated, 1.0, out[rows])
    return out


def log_k_grid(n_max: int, points_per_decade: int = 10) -> list[int]:
    """Sorted unique integers in [1, n_max], roughly log-spaced, always containing 1 and n_max."""
    n_max = int(n_max)
    if n_max < 1:
        raise ValueError(f"log_k_grid: need n_max >= 1, got {n_max}")
    if points_per_decade < 1:
        raise ValueError(f"log_k_grid: need points_per_decade >= 1, got {points_per_decade}")
    decades = np.log10(n_max)
    num = max(int(np.ceil(decades * points_per_decade)), 0) + 1
    grid = np.rint(np.logspace(0.0, decades, num=num)).astype(np.int64)
    values = set(grid.tolist()) | {1, n_max}
    return sorted(v for v in values if 1 <= v <= n_max)
