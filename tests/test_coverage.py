"""Per-problem counts and coverage curves from verdict tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monkeys.metrics.counts import count_verdicts
from monkeys.metrics.coverage import coverage_curve
from monkeys.metrics.passk import pass_at_k


def _tables(statuses: dict[str, list[str]]):
    rows = [(pid, i, s) for pid, ss in statuses.items() for i, s in enumerate(ss)]
    key = pd.DataFrame(rows, columns=["problem_id", "sample_index", "status"])
    key.insert(0, "model", "m")
    key.insert(1, "dataset", "d")
    samples = key.drop(columns="status").assign(prompt_tokens=10, completion_tokens=5, wall_s=0.5)
    verdicts = key.assign(passed=key["status"] == "passed")
    return samples, verdicts


def test_counts():
    samples, verdicts = _tables(
        {"a": ["passed", "failed", "error", "passed"], "b": ["timeout", "crashed", "failed", "failed"]}
    )
    counts = count_verdicts(samples, verdicts).set_index("problem_id")
    assert counts.loc["a", "n"] == 4 and counts.loc["a", "num_correct"] == 2
    assert counts.loc["a", "num_error"] == 1 and counts.loc["b", "num_failed"] == 2
    assert counts.loc["b", "num_timeout"] == 1 and counts.loc["b", "num_crashed"] == 1
    assert counts.loc["a", "completion_tokens"] == 20
    assert counts.loc["b", "sample_wall_s"] == pytest.approx(2.0)


def test_missing_verdict_is_an_error():
    samples, verdicts = _tables({"a": ["passed", "failed"]})
    with pytest.raises(ValueError, match="lack a matching verdict"):
        count_verdicts(samples, verdicts.iloc[:1])
    with pytest.raises(ValueError, match="lack a matching sample"):
        count_verdicts(samples.iloc[:1], verdicts)


def test_coverage_curve_matches_estimator():
    counts = pd.DataFrame(
        {
            "model": "m",
            "dataset": "d",
            "problem_id": ["a", "b", "c"],
            "n": [16, 16, 16],
            "num_correct": [0, 3, 16],
        }
    )
    curve = coverage_curve(counts, resamples=200, seed=1, confidence=0.9)
    assert curve["k"].iat[0] == 1 and curve["k"].iat[-1] == 16
    for k, value in zip(curve["k"], curve["coverage"], strict=True):
        expected = np.mean([pass_at_k(16, c, int(k)) for c in (0, 3, 16)])
        assert value == pytest.approx(expected, rel=1e-12)
    assert (curve["lower"] <= curve["coverage"] + 1e-12).all()
    assert (curve["upper"] >= curve["coverage"] - 1e-12).all()
    assert curve["num_problems"].iat[0] == 3
