"""Imperfect-verifier and selection estimators against brute-force enumeration and simulation."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest

from monkeys.metrics.flaws import (
    accuracy_asymptote,
    expected_utility,
    false_positive_rate,
    first_passing_accuracy,
    optimal_k,
    pooled_false_positive_rate,
)
from monkeys.metrics.selection import best_of_k_accuracy, majority_vote_accuracy

# One problem as per-sample (weak pass, strong pass) flags.
SAMPLES = [(1, 1), (1, 0), (0, 0), (1, 1), (0, 0), (1, 0), (0, 0)]


def _brute_first_passing(samples, k, cost=None):
    """Average over all ordered k-draws of the first weak-passing sample's value."""
    total, count = 0.0, 0
    for draw in itertools.permutations(range(len(samples)), k):
        value = 0.0
        for i in draw:
            weak, strong = samples[i]
            if weak:
                value = 1.0 if strong else (-cost if cost is not None else 0.0)
                break
        total += value
        count += 1
    return total / count


def _counts(samples):
    n = len(samples)
    w = sum(s[0] for s in samples)
    t = sum(1 for s in samples if s[0] and s[1])
    return np.array([n]), np.array([w]), np.array([t])


def test_first_passing_accuracy_equals_enumeration():
    n, w, t = _counts(SAMPLES)
    ks = list(range(1, len(SAMPLES) + 1))
    exact = first_passing_accuracy(n, w, t, ks)[0]
    for k, value in zip(ks, exact, strict=True):
        assert value == pytest.approx(_brute_first_passing(SAMPLES, k), abs=1e-12)
    assert accuracy_asymptote(n, w, t) == pytest.approx(2 / 4)
    assert false_positive_rate(w, t) == pytest.approx(2 / 4)
    assert pooled_false_positive_rate(w, t) == pytest.approx(2 / 4)  # one problem: the same


def test_false_positive_rate_is_per_problem_and_matches_the_asymptote():
    """Several problems: the per-problem rate averages each problem's rate (enumerated as the
    share of orderings whose first weak pass fails the strong tests), so with every problem
    passing it is 1 - asymptote; the pooled rate weights problems by w and is not."""
    problems = [
        SAMPLES,
        [(1, 1), (1, 1), (1, 1), (1, 1), (1, 1), (0, 0), (0, 0)],
        [(1, 0), (1, 0), (1, 1), (0, 0), (0, 0), (0, 0), (0, 0)],
    ]
    counts = [_counts(p) for p in problems]
    n, w, t = (np.concatenate([c[i] for c in counts]) for i in range(3))
    k = len(SAMPLES)
    per_problem = [1 - _brute_first_passing(p, k) for p in problems]  # every problem passes
    assert false_positive_rate(w, t) == pytest.approx(np.mean(per_problem), abs=1e-12)
    assert 1 - false_positive_rate(w, t) == pytest.approx(accuracy_asymptote(n, w, t))
    # Negative control: pooling over samples gives a different number here.
    assert abs(pooled_false_positive_rate(w, t) - np.mean(per_problem)) > 0.05


def test_first_passing_accuracy_matches_simulation_at_scale():
    rng = np.random.default_rng(0)
    n, w, t, k = 200, 30, 12, 25
    flags = np.array([(1, 1)] * t + [(1, 0)] * (w - t) + [(0, 0)] * (n - w))
    draws = 20000
    hits = 0
    for _ in range(draws):
        chosen = flags[rng.choice(n, size=k, replace=False)]
        weak = np.flatnonzero(chosen[:, 0])
        hits += bool(weak.size) and chosen[weak[0], 1] == 1
    estimate = hits / draws
    exact = first_passing_accuracy([n], [w], [t], [k])[0, 0]
    stderr = np.sqrt(exact * (1 - exact) / draws)
    assert abs(estimate - exact) < 4 * stderr


def test_utility_and_optimal_k_match_brute_force():
    problems = [
        SAMPLES,
        [(1, 1), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0)],
        [(1, 0), (1, 0), (1, 1), (0, 0), (0, 0), (0, 0), (0, 0)],
    ]
    counts = [_counts(p) for p in problems]
    n, w, t = (np.concatenate([c[i] for c in counts]) for i in range(3))
    ks = list(range(1, 8))
    for cost in [0.0, 0.5, 1.0, 3.0]:
        brute = [np.mean([_brute_first_passing(p, k, cost) for p in problems]) for k in ks]
        np.testing.assert_allclose(expected_utility(n, w, t, ks, cost), brute, atol=1e-12)
        best = max(
            [(0.0, 0)] + [(u, k) for k, u in zip(ks, brute, strict=True)],
            key=lambda x: (round(x[0], 12), -x[1]),
        )
        [(_, k_opt, u_opt)] = optimal_k(n, w, t, ks, [cost])
        assert k_opt == best[1] and u_opt == pytest.approx(best[0], abs=1e-12)


def _brute_best_of_k(scores, correct, k):
    total, count = 0.0, 0
    for subset in itertools.combinations(range(len(scores)), k):
        top = max(scores[i] for i in subset)
        tied = [i for i in subset if scores[i] == top]
        total += np.mean([correct[i] for i in tied])
        count += 1
    return total / count


def test_best_of_k_with_ties_equals_enumeration():
    scores = [0.9, 0.5, 0.9, 0.1, 0.5, 0.7, 0.2, 0.9]
    correct = [1, 0, 0, 1, 1, 0, 1, 1]
    ks = list(range(1, 9))
    exact = best_of_k_accuracy(scores, correct, ks)
    for k, value in zip(ks, exact, strict=True):
        assert value == pytest.approx(_brute_best_of_k(scores, correct, k), abs=1e-12)
    assert exact[0] == pytest.approx(np.mean(correct))


def _brute_majority(answers, correct, k):
    total, count = 0.0, 0
    for subset in itertools.combinations(range(len(answers)), k):
        votes = Counter(answers[i] for i in subset if answers[i] is not None)
        if votes:
            top = max(votes.values())
            leaders = [a for a, v in votes.items() if v == top]
            total += np.mean(
                [np.mean([correct[i] for i in range(len(answers)) if answers[i] == a]) for a in leaders]
            )
        count += 1
    return total / count


def test_majority_vote_matches_enumeration_within_error():
    answers = ["4", "5", "4", None, "4", "5", "6", "5", "4"]
    correct = [1 if a == "4" else 0 for a in answers]
    ks = [1, 2, 3, 5, 9]
    draws = 4000
    estimate = majority_vote_accuracy(answers, correct, ks, draws=draws, seed=1)
    for k, value in zip(ks, estimate, strict=True):
        exact = _brute_majority(answers, correct, k)
        assert abs(value - exact) < 4 * np.sqrt(max(exact * (1 - exact), 1e-4) / draws) + 1e-9
    again = majority_vote_accuracy(answers, correct, ks, draws=draws, seed=1)
    np.testing.assert_array_equal(estimate, again)


def test_bad_inputs():
    with pytest.raises(ValueError):
        first_passing_accuracy([5], [2], [3], [1])
    with pytest.raises(ValueError):
        best_of_k_accuracy([0.1, 0.2], [1, 0], [3])


def test_majority_vote_without_any_answer_is_zero():
    assert majority_vote_accuracy([None, None, None], [1, 0, 1], [1, 3], draws=5, seed=0).tolist() == [0, 0]
