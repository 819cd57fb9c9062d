"""Choosing one answer among k samples without an oracle: best-of-k by score, majority vote.

best-of-k is exact: with samples grouped by score (ties together), the highest
group present in a random k-subset is group j with probability
[C(n - m_j, k) - C(n - m_j - g_j, k)] / C(n, k) (m_j samples score higher, g_j tie
at j), and a uniformly random member of it is chosen. Majority vote has no simple
closed form and is estimated by Monte Carlo over random k-subsets, with a stated
number of draws and seed; ties are broken uniformly at random.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import gammaln


def _log_comb(n: np.ndarray, k: int) -> np.ndarray:
    """log C(n, k), -inf where n < k."""
    n = np.asarray(n, dtype=np.float64)
    out = np.full(n.shape, -np.inf)
    ok = n >= k
    out[ok] = gammaln(n[ok] + 1) - gammaln(k + 1) - gammaln(n[ok] - k + 1)
    return out


def best_of_k_accuracy(scores: Sequence[float], correct: Sequence[bool], ks: Sequence[int]) -> np.ndarray:
    """Expected accuracy at each k of returning the highest-scored of k random samples."""
    scores = np.asarray(scores, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    n = len(scores)
    if n == 0 or len(correct) != n:
        raise ValueError("best_of_k_accuracy: need equally many scores and verdicts (at least one)")
    if np.isnan(scores).any():
        raise ValueError("best_of_k_accuracy: scores contain NaN")
    unique, inverse = np.unique(-scores, return_inverse=True)  # groups from the highest score
    sizes = np.bincount(inverse, minlength=len(unique)).astype(np.float64)
    hits = np.bincount(inverse, weights=correct, minlength=len(unique))
    higher = np.concatenate([[0.0], np.cumsum(sizes)[:-1]])
    out = np.empty(len(ks))
    for i, k in enumerate(ks):
        if not 1 <= k <= n:
            raise ValueError(f"best_of_k_accuracy: need 1 <= k <= n={n}, got {k}")
        total = _log_comb(np.array([n]), k)[0]
        p_none_higher = np.exp(_log_comb(n - higher, k) - total)
        p_none_here = np.exp(_log_comb(n - higher - sizes, k) - total)
        out[i] = float(np.sum((p_none_higher - p_none_here) * hits / sizes))
    return out


def majority_vote_accuracy(
    answers: Sequence[object], correct: Sequence[bool], ks: Sequence[int], *, draws: int, seed: int
) -> np.ndarray:
    """Monte Carlo accuracy at each k of the most frequent answer among k random samples.

    `answers` are hashable normalised answers (or behaviour signatures for code); None
    means no answer and never wins a vote unless nothing else was drawn (then wrong).
    A plurality answer is correct if the samples giving it are (they agree by
    construction; a mixed group counts as the mean of its members).
    """
    n = len(answers)
    if n == 0 or len(correct) != n:
        raise ValueError("majority_vote_accuracy: need equally many answers and verdicts")
    rng = np.random.default_rng(seed)
    keys = {a: i for i, a in enumerate(dict.fromkeys(a for a in answers if a is not None))}
    ids = np.array([keys[a] if a is not None else -1 for a in answers])
    hit = np.bincount(ids[ids >= 0], weights=np.asarray(correct, dtype=np.float64)[ids >= 0],
                      minlength=len(keys))
    size = np.bincount(ids[ids >= 0], minlength=len(keys)).astype(np.float64)
    hit = hit.astype(np.float64)
    group_accuracy = np.divide(hit, size, out=np.zeros(len(hit)), where=size > 0)
    out = np.zeros(len(ks))
    for _ in range(draws):
        order = rng.permutation(n)
        for i, k in enumerate(ks):
            drawn = ids[order[:k]]
            drawn = drawn[drawn >= 0]
            if drawn.size == 0:
                continue
            counts = np.bincount(drawn, minlength=len(keys))
            leaders = np.flatnonzero(counts == counts.max())
            out[i] += group_accuracy[leaders[rng.integers(len(leaders))]]
    return out / draws
