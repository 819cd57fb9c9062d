"""Choosing one answer among k samples without an oracle: best-of-k by score, majority vote.

Abstention: a sample that abstains (no extractable answer, a program that never ran, a
timeout; see `monkeys.stages.execute.answers`) is never chosen while a sample that does not
abstain was drawn, and a draw of k abstaining samples scores 0.

best-of-k is exact: with samples grouped by score (ties together), the highest
group present in a random k-subset is group j with probability
[C(n - m_j, k) - C(n - m_j - g_j, k)] / C(n, k) (m_j samples score higher, g_j tie
at j), and a uniformly random member of it is chosen; abstaining samples form a lowest
group that counts as wrong. Majority vote (plain, or weighted: an answer's total is the
sum of its drawn samples' weights) has no simple closed form and is estimated by Monte
Carlo over random k-subsets, with a stated number of draws and seed; ties (totals within
a relative 1e-9) are broken uniformly at random among the answers drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import gammaln

TIE_RTOL = 1e-9  # weighted totals this close (relative) to the largest tie


def _log_comb(n: np.ndarray, k: int) -> np.ndarray:
    """log C(n, k), -inf where n < k."""
    n = np.asarray(n, dtype=np.float64)
    out = np.full(n.shape, -np.inf)
    ok = n >= k
    out[ok] = gammaln(n[ok] + 1) - gammaln(k + 1) - gammaln(n[ok] - k + 1)
    return out


def _abstain_mask(abstains: Sequence[bool] | None, n: int, who: str) -> np.ndarray:
    if abstains is None:
        return np.zeros(n, dtype=bool)
    mask = np.asarray(abstains, dtype=bool)
    if mask.shape != (n,):
        raise ValueError(f"{who}: need one abstain flag per sample ({n}), got {mask.shape}")
    return mask


def best_of_k_accuracy(
    scores: Sequence[float],
    correct: Sequence[bool],
    ks: Sequence[int],
    abstains: Sequence[bool] | None = None,
) -> np.ndarray:
    """Expected accuracy at each k of returning the highest-scored of k random samples.

    With `abstains`, those samples are chosen only when every drawn sample abstains, and
    then count as wrong (their scores may be NaN).
    """
    scores = np.asarray(scores, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    n = len(scores)
    if n == 0 or len(correct) != n:
        raise ValueError("best_of_k_accuracy: need equally many scores and verdicts (at least one)")
    mask = _abstain_mask(abstains, n, "best_of_k_accuracy")
    if np.isnan(scores[~mask]).any():
        raise ValueError("best_of_k_accuracy: scores contain NaN")
    scores = np.where(mask, -np.inf, scores)
    correct = np.where(mask, 0.0, correct)
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


def vote_winners(totals: np.ndarray, present: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Per row, the index of the answer with the largest total among those present (ties
    within TIE_RTOL broken by the largest `noise`); -1 for a row with no answer present."""
    masked = np.where(present, totals, -np.inf)
    top = masked.max(axis=1, keepdims=True)
    leaders = present & (masked >= top - TIE_RTOL * np.abs(top))
    choice = np.argmax(np.where(leaders, noise, -1.0), axis=1)
    return np.where(present.any(axis=1), choice, -1)


def majority_vote_accuracy(
    answers: Sequence[object],
    correct: Sequence[bool],
    ks: Sequence[int],
    *,
    draws: int,
    seed: int,
    weights: Sequence[float] | np.ndarray | None = None,
) -> np.ndarray:
    """Monte Carlo accuracy at each k of the most voted answer among k random samples.

    `answers` are hashable normalised answers (or behaviour signatures for code); None
    abstains: it never votes, and k abstaining samples score 0. Without `weights` each
    sample is one vote; with them, an answer's total is the sum of its drawn samples'
    weights (finite and nonnegative where the sample votes); a draw whose votes all weigh
    0 picks uniformly among the answers drawn. A winning answer is correct if the samples
    giving it are (they agree by construction; a mixed group counts as the mean of its
    members). The same k-subsets serve every k of one draw (prefixes of one permutation).
    """
    n = len(answers)
    if n == 0 or len(correct) != n:
        raise ValueError("majority_vote_accuracy: need equally many answers and verdicts")
    if draws < 1:
        raise ValueError(f"majority_vote_accuracy: need draws >= 1, got {draws}")
    keys = {a: i for i, a in enumerate(dict.fromkeys(a for a in answers if a is not None))}
    ids = np.array([keys[a] if a is not None else -1 for a in answers], dtype=np.int64)
    votes = ids >= 0
    if weights is None:
        w = np.ones(n)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (n,):
            raise ValueError(f"majority_vote_accuracy: need one weight per sample ({n})")
        if not (np.isfinite(w[votes]).all() and (w[votes] >= 0).all()):
            raise ValueError("majority_vote_accuracy: weights must be finite and nonnegative")
        w = np.where(votes, w, 0.0)
    m = max(len(keys), 1)
    hit = np.bincount(ids[votes], weights=np.asarray(correct, dtype=np.float64)[votes], minlength=m)
    size = np.bincount(ids[votes], minlength=m).astype(np.float64)
    group_accuracy = np.append(np.divide(hit, size, out=np.zeros(m), where=size > 0), 0.0)
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random((draws, n)), axis=1)  # one uniform permutation per draw
    rows = np.arange(draws)[:, None]
    out = np.zeros(len(ks))
    for i, k in enumerate(ks):
        if not 1 <= k <= n:
            raise ValueError(f"majority_vote_accuracy: need 1 <= k <= n={n}, got {k}")
        drawn = order[:, :k]
        cell = (rows * m + np.where(votes[drawn], ids[drawn], 0)).ravel()
        voted = votes[drawn].ravel()
        totals = np.bincount(cell[voted], weights=w[drawn].ravel()[voted], minlength=draws * m).reshape(
            draws, m
        )
        present = np.bincount(cell[voted], minlength=draws * m).reshape(draws, m) > 0
        winner = vote_winners(totals, present, rng.random((draws, m)))
        out[i] = float(np.mean(group_accuracy[winner]))  # -1: the appended 0
    return out
