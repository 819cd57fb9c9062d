"""Imperfect verifiers (Inference Scaling fLaws): resampling with a weak verifier, exactly.

Per problem: n samples, `w` of them pass the weak verifier (the benchmark's own
tests), `t` pass both weak and strong verifiers (truly correct). Drawing up to k
samples without replacement and returning the first that the weak verifier
passes returns a uniformly random weak-passing sample whenever any was drawn, so

    accuracy_i(k) = pass@k(n, w, k) * t / w

exactly, with asymptote t / w as k -> n. With reward +1 for a correct answer,
-cost for a false positive and 0 for abstaining (nothing passed), the expected
utility is pass@k(n, w, k) * (t - cost * (w - t)) / w.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from monkeys.metrics.passk import pass_at_k_matrix


def _checked(n: np.ndarray, w: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, ...]:
    n, w, t = (np.asarray(x, dtype=np.int64) for x in (n, w, t))
    if not (n.shape == w.shape == t.shape) or n.ndim != 1:
        raise ValueError("n, w and t must be 1-D arrays of equal length")
    if np.any(t > w) or np.any(w > n) or np.any(t < 0):
        raise ValueError("need 0 <= t <= w <= n for every problem")
    return n, w, t


def precision(w: np.ndarray, t: np.ndarray) -> np.ndarray:
    """t / w per problem: the chance that a weak-passing sample is correct (0 where w = 0)."""
    w = np.asarray(w, dtype=np.float64)
    return np.divide(np.asarray(t, dtype=np.float64), w, out=np.zeros_like(w), where=w > 0)


def first_passing_accuracy(n, w, t, ks: Sequence[int]) -> np.ndarray:
    """Per-problem accuracy of "resample up to k, return the first weak-passing sample"."""
    n, w, t = _checked(n, w, t)
    return pass_at_k_matrix(n, w, ks) * precision(w, t)[:, None]


def accuracy_asymptote(n, w, t) -> float:
    """Mean over problems of t / w: the accuracy resampling converges to as k grows."""
    n, w, t = _checked(n, w, t)
    return float(precision(w, t).mean())


def false_positive_rate(w, t) -> float:
    """Fraction of weak-passing samples that fail the strong verifier (pooled over problems)."""
    passing = int(np.sum(w))
    return float((passing - int(np.sum(t))) / passing) if passing else float("nan")


def expected_utility(n, w, t, ks: Sequence[int], cost: float) -> np.ndarray:
    """Mean utility over problems at each k (+1 correct, -cost false positive, 0 abstain)."""
    n, w, t = _checked(n, w, t)
    per_answer = np.divide((t - cost * (w - t)).astype(np.float64), w.astype(np.float64),
                           out=np.zeros(len(w)), where=w > 0)
    return (pass_at_k_matrix(n, w, ks) * per_answer[:, None]).mean(axis=0)


def optimal_k(n, w, t, ks: Sequence[int], costs: Sequence[float]) -> list[tuple[float, int, float]]:
    """For each cost: (cost, best k, its utility); k = 0 (always abstain, utility 0) is allowed."""
    out = []
    for cost in costs:
        utility = expected_utility(n, w, t, ks, cost)
        best = int(np.argmax(utility))
        out.append((float(cost), int(ks[best]), float(utility[best])) if utility[best] > 0
                   else (float(cost), 0, 0.0))
    return out
