"""Imperfect verifiers (Inference Scaling fLaws): resampling with a weak verifier, exactly.

Per problem: n samples, `w` of them pass the weak verifier (the benchmark's own
tests), `t` pass both weak and strong verifiers (truly correct). Drawing up to k
samples without replacement and returning the first that the weak verifier
passes returns a uniformly random weak-passing sample whenever any was drawn, so

    accuracy_i(k) = pass@k(n, w, k) * t / w

exactly, with asymptote t / w as k -> n. With reward +1 for a correct answer,
-cost for a false positive and 0 for abstaining (nothing passed), the expected
utility is pass@k(n, w, k) * (t - cost * (w - t)) / w.

False-positive rate and resampling ceiling, as Stroebl, Kapoor & Narayanan define them
(arXiv 2411.17501; v2 "Inference Scaling fLaws", v3 "The Limits of Inference Scaling Through
Resampling"):

- The opening figure of v3 (Fig. 1(a) in v2) puts each model's single-sample accuracy on the
  strong tests (HumanEval+) on x and on y "the highest achievable accuracy when resampling
  with an infinite compute budget, using HumanEval's more limited unit tests as verifiers";
  models below the line at GPT-4o's single-sample accuracy cannot match it. The v2 abstract
  reads that figure as a correlation between single-sample accuracy and false-positive rate
  (y = 1 - FPR).
- Of the paper's text only the abstract and that caption could be read here, and they give no
  formula; the estimator is that of the authors' release (github.com/benediktstroebl/inference-scaling-limits,
  evalplus/visualizations.ipynb, cells 2 and 11-12): per task, `pass_plus_given_base` =
  t / w, undefined where w = 0; per model, its mean over tasks with the undefined ones
  skipped ("accuracy conditional on passing HumanEval unit tests"); a variant with error bars
  sets them to 0 (lower) and 1 (upper); the line is `scipy.stats.linregress(pass@1,
  conditional accuracy)` with R^2 and p in the legend. Its FPR-vs-k bars
  (evalplus/scaling_curves.ipynb) also average per task first.

So the paper's false-positive rate is per problem, not pooled:

    FPR = mean over problems with w > 0 of (1 - t / w)          (`false_positive_rate`)

It agrees with the ceiling mean(t / w) (`accuracy_asymptote`, w = 0 counts 0: resampling
never returns an answer there): ceiling = (W / N) * (1 - FPR), W the problems with w > 0 of N
(`ceiling_bounds` gives both ends of the paper's bars). The pooled rate, sum(w - t) / sum(w)
(`pooled_false_positive_rate`), weights problems by how often they pass and so is dominated by
easy ones: (n, w, t) = (100, 100, 100) and (100, 2, 0) give pooled 0.0196 against per-problem
0.5 and ceiling 0.5. Figures and the flaws table use the per-problem rate; the pooled one is
kept for comparison. Differences from the paper: our t counts samples passing both suites
(the paper's x uses the plus suite alone), and the paper drops tasks where any model's
plus pass rate exceeds its base pass rate (false negatives of the base tests); we keep them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

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


def conditional_accuracy(w, t) -> float:
    """Mean of t / w over problems with w > 0 (the paper's y axis); NaN if no problem passes."""
    w = np.asarray(w, dtype=np.int64)
    t = np.asarray(t, dtype=np.int64)
    passing = w > 0
    return float(np.mean(t[passing] / w[passing])) if passing.any() else float("nan")


def false_positive_rate(w, t) -> float:
    """Per-problem false-positive rate: mean of 1 - t / w over problems with w > 0 (the paper's)."""
    return 1.0 - conditional_accuracy(w, t)


def pooled_false_positive_rate(w, t) -> float:
    """Fraction of all weak-passing samples that fail the strong verifier (pooled over problems)."""
    passing = int(np.sum(w))
    return float((passing - int(np.sum(t))) / passing) if passing else float("nan")


def ceiling_bounds(w, t) -> tuple[float, float]:
    """Mean t / w with problems where nothing passes counted as wrong, and as right.

    The first is the infinite-budget resampling accuracy (`accuracy_asymptote`); the paper
    draws both as the ends of its error bars around the conditional accuracy.
    """
    w = np.asarray(w, dtype=np.int64)
    lower = precision(w, t)
    upper = np.where(w > 0, lower, 1.0)
    return float(lower.mean()), float(upper.mean())


MIN_FIT_MODELS = 3


@dataclass(frozen=True)
class LineFit:
    """Least-squares line y = slope * x + intercept across models; NaN with a `note` if none."""

    slope: float
    intercept: float
    r: float
    r2: float
    p_value: float
    num_points: int
    note: str


def line_fit(x, y, min_points: int = MIN_FIT_MODELS) -> LineFit:
    """Ordinary least squares of y on x (as `scipy.stats.linregress`), with Pearson r and R^2.

    Points with a NaN coordinate are left out. Fewer than `min_points` points (two always
    lie on a line, so r = +-1 says nothing) or no spread in x give NaN and say why.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    nan = float("nan")
    if len(x) < min_points:
        return LineFit(
            nan,
            nan,
            nan,
            nan,
            nan,
            len(x),
            f"no fit: {len(x)} model(s) with a value, a line needs {min_points}",
        )
    if np.ptp(x) == 0:
        return LineFit(
            nan, nan, nan, nan, nan, len(x), "no fit: every model has the same single-sample accuracy"
        )
    result = stats.linregress(x, y)
    r = float(result.rvalue) if np.ptp(y) > 0 else 0.0
    return LineFit(
        float(result.slope),
        float(result.intercept),
        r,
        r * r,
        float(result.pvalue) if np.ptp(y) > 0 else nan,
        len(x),
        "",
    )


def expected_utility(n, w, t, ks: Sequence[int], cost: float) -> np.ndarray:
    """Mean utility over problems at each k (+1 correct, -cost false positive, 0 abstain)."""
    n, w, t = _checked(n, w, t)
    per_answer = np.divide(
        (t - cost * (w - t)).astype(np.float64), w.astype(np.float64), out=np.zeros(len(w)), where=w > 0
    )
    return (pass_at_k_matrix(n, w, ks) * per_answer[:, None]).mean(axis=0)


def optimal_k(n, w, t, ks: Sequence[int], costs: Sequence[float]) -> list[tuple[float, int, float]]:
    """For each cost: (cost, best k, its utility); k = 0 (always abstain, utility 0) is allowed."""
    out = []
    for cost in costs:
        utility = expected_utility(n, w, t, ks, cost)
        best = int(np.argmax(utility))
        out.append(
            (float(cost), int(ks[best]), float(utility[best])) if utility[best] > 0 else (float(cost), 0, 0.0)
        )
    return out
